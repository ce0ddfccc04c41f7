"""Contract every match index must meet, checked against a brute-force reference."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from hostguard.hashing import index as index_module
from hostguard.hashing.algorithms import ALGORITHMS
from hostguard.hashing.index import ExactIndex, HammingIndex, IndexMatch, MultiIndex, build_index
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
    pytest.param(MultiIndex, 64, 7, id="multi-64"),
    pytest.param(MultiIndex, 64, 8, id="multi-64-above-chunk-limit"),
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


@pytest.mark.parametrize("kind", [HammingIndex, MultiIndex])
@pytest.mark.parametrize(
    "bits, threshold", [(256, 31), (256, 20), (256, 0), (64, 8), (64, 7), (64, 0), (256, 60)]
)
def test_hamming_threshold_is_inclusive_and_agrees_with_brute_force(kind, bits, threshold):
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


def test_multi_index_memory_is_the_scan_arrays_plus_four_bytes_per_entry_per_chunk():
    index = MultiIndex.build(
        ((h, i) for i, h in enumerate(random_hashes(256, 10_000, 15))), bits=256
    )
    assert 10_000 * (36 + 64) <= index.nbytes <= 10_000 * (36 + 64) + 16 * 65537 * 8


def test_build_index_uses_the_multi_index_for_large_perceptual_lists(monkeypatch):
    monkeypatch.setattr(index_module, "MULTI_INDEX_MIN_ENTRIES", 100)
    hashes = random_hashes(256, 150, 16)
    large = build_index(ALGORITHMS["pdq"], [(h, i) for i, h in enumerate(hashes)])
    small = build_index(ALGORITHMS["pdq"], [(h, i) for i, h in enumerate(hashes[:99])])
    assert type(large) is MultiIndex and type(small) is HammingIndex
    assert large.query([flip(hashes[120], [1, 2])], 31) == [IndexMatch(0, 120, 2)]


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
    got = MultiIndex.build(entries, bits=bits).query([base, near[5]], threshold)
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
