"""Importing, listing and removing hash lists through the CLI and the service (both databases)."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from hostguard.hashing import service
from hostguard.hashing.algorithms import ALGORITHMS
from hostguard.hashing.models import HashEntry, HashList
from hostguard.jobs.models import Job
from tests.hashing.images import make_image

PDQ = ALGORITHMS["pdq"]


def pdq_hashes(count: int, start: int = 0) -> list[str]:
    return [PDQ.hash_image(make_image(seed, (96, 72))).hash for seed in range(start, start + count)]


def list_hashes(runtime, name: str) -> set[str]:
    with runtime.session() as session:
        hash_list = session.exec(select(HashList).where(HashList.name == name)).one()
        return set(
            session.exec(select(HashEntry.hash).where(HashEntry.list_id == hash_list.id)).all()
        )


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_import_prints_a_summary_with_invalid_lines_and_keeps_the_valid_ones(
    cli, runtime, tmp_path
):
    good = pdq_hashes(3)
    text = f"# partner list\n{good[0]}\nnot-a-hash\n{good[1]}\n{'0' * 64}\n{good[2]}\n"
    result = cli(
        "hashlist",
        "import",
        "partner",
        write(tmp_path, "l.txt", text),
        "--algorithm",
        "pdq",
        "--category",
        "csam",
        "--action",
        "block",
        "--source",
        "test partner",
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["added"] == 3 and summary["invalid"] == 2 and summary["format"] == "text"
    assert summary["errors"] == [
        {"line": 3, "reason": "pdq hashes have 64 hex digits, this one has 10"},
        {"line": 5, "reason": "all-zero hash (the hash of a blank or unreadable image)"},
    ]
    assert list_hashes(runtime, "partner") == set(good)
    for value in good:
        assert value not in result.output


@pytest.mark.parametrize(
    "fmt, render",
    [
        ("csv", lambda hs: "id,hash,label\n" + "".join(f"E{i},{h},x\n" for i, h in enumerate(hs))),
        (
            "jsonl",
            lambda hs: "".join(
                json.dumps({"hash": h, "id": f"E{i}"}) + "\n" for i, h in enumerate(hs)
            ),
        ),
        ("threatexchange", lambda hs: "".join(f"pdq {h}\n" for h in hs)),
        ("text", lambda hs: "\n".join(hs) + "\n"),
    ],
)
def test_every_format_imports_detected_and_named(cli, runtime, tmp_path, fmt, render):
    hashes = pdq_hashes(4, start=10)
    path = write(tmp_path, f"l.{fmt}", render(hashes))
    detected = json.loads(cli("hashlist", "import", "auto", path, "-a", "pdq").output)
    assert detected["format"] == fmt and detected["added"] == 4
    named = cli("hashlist", "import", "named", path, "-a", "pdq", "--format", fmt)
    assert json.loads(named.output)["added"] == 4
    assert list_hashes(runtime, "named") == set(hashes)


def test_a_threatexchange_file_with_tags_and_ids_imports_instead_of_aborting(
    cli, runtime, tmp_path
):
    hashes = pdq_hashes(3, start=30)
    text = "".join(f"pdq {h} tag1,tag2 id:{55 + i}\n" for i, h in enumerate(hashes))
    result = cli("hashlist", "import", "te", write(tmp_path, "te.txt", text), "-a", "pdq")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["format"] == "threatexchange" and summary["added"] == 3
    with runtime.session() as session:
        refs = session.exec(select(HashEntry.ref)).all()
    assert sorted(refs) == ["55", "56", "57"]


def test_strict_refuses_the_whole_file(cli, runtime, tmp_path):
    good = pdq_hashes(2)
    path = write(tmp_path, "l.txt", f"{good[0]}\nxyz\n{good[1]}\n")
    result = cli("hashlist", "import", "strict-list", path, "-a", "pdq", "--strict")
    assert result.exit_code == 2
    assert "refused strict-list: 1 invalid line(s), first at line 2" in result.stderr
    assert json.loads(result.stdout)["imported"] is False
    with runtime.session() as session:
        assert session.exec(select(HashList)).all() == []


def test_a_one_column_csv_passes_strict(cli, runtime, tmp_path):
    hashes = pdq_hashes(2)
    path = write(tmp_path, "one-column.csv", "hash\n" + "\n".join(hashes) + "\n")
    result = cli("hashlist", "import", "one-column", path, "-a", "pdq", "--strict")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["format"] == "csv" and summary["valid"] == 2 and summary["invalid"] == 0
    assert list_hashes(runtime, "one-column") == set(hashes)


def test_replace_syncs_the_list_including_removals(cli, runtime, tmp_path):
    first, second = pdq_hashes(3), pdq_hashes(2, start=20)
    cli("hashlist", "import", "sync", write(tmp_path, "a.txt", "\n".join(first)), "-a", "pdq")
    added = json.loads(
        cli(
            "hashlist", "import", "sync", write(tmp_path, "b.txt", "\n".join(second)), "-a", "pdq"
        ).output
    )
    assert added["added"] == 2 and added["removed"] == 0
    assert list_hashes(runtime, "sync") == set(first) | set(second)
    replaced = json.loads(
        cli(
            "hashlist",
            "import",
            "sync",
            write(tmp_path, "c.txt", "\n".join([first[0], *second])),
            "--replace",
        ).output
    )
    assert replaced["removed"] == 2 and replaced["added"] == 0 and replaced["entries"] == 3
    assert list_hashes(runtime, "sync") == {first[0], *second}
    assert replaced["version"] == 3


@pytest.mark.parametrize(
    "content", ["not-a-hash\nstill not one\n", "", "# only a comment\n", "PHASH_LINES"]
)
def test_replace_with_no_valid_line_is_refused_and_leaves_the_list(cli, runtime, tmp_path, content):
    kept = pdq_hashes(2)
    cli("hashlist", "import", "guarded", write(tmp_path, "a.txt", "\n".join(kept)), "-a", "pdq")
    if content == "PHASH_LINES":  # a file for another algorithm: every line has the wrong length
        content = "\n".join(
            ALGORITHMS["phash"].hash_image(make_image(s, (96, 72))).hash for s in (1, 2)
        )
    result = cli("hashlist", "import", "guarded", write(tmp_path, "bad.txt", content), "--replace")
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and "--allow-empty" in result.stderr
    assert json.loads(result.stdout)["imported"] is False
    assert list_hashes(runtime, "guarded") == set(kept)
    with runtime.session() as session:
        assert session.exec(select(HashList).where(HashList.name == "guarded")).one().version == 1


def test_replace_with_allow_empty_empties_the_list(cli, runtime, tmp_path):
    cli(
        "hashlist",
        "import",
        "retired",
        write(tmp_path, "a.txt", "\n".join(pdq_hashes(2))),
        "-a",
        "pdq",
    )
    result = cli(
        "hashlist",
        "import",
        "retired",
        write(tmp_path, "empty.txt", ""),
        "--replace",
        "--allow-empty",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["removed"] == 2
    assert list_hashes(runtime, "retired") == set()


def test_an_import_that_fails_midway_leaves_the_list_as_it_was(runtime, monkeypatch):
    original = pdq_hashes(3)
    with runtime.session() as session:
        service.import_list(
            session=session, actor="test", name="atomic", data="\n".join(original), algorithm="pdq"
        )
    real_insert = service._insert_entries

    def insert_then_crash(session, rows):
        real_insert(session, rows[:1])  # some rows are written ...
        raise RuntimeError("killed")  # ... then the process dies

    monkeypatch.setattr(service, "_insert_entries", insert_then_crash)
    with pytest.raises(RuntimeError), runtime.session() as session:
        service.import_list(
            session=session,
            actor="test",
            name="atomic",
            data="\n".join(pdq_hashes(3, start=30)),
            replace=True,
        )
    assert list_hashes(runtime, "atomic") == set(original)
    with runtime.session() as session:
        info = service.describe(service.get_list(session=session, name="atomic"))
    assert info["entries"] == 3 and info["version"] == 1


def test_list_show_and_remove_never_print_hashes(cli, runtime, tmp_path):
    hashes = pdq_hashes(2)
    cli(
        "hashlist",
        "import",
        "shown",
        write(tmp_path, "a.txt", "\n".join(hashes)),
        "-a",
        "pdq",
        "--threshold",
        "20",
        "--source",
        "NCMEC test feed",
        "--action",
        "review",
        "--category",
        "csam",
    )
    listing = cli("hashlist", "list")
    assert listing.exit_code == 0
    assert (
        "shown" in listing.output
        and "NCMEC test feed" in listing.output
        and "review" in listing.output
    )
    shown = json.loads(cli("hashlist", "show", "shown").output)
    assert shown | {"updated_at": None} == {
        "name": "shown",
        "algorithm": "pdq",
        "threshold": 20,
        "threshold_is_default": False,
        "action": "review",
        "category": "csam",
        "source": "NCMEC test feed",
        "entries": 2,
        "version": 1,
        "enabled": True,
        "internal": False,
        "updated_at": None,
    }
    as_json = json.loads(cli("hashlist", "list", "--json").output)
    assert [row["name"] for row in as_json["lists"]] == ["shown"]
    removed = cli("hashlist", "remove", "shown")
    assert json.loads(removed.output) == {"removed": "shown", "entries": 2}
    missing = cli("hashlist", "show", "shown")
    assert missing.exit_code == 2 and "no hash list named 'shown'" in missing.stderr
    for output in (listing.output, json.dumps(shown), json.dumps(as_json), removed.output):
        assert not any(h in output for h in hashes)


def test_settings_are_validated(cli, tmp_path):
    path = write(tmp_path, "a.txt", pdq_hashes(1)[0])
    assert (
        "threshold must be between 0 and 128"
        in cli("hashlist", "import", "x", path, "-a", "pdq", "--threshold", "300").stderr
    )
    assert (
        "needs" in cli("hashlist", "import", "x", path).stderr
        or "--algorithm" in cli("hashlist", "import", "x", path).stderr
    )
    assert "list names" in cli("hashlist", "import", "bad name!", path, "-a", "pdq").stderr
    cli("hashlist", "import", "x", path, "-a", "pdq")
    assert "holds pdq hashes, not md5" in cli("hashlist", "import", "x", path, "-a", "md5").stderr


def test_import_enqueues_retroactive_matching(runtime):
    with runtime.session() as session:
        service.import_list(
            session=session, actor="test", name="q", data="\n".join(pdq_hashes(2)), algorithm="pdq"
        )
    with runtime.session() as session:
        jobs = session.exec(select(Job).where(Job.kind == "hashing.rematch")).all()
    assert len(jobs) == 1 and set(jobs[0].payload) == {"list_id", "version"}


def test_one_million_style_bulk_import_is_one_insert_path(runtime):
    """A few thousand entries go through the bulk path (COPY on PostgreSQL) and count right."""
    import numpy as np

    rng = np.random.default_rng(0)
    hashes = [rng.bytes(32).hex() for _ in range(5000)]
    with runtime.session() as session:
        summary = service.import_list(
            session=session, actor="t", name="big", data="\n".join(hashes), algorithm="pdq"
        )
    assert summary["added"] == 5000
    assert len(list_hashes(runtime, "big")) == 5000
