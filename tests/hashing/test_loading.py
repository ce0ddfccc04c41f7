"""Lists read from the database straight into numpy arrays (COPY on PostgreSQL, chunks on
SQLite), the same as reading the rows one by one."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select, update

from hostguard.hashing import loading, service
from hostguard.hashing.index import arrays_from_rows
from hostguard.hashing.models import HashEntry


def hashes(count: int, bits: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [rng.bytes(bits // 8).hex() for _ in range(count)]


@pytest.mark.parametrize("algorithm, bits", [("pdq", 256), ("phash", 64)])
def test_entry_arrays_equal_the_rows_on_either_database(runtime, monkeypatch, algorithm, bits):
    monkeypatch.setattr(loading, "CHUNK", 1000)  # several SQLite chunks
    monkeypatch.setattr(loading, "COPY_BLOCK", 4096)  # several COPY blocks, cut mid-line
    listed = hashes(2500, bits, 1)
    with runtime.session() as session:
        service.import_list(
            session=session, actor="test", name="big", data="\n".join(listed), algorithm=algorithm
        )
        service.import_list(  # another list's entries in between: not read
            session=session,
            actor="test",
            name="other",
            data="\n".join(hashes(10, bits, 2)),
            algorithm=algorithm,
        )
        service.import_list(
            session=session,
            actor="test",
            name="big",
            data="\n".join(hashes(7, bits, 3)),
        )
    with runtime.session() as session:
        hash_list = service.get_list(session=session, name="big")
        words, ids = loading.entry_arrays(session, hash_list.id, bits)
        rows = session.execute(
            select(HashEntry.hash, HashEntry.id).where(HashEntry.list_id == hash_list.id)
        ).all()
    want_words, want_ids = arrays_from_rows(rows, bits)
    assert words.dtype == np.uint64 and words.shape == (2507, bits // 64)
    assert ids.dtype == np.int64
    got = sorted(zip(ids.tolist(), map(tuple, words.tolist()), strict=True))
    want = sorted(zip(want_ids.tolist(), map(tuple, want_words.tolist()), strict=True))
    assert got == want


def test_a_stored_hash_of_the_wrong_length_is_refused_not_misread(runtime):
    with runtime.session() as session:
        service.import_list(
            session=session,
            actor="test",
            name="l",
            data="\n".join(hashes(3, 256, 4)),
            algorithm="pdq",
        )
    with runtime.session() as session:
        hash_list = service.get_list(session=session, name="l")
        session.execute(
            update(HashEntry)
            .where(
                HashEntry.list_id == hash_list.id,
                HashEntry.hash
                == session.scalars(
                    select(HashEntry.hash).where(HashEntry.list_id == hash_list.id).limit(1)
                ).one(),
            )
            .values(hash="abc")
        )
        with pytest.raises(ValueError, match="wrong length"):
            loading.entry_arrays(session, hash_list.id, 256)
        session.rollback()


def test_an_empty_list_reads_as_empty_arrays(runtime):
    with runtime.session() as session:
        service.import_list(
            session=session, actor="test", name="e", data="", algorithm="pdq", allow_empty=True
        )
    with runtime.session() as session:
        hash_list = service.get_list(session=session, name="e")
        words, ids = loading.entry_arrays(session, hash_list.id, 256)
    assert words.shape == (0, 4) and ids.shape == (0,)
