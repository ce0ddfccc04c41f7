"""Index snapshots: one file per list version, mapped (not copied) by every process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from hostguard.hashing import snapshots
from hostguard.hashing.algorithms import get_algorithm
from hostguard.hashing.index import HammingIndex, build_index

ROOT = Path(__file__).resolve().parents[2]


def random_hashes(n: int, seed: int = 7) -> list[str]:
    raw = np.random.default_rng(seed).integers(0, 2**63, size=(n, 4), dtype=np.uint64)
    return [raw[i].astype(">u8").tobytes().hex() for i in range(n)]


def flip(hex_hash: str, bits: int) -> str:
    value = int(hex_hash, 16)
    for b in range(bits):
        value ^= 1 << (b * 7)
    return f"{value:064x}"


CHILD = textwrap.dedent("""
    import json, os, sys
    from pathlib import Path
    import numpy as np
    from hostguard.hashing import snapshots

    directory, key, hashes_file = Path(sys.argv[1]), sys.argv[2], sys.argv[3]

    def build():
        (directory / f"built-by-{os.getpid()}").write_text("x")
        from hostguard.hashing.index import hex_to_words
        hashes = json.loads(Path(hashes_file).read_text())
        return hex_to_words(hashes, 256), np.arange(1, len(hashes) + 1)

    words, ids = snapshots.mapped_arrays(key, build, directory=directory)
    total = int(words[:, 0].sum(dtype=np.uint64) % 1000)  # touch every page of a column
    maps = [line.split() for line in Path("/proc/self/maps").read_text().splitlines()]
    mapped = sorted({(parts[4], parts[5]) for parts in maps if len(parts) >= 6 and key in parts[5]})
    print(json.dumps({"pid": os.getpid(), "mapped": mapped, "total": total}), flush=True)
    sys.stdin.readline()  # stay alive (and mapped) until the test lets go
