"""Contract every match index must meet, checked against a brute-force reference."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from hostguard.hashing import index as index_module
from hostguard.hashing.algorithms import ALGORITHMS
from hostguard.hashing.index import (
    ChunkIndex,
    ExactIndex,
    HammingIndex,
    IndexMatch,
    MultiIndex,
    build_index,
)
from hostguard.hashing.scan_index import BucketedIndex


def random_hashes(bits: int, count: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [rng.bytes(bits // 8).hex() for _ in range(count)]


def flip(value: str, positions) -> str:
    number = int(value, 16)
    for p in positions:
        number ^= 1 << int(p)
    return f"{number:0{len(value)}x}"


CASES = [
    pytest.param(HammingIndex, 256, 31, id="hamming-pdq"),
    pytest.param(HammingIndex, 64, 8, id="hamming-64"),
    pytest.param(MultiIndex, 256, 31, id="multi-pdq"),
    pytest.param(MultiIndex, 256, 40, id="multi-pdq-above-lookup-limit"),
    pytest.param(ChunkIndex, 256, 31, id="chunk-pdq"),
    pytest.param(ChunkIndex, 64, 7, id="chunk-64"),
    pytest.param(ChunkIndex, 64, 8, id="chunk-64-above-chunk-limit"),
    pytest.param(BucketedIndex, 256, 31, id="bucketed-pdq"),  # dataset scans' batches
    pytest.param(BucketedIndex, 256, 40, id="bucketed-pdq-above-chunk-limit"),
    pytest.param(ExactIndex, 128, 0, id="exact-md5"),
    pytest.param(ExactIndex, 256, 0, id="exact-sha256"),
]


@pytest.mark.parametrize("kind, bits, threshold", CASES)
class TestIndexContract:
    def test_exact_member_is_found_with_its_entry_id_and_distance_zero(self, kind, bits, threshold):
        hashes = random_hashes(bits, 500, 1)
        index = kind.build(((h, 1000 + i) for i, h in enumerate(hashes)), bits=bits)
        assert len(index) == 500
        assert index.query([hashes[42]], threshold) == [IndexMatch(0, 1042, 0)]

    def test_unrelated_hashes_do_not_match(self, kind, bits, threshold):
        index = kind.build(((h, i) for i, h in enumerate(random_hashes(bits, 500, 2))), bits=bits)
        assert index.query(random_hashes(bits, 20, 3), threshold) == []

    def test_empty_index_and_empty_query(self, kind, bits, threshold):
        index = kind.build([], bits=bits)
        assert len(index) == 0
        assert index.query(random_hashes(bits, 2, 4), threshold) == []
        full = kind.build([(random_hashes(bits, 1, 5)[0], 1)], bits=bits)
        assert full.query([], threshold) == []

    def test_query_positions_refer_to_the_query_list(self, kind, bits, threshold):
        hashes = random_hashes(bits, 50, 6)
        index = kind.build(((h, i) for i, h in enumerate(hashes)), bits=bits)
        found = index.query([random_hashes(bits, 1, 7)[0], hashes[3], hashes[9]], threshold)
        assert [(m.query, m.entry) for m in found] == [(1, 3), (2, 9)]

    def test_memory_is_reported(self, kind, bits, threshold):
        index = kind.build(((h, i) for i, h in enumerate(random_hashes(bits, 100, 8))), bits=bits)
        assert index.nbytes >= 100 * bits // 8


@pytest.mark.parametrize("kind", ["scan", "multi"])
@pytest.mark.parametrize(
    "bits, threshold", [(256, 31), (256, 20), (256, 0), (64, 8), (64, 7), (64, 0), (256, 60)]
)
def test_hamming_threshold_is_inclusive_and_agrees_with_brute_force(kind, bits, threshold):
    """`multi`: the multi-index build_index picks for the size (MultiIndex for PDQ, ChunkIndex
    for 64-bit hashes)."""
    kind = HammingIndex if kind == "scan" else MultiIndex if bits == 256 else ChunkIndex
    rng = np.random.default_rng(bits + threshold)
    base = random_hashes(bits, 300, 9)
    query = base[0]
    near = [flip(query, rng.choice(bits, d, replace=False)) for d in range(0, threshold + 6)]
    entries = [(h, i) for i, h in enumerate(base[1:] + near)]
    index = kind.build(entries, bits=bits)
    got = {(m.entry, m.distance) for m in index.query([query], threshold)}
    want = {
        (i, (int(h, 16) ^ int(query, 16)).bit_count())
        for h, i in entries
        if (int(h, 16) ^ int(query, 16)).bit_count() <= threshold
    }
    assert got == want
    assert (len(base) - 1 + threshold, threshold) in got
    assert all(entry != len(base) + threshold for entry, _ in got)


def test_hamming_index_spans_several_scan_blocks(monkeypatch):
    monkeypatch.setattr("hostguard.hashing.index.BLOCK_ROWS", 64)
    hashes = random_hashes(256, 1000, 10)
    index = HammingIndex.build(((h, i) for i, h in enumerate(hashes)), bits=256)
    found = index.query([hashes[5], flip(hashes[999], [1, 2, 3])], 31)
    assert [(m.query, m.entry, m.distance) for m in found] == [(0, 5, 0), (1, 999, 3)]


def test_memory_is_close_to_the_raw_hash_size():
    index = HammingIndex.build(
        ((h, i) for i, h in enumerate(random_hashes(256, 10_000, 11))), bits=256
    )
    assert index.nbytes <= 10_000 * (32 + 4)


def test_build_index_picks_the_index_for_the_algorithm():
    assert isinstance(build_index(ALGORITHMS["pdq"], []), HammingIndex)
    assert isinstance(build_index(ALGORITHMS["sha1"], []), ExactIndex)
    digest = hashlib.md5(b"x").hexdigest()
    assert build_index(ALGORITHMS["md5"], [(digest, 4)]).query([digest.upper()], 0)[0].entry == 4


def test_multi_index_finds_every_entry_within_31_bits_whatever_the_bit_pattern():
    """Worst cases for the chunk lookup: flips spread so that every chunk differs in 1-2 bits."""
    rng = np.random.default_rng(12)
    hashes = random_hashes(256, 2000, 13)
    query = hashes[0]
    near = []
    for d in (16, 24, 30, 31, 32, 33):
        # one or two flips in each 16-bit chunk: no chunk is an exact hit
        positions = [16 * c + int(b) for c in range(16) for b in rng.choice(16, 2, replace=False)][
            :d
        ]
        near.append(flip(query, positions))
    near.append(flip(query, list(range(31))))  # every flip packed into two chunks
    entries = [(h, i) for i, h in enumerate(hashes[1:] + near)]
    want = HammingIndex.build(entries, bits=256).query([query, hashes[7]], 31)
    got = MultiIndex.build(entries, bits=256).query([query, hashes[7]], 31)
    assert got == want
    assert {m.distance for m in got if m.query == 0} == {16, 24, 30, 31}


def test_multi_index_keeps_entry_ids_and_duplicate_hashes():
    hashes = random_hashes(256, 300, 14)
    entries = [(h, 5000 - i) for i, h in enumerate(hashes)] + [(hashes[3], 7)]
    found = MultiIndex.build(entries, bits=256).query([flip(hashes[3], [0, 100, 200])], 31)
    assert found == [IndexMatch(0, 7, 3), IndexMatch(0, 4997, 3)]


def test_chunk_index_memory_is_the_scan_arrays_plus_four_bytes_per_entry_per_chunk():
    index = ChunkIndex.build(
        ((h, i) for i, h in enumerate(random_hashes(256, 10_000, 15))), bits=256
    )
    assert 10_000 * (36 + 64) <= index.nbytes <= 10_000 * (36 + 64) + 16 * 65537 * 8


def test_multi_index_holds_62_bytes_per_pdq_entry_plus_its_offsets():
    """30 bytes of hash (super-chunk 0's top 16 bits are implied by the bucket), a 4-byte id and
    seven 4-byte tags; the offsets are 8 x 2**16 uint32 at this size."""
    rng = np.random.default_rng(15)
    n = 50_000
    index = MultiIndex.from_arrays(
        rng.integers(0, 2**64, size=(n, 4), dtype=np.uint64), np.arange(n, dtype=np.int64)
    )
    assert index.hb == 16
    assert index.nbytes == n * 62 + 8 * (2**16 + 1) * 4


def test_build_index_uses_the_multi_index_for_large_perceptual_lists(monkeypatch):
    monkeypatch.setattr(index_module, "MULTI_INDEX_MIN_ENTRIES", 100)
    hashes = random_hashes(256, 150, 16)
    large = build_index(ALGORITHMS["pdq"], [(h, i) for i, h in enumerate(hashes)])
    small = build_index(ALGORITHMS["pdq"], [(h, i) for i, h in enumerate(hashes[:99])])
    assert type(large) is MultiIndex and type(small) is HammingIndex
    assert large.query([flip(hashes[120], [1, 2])], 31) == [IndexMatch(0, 120, 2)]
    sixty_four = random_hashes(64, 150, 16)
    chunked = build_index(ALGORITHMS["phash"], [(h, i) for i, h in enumerate(sixty_four)])
    assert type(chunked) is ChunkIndex


def test_build_index_takes_numpy_arrays(monkeypatch):
    monkeypatch.setattr(index_module, "MULTI_INDEX_MIN_ENTRIES", 100)
    hashes = random_hashes(256, 150, 16)
    words = index_module.hex_to_words(hashes, 256)
    ids = np.arange(1000, 1150, dtype=np.int64)
    index = build_index(ALGORITHMS["pdq"], (words, ids))
    assert type(index) is MultiIndex
    assert index.query([flip(hashes[120], [1, 2])], 31) == [IndexMatch(0, 1120, 2)]
    with pytest.raises(TypeError):
        build_index(ALGORITHMS["md5"], (words, ids))


@pytest.mark.parametrize("bucket_bits", [16, 20])
def test_multi_index_finds_matches_whose_every_super_chunk_is_three_or_four_bits_off(
    bucket_bits, monkeypatch
):
    """The new layout's worst cases, checked against the scan on 2**17 entries: at distance 31 at most one super-chunk is within three bits, and those three
    flips fall in the bucket key, the rest, or both (binary search and scan paths); planted
    copies one bit further must not be found."""
    monkeypatch.setattr(index_module, "bucket_bits", lambda n: bucket_bits)
    rng = np.random.default_rng(20)
    n = 1 << 17
    words = rng.integers(0, 2**64, size=(n, 4), dtype=np.uint64)
    query = words[0].copy()
    planted = []
    for lucky in range(8):  # the super-chunk within three bits
        for split in range(4):  # how many of its three flips are in the top 16 bits
            for extra in (0, 1):  # 31 bits (found) or 32 bits (not found)
                copy = query.copy()
                for sc in range(8):
                    count = 3 if sc == lucky else 4
                    if sc == lucky:
                        offsets = list(rng.choice(16, split, replace=False))
                        offsets += [16 + int(b) for b in rng.choice(16, 3 - split, replace=False)]
                    else:
                        offsets = [int(b) for b in rng.choice(32, count, replace=False)]
                    if extra and sc == (lucky + 1) % 8:
                        offsets = [int(b) for b in rng.choice(32, 5, replace=False)]
                    for b in offsets:
                        bit = 32 * sc + int(b)
                        copy[bit // 64] ^= np.uint64(1) << np.uint64(63 - bit % 64)
                planted.append(copy)
    words[1 : 1 + len(planted)] = np.array(planted)
    ids = np.arange(n, dtype=np.int64) + 10
    queries = np.stack([query, words[5000], rng.integers(0, 2**64, size=4, dtype=np.uint64)])
    scan = HammingIndex.from_arrays(words, ids, bits=256)
    hexes = [q.astype(">u8").tobytes().hex() for q in queries]
    for threshold in (31, 24, 7, 0):
        assert MultiIndex.from_arrays(words, ids).query(hexes, threshold) == scan.query(
            hexes, threshold
        )
    index = MultiIndex.from_arrays(words, ids)
    assert index.hb == bucket_bits
    assert {m.distance for m in index.query(hexes[:1], 31)} == {0, 31}
    assert len(index.query(hexes[:1], 31)) == 1 + 8 * 4


@pytest.mark.parametrize("bits", [256, 64])
def test_multi_index_returns_every_match_when_there_are_more_than_its_first_buffer_holds(bits):
    """Hundreds of near-duplicates of one hash: the compiled lookup grows its buffer, drops nothing."""
    rng = np.random.default_rng(17)
    base = random_hashes(bits, 1, 18)[0]
    near = [
        flip(base, sorted(rng.choice(bits, int(rng.integers(0, 4)), replace=False).tolist()))
        for _ in range(700)
    ]
    entries = [(h, i) for i, h in enumerate(near + random_hashes(bits, 500, 19))]
    threshold = 3
    want = HammingIndex.build(entries, bits=bits).query([base, near[5]], threshold)
    kind = MultiIndex if bits == 256 else ChunkIndex
    got = kind.build(entries, bits=bits).query([base, near[5]], threshold)
    assert got == want
    assert len([m for m in got if m.query == 0]) == 700


@pytest.mark.parametrize("threshold", [31, 16, 3, 0])
def test_bucketed_index_answers_a_batch_as_the_scan_does(threshold):
    """A dataset scan's index: a batch of queries (several probing the same buckets), near
    entries with flips spread so no chunk is an exact hit, packed flips, hundreds of
    near-duplicates (its output buffer grows); the same answers as the brute-force scan."""
    rng = np.random.default_rng(threshold)
    hashes = random_hashes(256, 3000, 21)
    query = hashes[0]
    near = [flip(query, rng.choice(256, d, replace=False)) for d in range(0, 36)]
    for d in (16, 24, 30, 31, 32):
        spread = [16 * c + int(b) for c in range(16) for b in rng.choice(16, 2, replace=False)]
        near.append(flip(query, spread[:d]))
    near.append(flip(query, list(range(31))))
    near += [flip(hashes[1], rng.choice(256, 2, replace=False)) for _ in range(300)]
    entries = [(h, i) for i, h in enumerate(hashes[1:] + near)]
    queries = [query, hashes[1], hashes[7], query, *random_hashes(256, 200, 22)]
    want = HammingIndex.build(entries, bits=256).query(queries, threshold)
    got = BucketedIndex.build(entries, bits=256).query(queries, threshold)
    assert got == want
    assert len([m for m in got if m.query == 0]) == len([m for m in got if m.query == 3])


@pytest.mark.parametrize("bucket_bits", [16, 20])
def test_multi_index_answers_a_batch_as_it_answers_each_query_alone(bucket_bits, monkeypatch):
    """A batch is looked up at once, its probes sorted by bucket and its reads overlapped:
    queries that share buckets (the same hash twice, copies differing only below every
    super-chunk's bucket key, list members with hundreds of near-duplicates) and a batch with
    more probes than one read-ahead window get the answers each gets alone, the scan's."""
    monkeypatch.setattr(index_module, "bucket_bits", lambda n: bucket_bits)
    rng = np.random.default_rng(23)
    hashes = random_hashes(256, 20_000, 24)
    base = hashes[0]
    low = [32 * sc + 31 - int(b) for sc in range(8) for b in rng.choice(32 - 20, 2, replace=False)]
    near = [flip(base, rng.choice(256, d, replace=False)) for d in range(0, 34)]
    near += [flip(hashes[1], rng.choice(256, 2, replace=False)) for _ in range(300)]
    near += [flip(base, rng.choice(low, d, replace=False)) for d in (1, 3, 8, 16)]
    entries = [(h, 100 + i) for i, h in enumerate(hashes[1:] + near)]
    queries = [base, base, hashes[1], flip(base, low[:4]), flip(base, low[4:9]), hashes[1]]
    queries += [flip(base, rng.choice(256, 9, replace=False)) for _ in range(6)]
    queries += hashes[2:6] + random_hashes(256, 24, 25)
    index = MultiIndex.build(entries, bits=256)
    assert index.hb == bucket_bits
    scan = HammingIndex.build(entries, bits=256)
    words = index_module.hex_to_words(queries, 256)
    for threshold in (31, 16, 3, 0):
        batch = index.query(queries, threshold)
        alone = sorted(
            IndexMatch(q, m.entry, m.distance)
            for q, value in enumerate(queries)
            for m in index.query([value], threshold)
        )
        assert batch == alone == scan.query(queries, threshold)
        assert index.query_words(words, threshold) == batch
    found = index.query(queries, 31)
    assert len([m for m in found if m.query == 2]) == 301
    assert [m for m in found if m.query == 0] == [
        IndexMatch(0, m.entry, m.distance) for m in found if m.query == 1
    ]
