"""A list version's index snapshot derived from the previous one answers like one built anew."""

from __future__ import annotations

import numpy as np
import pytest
from sqlmodel import select

from hostguard.hashing import index as index_module
from hostguard.hashing import loading, service, snapshots
from hostguard.hashing.algorithms import get_algorithm
from hostguard.hashing.hasher import ComputedHash, FileHashes
from hostguard.hashing.index import MultiIndex, build_index
from hostguard.hashing.models import EntryState, HashEntry, HashList


def random_hashes(n: int, seed: int) -> list[str]:
    raw = np.random.default_rng(seed).integers(0, 2**63, size=(n, 4), dtype=np.uint64)
    return [raw[i].astype(">u8").tobytes().hex() for i in range(n)]


def flip_last(hex_hash: str) -> str:
    """The hash with its lowest bit flipped: the same in super-chunks 0 to 6."""
    return f"{int(hex_hash, 16) ^ 1:064x}"


def flip(hex_hash: str, bits: int) -> str:
    value = int(hex_hash, 16)
    for b in range(bits):
        value ^= 1 << (b * 9 + 1)
    return f"{value:064x}"


@pytest.fixture
def sharing(tmp_path, monkeypatch):
    """Snapshots on, in a folder of the test; every full read of a list counted."""
    monkeypatch.setattr(snapshots, "_DIRECTORY", tmp_path)
    service.clear_index_cache()
    reads: list[int] = []

    def counted(session, list_id, bits):
        reads.append(list_id)
        return loading.entry_arrays(session, list_id, bits)

    monkeypatch.setattr(service, "entry_arrays", counted)
    yield reads
    service.clear_index_cache()


def _hashed(values: list[str]) -> list[FileHashes]:
    return [
        FileHashes(path=f"image-{i}.png", hashes=[ComputedHash("pdq", value, quality=100)])
        for i, value in enumerate(values)
    ]


def _answers_like_one_built_anew(runtime, queries: list[str]) -> None:
    """The mapped snapshot (derived) and an index built from the database's rows answer the
    same: the raw index queries, and the upload check's matching, which reads each entry's
    state (suppressed entries do not act) and label with the match."""
    with runtime.session() as s:
        hash_list = s.exec(select(HashList).where(HashList.name == "feed")).one()
        derived = service.index_for(s, hash_list)
        scratch = build_index(get_algorithm("pdq"), loading.entry_arrays(s, hash_list.id, 256))
        assert len(derived) == len(scratch) == hash_list.entry_count
        assert derived.query(queries, 31) == scratch.query(queries, 31)
        assert derived.query(queries, 0) == scratch.query(queries, 0)
        policy = runtime.policy
        with_derived = service.match_hashes(session=s, hashed=_hashed(queries), policy=policy)
        anew = service.match_hashes(
            session=s, hashed=_hashed(queries), policy=policy, index=lambda _s, _l: scratch
        )
        assert [scan.matches for scan in with_derived] == [scan.matches for scan in anew]
        assert any(scan.matches for scan in anew)