""")


def test_two_processes_map_the_same_snapshot_file(tmp_path):
    hashes = random_hashes(5000)
    hashes_file = tmp_path / "hashes.json"
    hashes_file.write_text(json.dumps(hashes))
    directory = tmp_path / "index"
    directory.mkdir()
    key = "db-list1-pdq-c0-v3"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(directory), key, str(hashes_file)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    try:
        reports = [json.loads(p.stdout.readline()) for p in procs]
        # both are alive now: each maps the snapshot, and the kernel shows the same inode
        for report in reports:
            maps = Path(f"/proc/{report['pid']}/maps").read_text()
            assert f"{key}.words.npy" in maps and f"{key}.ids.npy" in maps
        inodes = [{tuple(m) for m in r["mapped"]} for r in reports]
        assert inodes[0] == inodes[1] and len(inodes[0]) == 2
        assert reports[0]["total"] == reports[1]["total"]
    finally:
        for p in procs:
            p.stdin.close()
            p.wait(timeout=30)
    assert len(list(directory.glob("built-by-*"))) == 1, "only one process builds the snapshot"


def test_shared_index_matches_like_a_private_one_without_copying(tmp_path, monkeypatch):
    algorithm = get_algorithm("pdq")
    hashes = random_hashes(3000, seed=11)
    rows = [(h, i + 100) for i, h in enumerate(hashes)]
    hash_list = SimpleNamespace(id=5, version=2, created_at=datetime(2026, 1, 1, tzinfo=UTC))
    session = SimpleNamespace(
        get_bind=lambda: SimpleNamespace(
            url=SimpleNamespace(render_as_string=lambda hide_password: "postgresql://db/x")
        )
    )
    monkeypatch.setattr(snapshots, "_DIRECTORY", tmp_path)
    calls = []

    def load():
        calls.append(1)
        return rows

    shared = snapshots.shared_index(
        session=session, hash_list=hash_list, algorithm=algorithm, rows=load
    )
    again = snapshots.shared_index(
        session=session, hash_list=hash_list, algorithm=algorithm, rows=load
    )
    assert calls == [1], "the second process-local build maps the file instead of reading rows"
    assert isinstance(shared, HammingIndex)
    for column in again.columns:
        assert not column.flags.owndata and not column.flags.writeable, (
            "index columns are read-only views of the mapped file, not copies"
        )
    private = build_index(algorithm, rows)
    queries = [flip(hashes[10], 5), flip(hashes[2500], 20), random_hashes(1, seed=99)[0]]
    assert shared.query(queries, 31) == private.query(queries, 31)
    assert {m.entry for m in shared.query(queries, 31)} == {110, 2600}

    # a new version writes a new file and removes the old one
    hash_list.version = 3
    snapshots.shared_index(session=session, hash_list=hash_list, algorithm=algorithm, rows=load)
    names = sorted(p.name for p in tmp_path.glob("*.npy"))
    assert len(names) == 2 and all("-v3." in n for n in names)


def test_without_sharing_configured_the_index_is_private(monkeypatch):
    monkeypatch.setattr(snapshots, "_DIRECTORY", None)
    algorithm = get_algorithm("pdq")
    index = snapshots.shared_index(
        session=None, hash_list=None, algorithm=algorithm, rows=lambda: [(random_hashes(1)[0], 1)]
    )
    assert len(index) == 1


def test_large_lists_share_the_multi_index_tables_too(tmp_path, monkeypatch):
    from hostguard.hashing import index as index_module
    from hostguard.hashing.index import MultiIndex

    monkeypatch.setattr(index_module, "MULTI_INDEX_MIN_ENTRIES", 1000)
    monkeypatch.setattr(snapshots, "_DIRECTORY", tmp_path)
    algorithm = get_algorithm("pdq")
    hashes = random_hashes(3000, seed=12)
    rows = [(h, i + 1) for i, h in enumerate(hashes)]
    hash_list = SimpleNamespace(id=6, version=1, created_at=datetime(2026, 1, 1, tzinfo=UTC))
    session = SimpleNamespace(
        get_bind=lambda: SimpleNamespace(
            url=SimpleNamespace(render_as_string=lambda hide_password: "sqlite:///x.db")
        )
    )
    first = snapshots.shared_index(
        session=session, hash_list=hash_list, algorithm=algorithm, rows=lambda: rows
    )
    again = snapshots.shared_index(
        session=session,
        hash_list=hash_list,
        algorithm=algorithm,
        rows=lambda: pytest.fail("rows are read once"),
    )
    assert isinstance(again, MultiIndex)
    for array in again.arrays.values():
        assert not array.flags.owndata and not array.flags.writeable, "arrays are mapped"
    assert sorted(p.name.split(".", 1)[1] for p in tmp_path.glob("*.npy")) == sorted(
        f"mi2.{name}.npy" for name in MultiIndex.ARRAYS
    ), "format 2: the multi-index arrays only, no separate words"
    queries = [flip(hashes[42], 9), flip(hashes[2999], 31), random_hashes(1, seed=98)[0]]
    assert (
        again.query(queries, 31)
        == first.query(queries, 31)
        == build_index(algorithm, rows).query(queries, 31)
    )
    assert {m.entry for m in again.query(queries, 31)} == {43, 3000}
    # a new version replaces all four files
    hash_list.version = 2
    snapshots.shared_index(
        session=session, hash_list=hash_list, algorithm=algorithm, rows=lambda: rows
    )
    names = sorted(p.name for p in tmp_path.glob("*.npy"))
    assert len(names) == len(MultiIndex.ARRAYS) and all("-v2." in n for n in names)


def test_a_format_1_snapshot_of_a_large_list_is_converted_without_the_database(
    tmp_path, monkeypatch
):
    """Files written before format 2 (words, ids, order, offsets: 100 bytes per PDQ entry) are
    turned into the multi-index from the mapped words once, and removed."""
    from hostguard.hashing import index as index_module
    from hostguard.hashing.index import MultiIndex, build_tables, hex_to_words

    monkeypatch.setattr(index_module, "MULTI_INDEX_MIN_ENTRIES", 1000)
    monkeypatch.setattr(snapshots, "_DIRECTORY", tmp_path)
    algorithm = get_algorithm("pdq")
    hashes = random_hashes(2000, seed=13)
    hash_list = SimpleNamespace(id=7, version=4, created_at=datetime(2026, 1, 1, tzinfo=UTC))
    bind = SimpleNamespace(url=SimpleNamespace(render_as_string=lambda hide_password: "x"))
    session = SimpleNamespace(get_bind=lambda: bind)
    key = snapshots._list_key(bind, hash_list, algorithm)
    words, ids = hex_to_words(hashes, 256), np.arange(1, 2001, dtype=np.uint32)
    snapshots._write(tmp_path, key, words, ids)  # format 1, as the previous release wrote it
    order, offsets = build_tables(words, 256)
    np.save(tmp_path / f"{key}.offsets.npy", offsets)
    np.save(tmp_path / f"{key}.order.npy", order)

    index = snapshots.shared_index(
        session=session,
        hash_list=hash_list,
        algorithm=algorithm,
        arrays=lambda: pytest.fail("the database is not read again"),
    )
    assert isinstance(index, MultiIndex)
    assert [m.entry for m in index.query([flip(hashes[77], 12)], 31)] == [78]
    assert sorted(p.name.split(".", 1)[1] for p in tmp_path.glob("*.npy")) == sorted(
        f"mi2.{name}.npy" for name in MultiIndex.ARRAYS
    )
    again = snapshots.shared_index(
        session=session, hash_list=hash_list, algorithm=algorithm, arrays=lambda: pytest.fail()
    )
    assert again.query([hashes[5]], 31) == index.query([hashes[5]], 31)
