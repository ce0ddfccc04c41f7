"""A list is live when its import ends: the index snapshot of its new version is written with
the commit, and another process maps it without reading the hashes from the database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from hostguard.hashing import service, snapshots
from hostguard.hashing.index import MULTI_INDEX_MIN_ENTRIES
from tests.conftest import cli_env

ROOT = Path(__file__).resolve().parents[2]
ENTRIES = MULTI_INDEX_MIN_ENTRIES  # large enough for the multi-index and its tables


@pytest.fixture
def index_dir(runtime):
    """This runtime's snapshot directory; sharing is switched off again afterwards."""
    yield snapshots.directory_for(runtime.settings)
    snapshots.configure(None)
    service.clear_index_cache()


def random_hashes(n: int, seed: int = 3) -> list[str]:
    raw = np.random.default_rng(seed).integers(0, 2**63, size=(n, 4), dtype=np.uint64)
    return [row.astype(">u8").tobytes().hex() for row in raw]


def snapshot_files(directory: Path, suffix: str) -> list[Path]:
    return sorted(directory.glob(f"*{suffix}")) if directory.exists() else []


# A second process: maps the list's index and matches, recording every SQL statement it runs.
CHILD = textwrap.dedent("""
    import json, sys
    from sqlalchemy import event
    from sqlmodel import Session
    from hostguard.db import make_engine
    from hostguard.hashing import service, snapshots

    url, directory, query = sys.argv[1], sys.argv[2], sys.argv[3]
    snapshots.configure(directory)
    engine = make_engine(url)
    statements = []
    event.listen(engine, "before_cursor_execute",
                 lambda conn, cursor, sql, *rest: statements.append(sql))
    with Session(engine) as session:
        hash_list = service.get_list(session=session, name="known")
        index = service.index_for(session, hash_list)
        matches = index.query([query], 31)
    print(json.dumps({"kind": type(index).__name__, "matched": len(matches),
                      "statements": statements}))
""")


def test_an_import_leaves_the_snapshot_written_and_another_process_maps_it(
    cli, runtime, index_dir, tmp_path
):
    hashes = random_hashes(ENTRIES)
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join(hashes) + "\n")
    result = cli("hashlist", "import", "known", str(listing), "--algorithm", "pdq")
    assert result.exit_code == 0, result.output
    version = json.loads(result.output)["version"]
    for suffix in (
        f".mi2.{name}.npy" for name in ("lo0", "low0", "w1", "w2", "w3", "ids", "tags", "offsets")
    ):
        (path,) = snapshot_files(index_dir, suffix)
        assert path.name.endswith(f"-v{version}{suffix}")
    child = subprocess.run(
        [sys.executable, "-c", CHILD, runtime.settings.effective_database_url, str(index_dir)]
        + [hashes[123]],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
    )
    report = json.loads(child.stdout.strip().splitlines()[-1])
    assert report["kind"] == "MultiIndex" and report["matched"] == 1
    assert report["statements"]  # it read the list's row (its version) ...
    assert not [s for s in report["statements"] if "hash_entries" in s]  # ... but no hash


def test_a_scan_process_matches_through_the_snapshot(cli, runtime, index_dir, tmp_path):
    from tests.hashing.images import encode, make_image
    from tests.hashing.test_scanning import listed

    image = make_image(4, (400, 300))
    listing = tmp_path / "list.txt"
    listing.write_text(listed(image) + "\n")
    assert cli("hashlist", "import", "known", str(listing), "--algorithm", "pdq").exit_code == 0
    (words,) = snapshot_files(index_dir, ".words.npy")
    path = tmp_path / "a.jpg"
    path.write_bytes(encode(image, "JPEG"))
    scan = subprocess.run(
        [
            sys.executable,
            "-c",
            "from hostguard.cli import main; main()",
            "scan",
            "--json",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, **cli_env(runtime), "PYTHONPATH": str(ROOT)},
    )
    assert scan.returncode == 1, scan.stderr
    assert json.loads(scan.stdout)["results"][0]["matched"] is True
    assert snapshot_files(index_dir, ".words.npy") == [words]  # mapped, not written again


def test_a_rolled_back_import_writes_no_snapshot(runtime, index_dir):
    snapshots.configure(index_dir)
    with runtime.session() as session:
        service.import_list(
            session=session,
            actor="test",
            name="known",
            data="\n".join(random_hashes(50)),
            algorithm="pdq",
        )
        session.rollback()
    assert snapshot_files(index_dir, ".words.npy") == []
    with runtime.session() as session:  # the version number is used again: written this time
        service.import_list(
            session=session,
            actor="test",
            name="known",
            data="\n".join(random_hashes(60, seed=4)),
            algorithm="pdq",
        )
    (words,) = snapshot_files(index_dir, ".words.npy")
    assert np.load(words).shape == (60, 4)


def test_an_import_commits_and_matches_when_the_snapshot_cannot_be_written(
    runtime, index_dir, caplog
):
    """The snapshot is a cache written after the commit: a missing folder is made again, and a
    folder that cannot be written costs the snapshot only, never the import or its answer."""
    import shutil

    hashes = random_hashes(40, seed=5)
    snapshots.configure(index_dir)
    shutil.rmtree(index_dir)  # removed while the process runs
    with runtime.session() as session:
        service.import_list(
            session=session, actor="test", name="known", data="\n".join(hashes), algorithm="pdq"
        )
    assert len(snapshot_files(index_dir, ".words.npy")) == 1

    shutil.rmtree(index_dir)
    index_dir.write_text("not a folder")  # nothing can be written there
    with runtime.session() as session:
        service.import_list(
            session=session,
            actor="test",
            name="known",
            data="\n".join(hashes[:10]),
            algorithm="pdq",
            replace=True,
        )
    assert "could not write index snapshot" in caplog.text
    snapshots.configure(None)
    service.clear_index_cache()
    with runtime.session() as session:
        hash_list = service.get_list(session=session, name="known")
        assert hash_list.entry_count == 10
        index = service.index_for(session, hash_list)
        assert len(index.query([hashes[3]], 0)) == 1 and index.query([hashes[30]], 0) == []