@pytest.mark.parametrize("multi", [True, False], ids=["multi-index", "hash-matrix"])
def test_a_derived_snapshot_answers_like_one_built_from_scratch(
    runtime, sharing, multi, monkeypatch
):
    # format 2 (a MultiIndex, no hash matrix on disk) from 200 entries; or the words/ids files
    monkeypatch.setattr(index_module, "MULTI_INDEX_MIN_ENTRIES", 200 if multi else 10**9)
    base = random_hashes(1500, seed=3)
    base += [flip_last(h) for h in base[300:340]]  # pairs sharing seven super-chunks
    rebuilt: list[int] = []
    build = snapshots.multi_index_arrays

    def counted_build(words, ids, **kwargs):
        rebuilt.append(len(ids))
        return build(words, ids, **kwargs)

    monkeypatch.setattr(snapshots, "multi_index_arrays", counted_build)
    with runtime.session() as s:
        hash_list = service.ensure_list(
            session=s,
            name="feed",
            algorithm="pdq",
            category="csam",
            action="block",
            threshold=None,
            source="test",
        )
        service.apply_entry_changes(
            session=s,
            actor="test",
            hash_list=hash_list,
            present={h: (f"ref-{i}", "first") for i, h in enumerate(base)},
            absent=[],
        )
    assert len(sharing) == 1  # the first version: no snapshot before it, the list read whole

    # an entry marked wrong: suppressed (allow-listed), its hash kept for later imports
    with runtime.session() as s:
        service.suppress(session=s, actor="test", name="feed", hash=base[7], reason="wrong")
    queries = [flip(h, 4) for h in base[:40]] + [base[7]] + base[1500:1510]
    _answers_like_one_built_anew(runtime, queries)
    read_so_far = len(sharing)

    held = list(base)
    for round_ in range(3):
        added = random_hashes(120, seed=100 + round_)
        added += [flip(held[50 + round_], 6)]  # near an entry that stays
        removed = held[100 + 40 * round_ : 130 + 40 * round_]
        removed += [base[1500 + 3 * round_]]  # one of a near-duplicate pair goes
        added += [flip_last(held[400 + round_])]  # and one comes
        relabelled = held[200 + 10 * round_ : 210 + 10 * round_]
        present = {h: (f"new-{round_}-{i}", "added") for i, h in enumerate(added)}
        present.update({h: (f"ref-moved-{round_}", "relabelled") for h in relabelled})
        if round_ == 1:  # an allow-listed hash coming back stays suppressed
            present[base[7]] = ("ref-back", "back")
        with runtime.session() as s:
            hash_list = s.exec(select(HashList).where(HashList.name == "feed")).one()
            if round_ == 1:
                service.apply_entry_changes(
                    session=s, actor="test", hash_list=hash_list, present={}, absent=[base[7]]
                )
            changes = service.apply_entry_changes(
                session=s, actor="test", hash_list=hash_list, present=present, absent=removed
            )
        assert changes["added"] == len(added) + (round_ == 1)
        assert changes["removed"] == len(removed)
        assert changes["updated"] == len(relabelled)
        held = [h for h in held if h not in set(removed)] + added
        assert len(sharing) == read_so_far, "derived: no read of the whole list"
        folder = snapshots.configured_directory()
        assert folder is not None
        written = sorted(p.name for p in folder.glob("*.npy"))
        if multi:  # format 2: the multi-index's arrays only, no hash matrix to derive from
            assert len(written) == len(MultiIndex.ARRAYS) and all(".mi2." in n for n in written)
        else:
            assert len(written) == 2 and {n.rsplit(".", 2)[1] for n in written} == {"ids", "words"}
        gone = [flip(h, 3) for h in removed[:10]] + removed[:5]
        near = [flip(h, 5) for h in added[:30]] + [flip(h, 2) for h in relabelled]
        _answers_like_one_built_anew(
            runtime, queries + gone + near + [flip(held[50 + round_], 9), base[7]]
        )
        assert len(sharing) == read_so_far, "every process maps the derived snapshot"
        if multi:  # merged into the previous version's multi-index, not built anew
            assert rebuilt == [1540]
    with runtime.session() as s:
        back = s.exec(select(HashEntry).where(HashEntry.hash == base[7])).one()
        assert back.state == EntryState.SUPPRESSED and back.label == "back"


def test_without_its_base_snapshot_a_version_is_read_whole(runtime, sharing, monkeypatch):
    monkeypatch.setattr(index_module, "MULTI_INDEX_MIN_ENTRIES", 100)
    base = random_hashes(300, seed=5)
    with runtime.session() as s:
        hash_list = service.ensure_list(
            session=s,
            name="feed",
            algorithm="pdq",
            category="csam",
            action="block",
            threshold=None,
            source="test",
        )
        service.apply_entry_changes(
            session=s,
            actor="test",
            hash_list=hash_list,
            present={h: (None, None) for h in base},
            absent=[],
        )
    assert len(sharing) == 1
    for path in snapshots.configured_directory().glob("*.npy"):
        path.unlink()  # the base version's files gone (a cleaned-up index folder)
    with runtime.session() as s:
        hash_list = s.exec(select(HashList)).one()
        service.apply_entry_changes(
            session=s, actor="test", hash_list=hash_list, present={}, absent=base[:10]
        )
    assert len(sharing) == 2
    _answers_like_one_built_anew(runtime, [flip(h, 3) for h in base[:40]])


def test_a_change_that_does_not_say_what_changed_reads_the_list_whole():
    changes = snapshots.ListChanges(base_version=4)
    changes.note([1, 2], ["ab" * 32])
    assert (changes.versions, changes.whole) == (1, False)
    changes.note(None, None)
    assert (changes.versions, changes.whole, changes.removed) == (2, True, [1, 2])


def test_a_merged_multi_index_answers_like_one_built_anew():
    """50,000 entries with near-duplicates (pairs sharing seven super-chunks, so tags collide
    in one bucket); 4,000 removed (some of a pair), 3,000 added (some near an entry)."""
    rng = np.random.default_rng(8)
    words = rng.integers(0, 2**63, size=(50_000, 4), dtype=np.uint64) * np.uint64(2)
    words[40_000:45_000] = words[:5_000] ^ np.uint64(1)  # lowest bit: super-chunk 7 only
    ids = rng.permutation(np.arange(10, 50_010, dtype=np.int64))
    base = MultiIndex(index_module.multi_index_arrays(words, ids))
    removed = np.concatenate([ids[100:2_100], ids[40_000:41_000], ids[1_000:2_000]])
    fresh = rng.integers(0, 2**63, size=(3_000, 4), dtype=np.uint64)
    fresh[:1_000] = words[20_000:21_000] ^ np.uint64(1)  # a twin of an entry that stays
    fresh[1_000:1_500] = words[30_000:30_500]  # the same hash as an entry (another id)
    fresh_ids = np.arange(100_000, 103_000, dtype=np.int64)
    merged_arrays = snapshots.merged_multi_arrays(
        base, removed=removed.tolist(), added=(fresh, fresh_ids)
    )
    assert merged_arrays is not None
    keep = ~np.isin(ids, removed)
    scratch = MultiIndex(
        index_module.multi_index_arrays(
            np.concatenate([words[keep], fresh]), np.concatenate([ids[keep], fresh_ids])
        )
    )
    merged = MultiIndex(merged_arrays)
    assert len(merged) == len(scratch) == int(keep.sum()) + 3_000
    for name in ("offsets",):  # the buckets are the same whatever the order within them
        assert np.array_equal(merged.arrays[name], scratch.arrays[name])
    probes = np.concatenate([words[::97], fresh[::7], words[40_000:40_050], words[1_000:1_050]])
    flipped = probes ^ np.uint64(0x0101_0000_0101)
    far_in_chunk_0 = probes.copy()  # 5 bits off in super-chunk 0: found by tables 1..7 only
    far_in_chunk_0[:, 0] ^= np.uint64(0x1F << 40)
    for queries in (probes, flipped, far_in_chunk_0):
        for threshold in (0, 10, 31):
            found = merged.query_words(queries, threshold)
            assert found == scratch.query_words(queries, threshold)
            assert found or threshold < 31
    # left to a build anew: a size that changes the bucket width, or tags not as expected
    nothing = (fresh[:0], fresh_ids[:0])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(snapshots, "bucket_bits", lambda n: base.hb + 1)
        assert snapshots.merged_multi_arrays(base, removed=[], added=nothing) is None
    odd = dict(base.arrays, tags=np.asarray(base.tags) ^ np.uint32(1))
    assert (
        snapshots.merged_multi_arrays(MultiIndex(odd), removed=ids[:5].tolist(), added=nothing)
        is None
    )
