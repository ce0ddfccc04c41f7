"""Match indexes: find list entries within a Hamming distance of query hashes.

Four implementations of one small interface, built from `(hex hash, entry id)` pairs or
numpy arrays:

- `HammingIndex` for perceptual hashes: a vectorised numpy scan over 64-bit words, 32 bytes
  per PDQ hash plus a 4-byte entry id. Any threshold; cost grows with the list.
- `ChunkIndex` (multi-index hashing) for large lists of 64-bit perceptual hashes at small
  thresholds: the same words plus, per 16-bit chunk of the hash, a counting-sort
  permutation of the entries (4 bytes per entry per chunk) and its bucket offsets. By pigeonhole
  an entry within distance `2 * chunks - 1` (31 for PDQ, 7 for 64-bit hashes) of a query
  has some chunk within one bit of the query's chunk, so looking up each chunk's value and
  its one-bit neighbours finds every candidate; candidates are then checked with the exact
  distance by compiled loops (numba), one word at a time over all of a query's candidates,
  dropping the rows that a word takes over the threshold. Larger thresholds fall back to
  the scan.
- `MultiIndex` for large PDQ lists: multi-index hashing over eight 32-bit super-chunks in
  about 62 bytes per entry (see the class); a batch of queries is looked up at once.
- `ExactIndex` for digests (a dict).

The Hamming scan reads the first two words of every entry in cache-sized blocks, keeps rows
whose partial distance is within the threshold (a necessary condition, since distances only
grow with more words) and checks the remaining words for those few candidates only.
"""

from __future__ import annotations

import itertools
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

BLOCK_ROWS = 1 << 15  # rows per scan call: two columns of a block stay in cache for every query


@intrinsic
def _popcount(typingctx, value):
    """The CPU's population count on a uint64 (LLVM ctpop)."""
    sig = types.uint64(types.uint64)

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return sig, codegen


@intrinsic
def _prefetch(typingctx, array, index):
    """Ask the CPU to bring `array[index]` (1-d) into cache, without waiting for it
    (LLVM's prefetch: read, keep in all cache levels)."""
    sig = types.void(array, index)

    def codegen(context, builder, signature, args):
        kind = signature.args[0]
        view = context.make_array(kind)(context, builder, args[0])
        pointer = cgutils.get_item_pointer(
            context, builder, kind, view, [args[1]], wraparound=False
        )
        byte_pointer = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        function = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(ir.VoidType(), [byte_pointer, i32, i32, i32]),
            "llvm.prefetch.p0",
        )
        builder.call(function, [builder.bitcast(pointer, byte_pointer), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return sig, codegen


@numba.njit(nogil=True, cache=True)
def _prefix_candidates(
    first, second, q0, q1, use_second, threshold, start, stop, out
):  # pragma: no cover - compiled
    """Rows in [start, stop) whose first one or two words are within `threshold` of the query.

    Compiled: one pass over the columns with the CPU's popcount and no temporaries, which is
    what makes the linear scan memory-bound rather than interpreter-bound.
    """
    found = 0
    for row in range(start, stop):
        distance: np.uint64 = _popcount(first[row] ^ q0)  # type: ignore[call-arg]  # numba stubs: @intrinsic keeps typingctx in the call signature
        if use_second:
            distance += _popcount(second[row] ^ q1)
        if distance <= threshold:
            out[found] = row
            found += 1
    return found


CHUNK_BITS = 16


@numba.njit(nogil=True, cache=True)
def _chunk_candidates(
    c0,
    c1,
    c2,
    c3,
    word_count,
    order,
    offsets,
    queries,
    keys,
    threshold,
    out_query,
    out_row,
    out_distance,
):  # pragma: no cover - compiled
    """Multi-index lookup: every row whose chunk is within one bit of a query's chunk, checked.

    For each query, the buckets `order[c, offsets[c, v]:offsets[c, v + 1]]` of every chunk `c`
    and probe `v` (the query's chunk value and its 16 one-bit neighbours) are gathered first;
    then the candidates' distances are summed one word at a time over all of them, keeping
    those still within the threshold for the next word. Each candidate's word is a read from
    a random place in a large array, usually a cache miss: in loops without branches on what
    was read, the CPU has many of those reads under way at once, where checking candidate by
    candidate (stopping at the first word over the threshold) waited for each in turn.
    Rows within the threshold go to the `out_*` arrays while they have room; the count of all
    found is returned (an entry found through several chunks is found once per chunk).
    """
    found = 0
    rows = np.empty(0, dtype=np.int64)  # scratch, grown to the most candidates of any query
    distances = np.empty(0, dtype=np.int64)
    for q in range(queries.shape[0]):
        total = 0
        for c in range(keys.shape[1]):
            for flip in range(CHUNK_BITS + 1):
                probe = keys[q, c] if flip == 0 else keys[q, c] ^ (1 << (flip - 1))
                total += offsets[c, probe + 1] - offsets[c, probe]
        if total > rows.shape[0]:
            rows = np.empty(total, dtype=np.int64)
            distances = np.empty(total, dtype=np.int64)
        count = 0
        for c in range(keys.shape[1]):
            for flip in range(CHUNK_BITS + 1):
                probe = keys[q, c] if flip == 0 else keys[q, c] ^ (1 << (flip - 1))
                for position in range(offsets[c, probe], offsets[c, probe + 1]):
                    rows[count] = order[c, position]
                    count += 1
        for word in range(word_count):
            column = c0 if word == 0 else c1 if word == 1 else c2 if word == 2 else c3
            value = queries[q, word]
            for i in range(count):
                add: np.uint64 = _popcount(column[rows[i]] ^ value)  # type: ignore[call-arg]  # numba stubs: @intrinsic keeps typingctx in the call signature
                distances[i] = add if word == 0 else distances[i] + add
            kept = 0  # compact the rows still within the threshold, without branching
            for i in range(count):
                rows[kept] = rows[i]
                distances[kept] = distances[i]
                kept += distances[i] <= threshold
            count = kept
        for i in range(count):
            if found < out_row.shape[0]:
                out_query[found] = q
                out_row[found] = rows[i]
                out_distance[found] = distances[i]
            found += 1
    return found


# Lists at least this long get a MultiIndex from build_index; smaller ones scan quickly.
MULTI_INDEX_MIN_ENTRIES = 20_000


@dataclass(frozen=True, order=True)
class IndexMatch:
    query: int
    entry: int
    distance: int


class MatchIndex(ABC):
    """Entries are `(hex hash, entry id)`; queries answer with the ids within `threshold`."""

    @classmethod
    @abstractmethod
    def build(cls, entries: Iterable[tuple[str, int]], *, bits: int) -> MatchIndex: ...

    @abstractmethod
    def query(self, hashes: Sequence[str], threshold: int) -> list[IndexMatch]: ...

    @abstractmethod
    def __len__(self) -> int: ...

    @property
    @abstractmethod
    def nbytes(self) -> int:
        """Memory held by the index's arrays (approximate for dict-based indexes)."""


def hex_to_words(hexes: Sequence[str], bits: int) -> np.ndarray:
    """(n, bits/64) uint64 array from equal-length hex strings, most significant word first."""
    words = bits // 64
    if not hexes:
        return np.zeros((0, words), dtype=np.uint64)
    raw = bytes.fromhex("".join(hexes))
    return np.frombuffer(raw, dtype=">u8").astype(np.uint64).reshape(-1, words)


def arrays_from_rows(
    rows: Iterable[tuple[str, int]], bits: int, *, batch: int = 65_536
) -> tuple[np.ndarray, np.ndarray]:
    """(words, ids) from (hex hash, entry id) rows, read `batch` rows at a time: with a
    streamed query only one batch of rows is ever held as Python objects (all of them at
    once took about 3.5 GB at 10 M entries)."""
    words, ids = [np.zeros((0, bits // 64), dtype=np.uint64)], [np.zeros(0, dtype=np.int64)]
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, batch)):
        words.append(hex_to_words([row[0] for row in chunk], bits))
        ids.append(np.fromiter((row[1] for row in chunk), dtype=np.int64, count=len(chunk)))
    return np.concatenate(words), np.concatenate(ids)


class HammingIndex(MatchIndex):
    def __init__(self, words: np.ndarray, ids: np.ndarray, bits: int):
        self.bits = bits
        self.word_count = bits // 64
        # One contiguous array per word: the scan streams through the first one or two only.
        self.columns = [np.ascontiguousarray(words[:, i]) for i in range(self.word_count)]
        self.ids = ids

    @classmethod
    def build(cls, entries: Iterable[tuple[str, int]], *, bits: int) -> HammingIndex:
        if bits % 64:
            raise ValueError("HammingIndex needs a multiple of 64 bits")
        words, ids = arrays_from_rows(entries, bits)
        return cls.from_arrays(words, ids, bits=bits)

    @classmethod
    def from_arrays(cls, words: np.ndarray, ids: np.ndarray, *, bits: int) -> HammingIndex:
        ids = np.asarray(ids)
        if ids.size and ids.min() >= 0 and ids.max() < 2**32:
            ids = ids.astype(np.uint32)
        return cls(np.asarray(words, dtype=np.uint64), ids, bits)

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    @property
    def nbytes(self) -> int:
        return sum(c.nbytes for c in self.columns) + self.ids.nbytes

    def query(self, hashes: Sequence[str], threshold: int) -> list[IndexMatch]:
        if not hashes or not len(self):
            return []
        if threshold < 0:
            return []
        queries = hex_to_words(list(hashes), self.bits)
        total = len(self)
        first = np.asarray(self.columns[0])
        second = np.asarray(self.columns[1]) if self.word_count > 1 else first
        limit = np.uint64(threshold)
        rows_buffer = np.empty(min(BLOCK_ROWS, total), dtype=np.int64)
        found: list[tuple[int, np.ndarray]] = []
        use_second = self.word_count > 1
        prefixes = [(query[0], query[1] if use_second else np.uint64(0)) for query in queries]
        for start in range(0, total, BLOCK_ROWS):
            stop = min(total, start + BLOCK_ROWS)
            for q, (q0, q1) in enumerate(prefixes):
                count = _prefix_candidates(
                    first, second, q0, q1, use_second, limit, start, stop, rows_buffer
                )
                if count:
                    found.append((q, rows_buffer[:count].copy()))
        matches = []
        for q, rows in found:
            distance = np.zeros(rows.shape[0], dtype=np.int64)
            for w in range(self.word_count):
                distance += np.bitwise_count(self.columns[w][rows] ^ queries[q][w])
            keep = distance <= threshold
            for row, dist in zip(rows[keep], distance[keep], strict=True):
                matches.append(IndexMatch(q, int(self.ids[row]), int(dist)))
        return sorted(matches)


def chunk_keys(words: np.ndarray, bits: int) -> np.ndarray:
    """(n, bits/16) uint16 array: the 16-bit chunks of each hash, most significant first."""
    words = np.asarray(words, dtype=np.uint64).reshape(-1, bits // 64)
    per_word = 64 // CHUNK_BITS
    keys = np.empty((words.shape[0], bits // CHUNK_BITS), dtype=np.uint16)
    for c in range(keys.shape[1]):
        shift = np.uint64(64 - CHUNK_BITS * (c % per_word + 1))
        keys[:, c] = (words[:, c // per_word] >> shift) & np.uint64(0xFFFF)
    return keys


def build_tables(words: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """The MultiIndex tables: per chunk, entry rows ordered by chunk value, and bucket offsets.

    `order[c, offsets[c, v]:offsets[c, v + 1]]` are the rows whose chunk `c` equals `v`.
    """
    return tables_from_columns([np.ascontiguousarray(words[:, w]) for w in range(bits // 64)], bits)


def tables_from_columns(columns: Sequence[np.ndarray], bits: int) -> tuple[np.ndarray, np.ndarray]:
    """`build_tables` from the per-word columns a `HammingIndex` already holds (no copy)."""
    chunks = bits // CHUNK_BITS
    n = int(columns[0].shape[0]) if columns else 0
    if n >= 2**32:
        raise ValueError("MultiIndex holds at most 2**32 entries")
    order = np.empty((chunks, n), dtype=np.uint32)
    offsets = np.zeros((chunks, (1 << CHUNK_BITS) + 1), dtype=np.int64)
    per_word = 64 // CHUNK_BITS
    for c in range(chunks):
        shift = np.uint64(64 - CHUNK_BITS * (c % per_word + 1))
        key = ((columns[c // per_word] >> shift) & np.uint64(0xFFFF)).astype(np.uint16)
        order[c] = np.argsort(key, kind="stable")  # radix sort for 16-bit keys
        np.cumsum(np.bincount(key, minlength=1 << CHUNK_BITS), out=offsets[c, 1:])
    return order, offsets


class ChunkIndex(HammingIndex):
    """Multi-index hashing over 16-bit chunks (see the module docstring); scans when it must.

    Used for 64-bit hashes (pHash, dHash, aHash); PDQ lists get the leaner `MultiIndex`.

    Memory: the `HammingIndex` arrays (32 + 4 bytes per PDQ entry) plus `order` (4 bytes per
    entry per chunk, 64 for PDQ) plus `offsets` (8 MB for PDQ, whatever the list size).
    """

    def __init__(
        self,
        words: np.ndarray,
        ids: np.ndarray,
        bits: int,
        order: np.ndarray | None = None,
        offsets: np.ndarray | None = None,
    ):
        if bits % CHUNK_BITS:
            raise ValueError("MultiIndex needs a multiple of 16 bits")
        super().__init__(words, ids, bits)
        if order is None or offsets is None:
            order, offsets = tables_from_columns(self.columns, bits)
        self.order = order
        self.offsets = offsets
        self.chunks = bits // CHUNK_BITS

    @classmethod
    def from_index(cls, index: HammingIndex) -> ChunkIndex:
        """A ChunkIndex over the arrays of `index` (shared, not copied) plus new tables."""
        multi = cls.__new__(cls)
        multi.bits, multi.word_count = index.bits, index.word_count
        multi.columns, multi.ids = index.columns, index.ids
        multi.order, multi.offsets = tables_from_columns(index.columns, index.bits)
        multi.chunks = index.bits // CHUNK_BITS
        return multi

    @property
    def max_threshold(self) -> int:
        """The largest threshold the chunk lookup answers exactly (pigeonhole over chunks)."""
        return 2 * self.chunks - 1

    @property
    def nbytes(self) -> int:
        return super().nbytes + self.order.nbytes + self.offsets.nbytes

    def query(self, hashes: Sequence[str], threshold: int) -> list[IndexMatch]:
        if not hashes or not len(self):
            return []
        if threshold > self.max_threshold:
            return super().query(hashes, threshold)
        if self.word_count > 4:  # the compiled lookup reads at most four words
            return super().query(hashes, threshold)
        queries = hex_to_words(list(hashes), self.bits)
        keys = chunk_keys(queries, self.bits).astype(np.int64)  # (q, chunks)
        columns = [np.asarray(c) for c in self.columns]
        columns += [columns[0]] * (4 - len(columns))
        c0, c1, c2, c3 = columns
        capacity = 256
        while True:
            out_query = np.empty(capacity, dtype=np.int64)
            out_row = np.empty(capacity, dtype=np.int64)
            out_distance = np.empty(capacity, dtype=np.int64)
            found = _chunk_candidates(
                c0,
                c1,
                c2,
                c3,
                self.word_count,
                np.asarray(self.order),
                np.asarray(self.offsets),
                queries,
                keys,
                threshold,
                out_query,
                out_row,
                out_distance,
            )
            if found <= capacity:
                break
            capacity = found
        owner, rows, distance = out_query[:found], out_row[:found], out_distance[:found]
        # an entry found through several chunks appears once per chunk: keep one
        _, first = np.unique(owner * len(self) + rows, return_index=True)
        return sorted(
            IndexMatch(int(q), int(self.ids[row]), int(dist))
            for q, row, dist in zip(owner[first], rows[first], distance[first], strict=True)
        )


# --- the PDQ multi-index: eight 32-bit super-chunks, about 62 bytes per entry ----------------

SUPER_CHUNKS = 8  # 256 bits in eight 32-bit pieces: a match within t bits has one within t // 8
MAX_PROBE_RADIUS = 3  # the compiled probe enumerates up to three flipped bucket bits (t <= 31)
MAX_BUCKET_BITS = 20  # 8 x 2**20 uint32 offsets = 33.5 MB: 0.34 bytes per entry at 100 M


MIN_BUCKET_BITS = 16  # so `lo0`, the rest of super-chunk 0, fits in 16 bits


def bucket_bits(n: int) -> int:
    """Bucket-key width for `n` entries: 16 bits up to about 3 M entries, then buckets of
    about 64-128 entries up to 20 bits (100 M entries: 95 per bucket)."""
    return int(min(MAX_BUCKET_BITS, max(MIN_BUCKET_BITS, round(np.log2(max(n, 1))) - 6)))


@numba.njit(nogil=True, cache=True)
def _counting_sort(keys, buckets):  # pragma: no cover - compiled
    """(permutation, offsets): rows grouped by key, stably, in linear time (uint32 rows)."""
    offsets = np.zeros(buckets + 1, dtype=np.uint32)
    for i in range(keys.shape[0]):
        offsets[keys[i] + 1] += 1
    for b in range(buckets):
        offsets[b + 1] += offsets[b]
    cursor = offsets[:-1].copy()
    perm = np.empty(keys.shape[0], dtype=np.uint32)
    for i in range(keys.shape[0]):
        k = keys[i]
        perm[cursor[k]] = i
        cursor[k] += 1
    return perm, offsets


@numba.njit(nogil=True, cache=True)
def _sort_super(values, hb):  # pragma: no cover - compiled
    """(permutation, offsets) ordering 32-bit `values` ascending, in linear time: a stable
    counting sort on the low `32 - hb` bits, then one on the top `hb` bits (`offsets` are
    the buckets of those). Within a bucket the rows are then ordered by their low bits, so a
    lookup of one exact value is a binary search."""
    n = values.shape[0]
    low_bits = 32 - hb
    lomask = np.uint32((1 << low_bits) - 1)
    first, _ = _counting_sort(values & lomask, 1 << low_bits)
    offsets = np.zeros((1 << hb) + 1, dtype=np.uint32)
    for i in range(n):
        offsets[(values[i] >> low_bits) + 1] += 1
    for b in range(1 << hb):
        offsets[b + 1] += offsets[b]
    cursor = offsets[:-1].copy()
    perm = np.empty(n, dtype=np.uint32)
    for i in range(n):
        row = first[i]
        k = values[row] >> low_bits
        perm[cursor[k]] = row
        cursor[k] += 1
    return perm, offsets


@numba.njit(nogil=True, cache=True, inline="always")
def _super(j, row, low0, w1, w2, w3):  # pragma: no cover - compiled
    """Super-chunk j >= 1 of a stored row (bits 32j .. 32j + 31, most significant first)."""
    if j == 1:
        return np.uint64(low0[row])
    word = w1[row] if j < 4 else w2[row] if j < 6 else w3[row]
    return word >> np.uint64(32) if j % 2 == 0 else word & np.uint64(0xFFFFFFFF)


@numba.njit(nogil=True, cache=True)
def _build_tags(hb, lo0, low0, w1, w2, w3, offsets0, tags, offsets):  # pragma: no cover
    """Tables 1..7: rows grouped by their super-chunk's top `hb` bits; each slot's tag holds
    the super-chunk's remaining bits (high part) and the row's bucket in the main order (low
    `hb` bits), from which the row is found again by scanning that one bucket."""
    n = lo0.shape[0]
    buckets = 1 << hb
    lomask = np.uint64((1 << (32 - hb)) - 1)
    bucket0 = np.empty(n, dtype=np.uint32)
    for b in range(buckets):
        for row in range(offsets0[b], offsets0[b + 1]):
            bucket0[row] = b
    values = np.empty(n, dtype=np.uint32)
    for j in range(1, 8):
        for row in range(n):
            values[row] = _super(j, row, low0, w1, w2, w3)
        perm, off = _sort_super(values, hb)
        offsets[j] = off
        for slot in range(n):
            row = perm[slot]
            lo = _super(j, row, low0, w1, w2, w3) & lomask
            tags[j - 1, slot] = (lo << np.uint64(hb)) | np.uint64(bucket0[row])


@numba.njit(nogil=True, cache=True, inline="always")
def _bits(value):  # pragma: no cover - compiled
    """Set bits of a uint64, as an int64 (compared with signed thresholds)."""
    return np.int64(_popcount(np.uint64(value)))  # type: ignore[call-arg]


@numba.njit(nogil=True, cache=True, inline="always")
def _distance(q, b, row, hb, lo0, low0, w1, w2, w3):  # pragma: no cover - compiled
    sc0 = (np.uint64(b) << np.uint64(32 - hb)) | np.uint64(lo0[row])
    word0 = (sc0 << np.uint64(32)) | np.uint64(low0[row])
    return (
        _bits(word0 ^ q[0]) + _bits(w1[row] ^ q[1]) + _bits(w2[row] ^ q[2]) + _bits(w3[row] ^ q[3])
    )


@numba.njit(nogil=True, cache=True, inline="always")
def _distance_of(queries, q, b, row, hb, lo0, low0, w1, w2, w3):  # pragma: no cover - compiled
    """`_distance` to query `q` of `queries`, read in place (a row view costs in hot loops)."""
    sc0 = (np.uint64(b) << np.uint64(32 - hb)) | np.uint64(lo0[row])
    word0 = (sc0 << np.uint64(32)) | np.uint64(low0[row])
    return (
        _bits(word0 ^ queries[q, 0])
        + _bits(w1[row] ^ queries[q, 1])
        + _bits(w2[row] ^ queries[q, 2])
        + _bits(w3[row] ^ queries[q, 3])
    )


SORT_BITS = 12  # a batch's probes are ordered by the top 12 bits of their bucket key
WINDOW = 1024  # probes read ahead, then walked, at a time: what they read stays in cache


@numba.njit(nogil=True, cache=True)
def _bin_order(keys, count, shift, bins, order):  # pragma: no cover - compiled
    """`order[:count]`: positions of `keys[:count]` by `keys >> shift` (< bins), stably."""
    starts = np.zeros(bins + 1, dtype=np.int64)
    for i in range(count):
        starts[(keys[i] >> shift) + 1] += 1
    for b in range(bins):
        starts[b + 1] += starts[b]
    for i in range(count):
        k = keys[i] >> shift
        order[starts[k]] = i
        starts[k] += 1


@numba.njit(nogil=True, cache=True)
def _super_lookup_sorted(
    hb,
    lo0,
    low0,
    w1,
    w2,
    w3,
    tags,
    offsets,
    masks,
    mask_bits,
    queries,
    threshold,
    out_query,
    out_row,
    out_distance,
):  # pragma: no cover - compiled
    """Every row within `threshold` (<= 31) of each query, each found at least once.

    By pigeonhole one of the eight 32-bit super-chunks of a match is within
    r = threshold // 8 bits of the query's. For each table and each bucket whose key is within
    `a <= r` bits of the query's (`masks`), the slots whose remaining bits are within `r - a`
    are candidates: in table 0 (the main order) the slot is the row; in tables 1..7 the tag
    names the main-order bucket, which is scanned for the rows with that super-chunk. Every
    candidate is checked with the exact 256-bit distance.

    The whole batch is looked up at once, in an order that lets the CPU fetch memory ahead of
    its use.
    Per table, every probe of every query of the batch (a bucket key within `r` bits of the
    query's) is listed and the list ordered by bucket key (a counting sort on its top
    `SORT_BITS` bits), so the batch reads each table's offsets and tags front to back and
    probes sharing a bucket come together. Then, in passes: the probes' bucket offsets (a loop
    whose reads do not wait on one another); for `WINDOW` probes at a time, a prefetch of
    the tag where each walk will start (the whole bucket when it is scanned), then the walks
    and scans themselves, which list (query, table, main bucket, super-chunk) for each tag
    that agrees; last, for all tables' candidates ordered by main bucket, a prefetch of those
    buckets and their scans with the exact distances. Looking each query up in turn (the
    first lookup, now timed as batches of one by `benchmarks/hashing/index_scale.py`) waited
    for each probe's offsets, then its tags, then its row's bucket, one after the other.
    """
    found = 0
    radius = threshold // 8
    low_bits = 32 - hb
    lomask = np.uint64((1 << low_bits) - 1)
    shift = np.uint64(low_bits)
    hbmask = np.uint64((1 << hb) - 1)
    nq = queries.shape[0]
    nm = 0
    while nm < masks.shape[0] and mask_bits[nm] <= radius:
        nm += 1
    total = nq * nm
    sort_bits = min(hb, SORT_BITS)
    sort_shift = hb - sort_bits
    keys = np.empty(total, dtype=np.int64)
    probe_q = np.empty(total, dtype=np.int64)
    probe_m = np.empty(total, dtype=np.int64)
    order = np.empty(total, dtype=np.int64)
    start = np.empty(total, dtype=np.int64)
    stop = np.empty(total, dtype=np.int64)
    begin = np.empty(total, dtype=np.int64)
    capacity = 64 * nq + 64
    cand_q = np.empty(capacity, dtype=np.int64)
    cand_j = np.empty(capacity, dtype=np.int64)
    cand_b = np.empty(capacity, dtype=np.int64)
    cand_want = np.empty(capacity, dtype=np.uint64)
    cands = 0
    picked = np.empty(256, dtype=np.int64)  # slots of a bucket that agree with a probe
    n = lo0.shape[0]
    for j in range(8):
        table = tags[max(j - 1, 0)]
        k = 0
        for q in range(nq):
            word = queries[q, j // 2]
            sc = word >> np.uint64(32) if j % 2 == 0 else word & np.uint64(0xFFFFFFFF)
            hq = sc >> shift
            for m in range(nm):
                keys[k] = np.int64(hq ^ masks[m])
                probe_q[k] = q
                probe_m[k] = m
                k += 1
        _bin_order(keys, total, sort_shift, 1 << sort_bits, order)
        for t in range(total):  # pass 1: the buckets' offsets, independent reads
            h = keys[order[t]]
            start[t] = offsets[j, h]
            stop[t] = offsets[j, h + 1]
        for window in range(0, total, WINDOW):  # passes 2 and 3 a cache's worth at a time
            end = min(total, window + WINDOW)
            for t in range(window, end):  # pass 2: prefetch where each walk starts
                i = order[t]
                first, last = start[t], stop[t]
                begin[t] = first
                if mask_bits[probe_m[i]] == radius and last > first:
                    word = queries[probe_q[i], j // 2]
                    sc = word >> np.uint64(32) if j % 2 == 0 else word & np.uint64(0xFFFFFFFF)
                    at = first + np.int64(((sc & lomask) * np.uint64(last - first)) >> shift)
                    begin[t] = min(at, last - 1)
                at = min(begin[t], n - 1)
                if mask_bits[probe_m[i]] < radius:  # the whole bucket is read: every line
                    for at in range(first, last, 16):
                        if j == 0:
                            _prefetch(lo0, at)  # type: ignore[call-arg]  # numba stubs
                        else:
                            _prefetch(table, at)  # type: ignore[call-arg]  # numba stubs
                elif j == 0:
                    _prefetch(lo0, at)  # type: ignore[call-arg]  # numba stubs
                else:
                    _prefetch(table, at)  # type: ignore[call-arg]  # numba stubs
            for t in range(window, end):  # pass 3: the walks and scans
                i = order[t]
                q = probe_q[i]
                first, last = start[t], stop[t]
                if first >= last:
                    continue
                h = np.uint64(keys[i])
                rest = radius - mask_bits[probe_m[i]]
                word = queries[q, j // 2]
                sc = word >> np.uint64(32) if j % 2 == 0 else word & np.uint64(0xFFFFFFFF)
                lq = sc & lomask
                if rest == 0:  # walk from the guess to the first slot >= lq
                    at = begin[t]
                    bottom = first
                    if j == 0:
                        while at > bottom and np.uint64(lo0[at - 1]) >= lq:
                            at -= 1
                        while at < last and np.uint64(lo0[at]) < lq:
                            at += 1
                    else:
                        while at > bottom and (np.uint64(table[at - 1]) >> np.uint64(hb)) >= lq:
                            at -= 1
                        while at < last and (np.uint64(table[at]) >> np.uint64(hb)) < lq:
                            at += 1
                    first = at
                if j == 0:
                    for row in range(first, last):
                        lo = np.uint64(lo0[row])
                        if rest == 0 and lo != lq:
                            break
                        if _bits(lo ^ lq) <= rest:
                            d = _distance_of(queries, q, h, row, hb, lo0, low0, w1, w2, w3)
                            if d <= threshold:
                                if found < out_row.shape[0]:
                                    out_query[found] = q
                                    out_row[found] = row
                                    out_distance[found] = d
                                found += 1
                    continue
                hits = 0
                if rest == 0:  # the slots from the walk's place while they equal lq
                    for slot in range(first, last):
                        if np.uint64(table[slot]) >> np.uint64(hb) != lq:
                            break
                        if hits == picked.shape[0]:
                            picked = np.concatenate((picked, picked))
                        picked[hits] = slot
                        hits += 1
                else:  # the whole bucket, without a branch on each slot
                    if last - first > picked.shape[0]:
                        picked = np.empty(last - first, dtype=np.int64)
                    for slot in range(first, last):
                        picked[hits] = slot
                        hits += _bits((np.uint64(table[slot]) >> np.uint64(hb)) ^ lq) <= rest
                for k in range(hits):
                    tag = np.uint64(table[picked[k]])
                    lo = tag >> np.uint64(hb)
                    if cands == capacity:
                        capacity *= 2
                        grown_q = np.empty(capacity, dtype=np.int64)
                        grown_j = np.empty(capacity, dtype=np.int64)
                        grown_b = np.empty(capacity, dtype=np.int64)
                        grown_want = np.empty(capacity, dtype=np.uint64)
                        grown_q[:cands] = cand_q[:cands]
                        grown_j[:cands] = cand_j[:cands]
                        grown_b[:cands] = cand_b[:cands]
                        grown_want[:cands] = cand_want[:cands]
                        cand_q, cand_j, cand_b, cand_want = grown_q, grown_j, grown_b, grown_want
                    cand_q[cands] = q
                    cand_j[cands] = j
                    cand_b[cands] = np.int64(tag & hbmask)
                    cand_want[cands] = (h << shift) | lo
                    cands += 1
    # the candidates' main buckets, in bucket order
    corder = np.empty(cands, dtype=np.int64)
    _bin_order(cand_b, cands, sort_shift, 1 << sort_bits, corder)
    cstart = np.empty(cands, dtype=np.int64)
    cstop = np.empty(cands, dtype=np.int64)
    for t in range(cands):
        b = cand_b[corder[t]]
        cstart[t] = offsets[0, b]
        cstop[t] = offsets[0, b + 1]
    for t in range(cands):  # a read of each bucket's first word of the super-chunk's column
        if cstop[t] > cstart[t]:
            j = cand_j[corder[t]]
            if j == 1:
                for row in range(cstart[t], cstop[t], 16):
                    _prefetch(low0, row)  # type: ignore[call-arg]  # numba stubs
            else:
                column = w1 if j < 4 else w2 if j < 6 else w3
                for row in range(cstart[t], cstop[t], 8):
                    _prefetch(column, row)  # type: ignore[call-arg]  # numba stubs
    for t in range(cands):
        i = corder[t]
        j, q, b, want = cand_j[i], cand_q[i], cand_b[i], cand_want[i]
        for row in range(cstart[t], cstop[t]):
            if _super(j, row, low0, w1, w2, w3) != want:
                continue
            d = _distance_of(queries, q, b, row, hb, lo0, low0, w1, w2, w3)
            if d <= threshold:
                if found < out_row.shape[0]:
                    out_query[found] = q
                    out_row[found] = row
                    out_distance[found] = d
                found += 1
    return found


@numba.njit(nogil=True, cache=True)
def _super_scan(
    hb, lo0, low0, w1, w2, w3, offsets, queries, threshold, out_query, out_row, out_distance
):  # pragma: no cover - compiled
    """The linear scan over the main order, for thresholds above 31."""
    found = 0
    for b in range(offsets.shape[1] - 1):
        for row in range(offsets[0, b], offsets[0, b + 1]):
            for q in range(queries.shape[0]):
                d = _distance(queries[q], b, row, hb, lo0, low0, w1, w2, w3)
                if d <= threshold:
                    if found < out_row.shape[0]:
                        out_query[found] = q
                        out_row[found] = row
                        out_distance[found] = d
                    found += 1
    return found


def _probe_masks(hb: int) -> tuple[np.ndarray, np.ndarray]:
    """Every `hb`-bit mask with at most MAX_PROBE_RADIUS bits set, by popcount."""
    masks, counts = [0], [0]
    for a in range(1, MAX_PROBE_RADIUS + 1):
        for bits in itertools.combinations(range(hb), a):
            masks.append(sum(1 << b for b in bits))
            counts.append(a)
    return np.array(masks, dtype=np.uint64), np.array(counts, dtype=np.int64)


class MultiIndex(MatchIndex):
    """Multi-index hashing for PDQ (256 bits) in about 62 bytes per entry.

    The hash is cut into eight 32-bit super-chunks; a match within `t` bits has one within
    `t // 8` (3 at PDQ's 31). Table 0 is the list itself, grouped ("bucketed") by the top `hb`
    bits of super-chunk 0 (`hb` from 8 to 20 bits by list size, buckets of about 100 entries):
    those bits are implied by the bucket, so a row stores only the rest, `lo0` (2 bytes),
    `low0` (the low half of word 0, 4 bytes) and the three other 64-bit words (24 bytes), plus
    its entry id (4 bytes). Tables 1..7 group the rows by the top `hb` bits of super-chunks 1..7
    and hold one uint32 tag per row each (28 bytes): the super-chunk's other bits, checked
    without touching the row, and the row's bucket in table 0, scanned to find the row when
    they agree. Offsets (8 x 2**hb uint32) are 33.5 MB at most. The lookup and its checks are
    compiled loops (numba); a batch of queries is looked up at once, its probes ordered by
    bucket and its reads prefetched (`_super_lookup_sorted`); the build is counting sorts,
    linear in the list.
    """

    ARRAYS = ("lo0", "low0", "w1", "w2", "w3", "ids", "tags", "offsets")
    bits = 256
    max_threshold = 31

    def __init__(self, arrays: dict[str, np.ndarray]):
        self.lo0, self.low0 = arrays["lo0"], arrays["low0"]
        self.w1, self.w2, self.w3 = arrays["w1"], arrays["w2"], arrays["w3"]
        self.ids, self.tags, self.offsets = arrays["ids"], arrays["tags"], arrays["offsets"]
        self.hb = int(np.log2(self.offsets.shape[1] - 1))
        self._masks = _probe_masks(self.hb)

    @property
    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in self.ARRAYS}

    @classmethod
    def build(cls, entries: Iterable[tuple[str, int]], *, bits: int = 256) -> MultiIndex:
        words, ids = arrays_from_rows(entries, bits)
        return cls.from_arrays(words, ids, bits=bits)

    @classmethod
    def from_arrays(cls, words: np.ndarray, ids: np.ndarray, *, bits: int = 256) -> MultiIndex:
        return cls(multi_index_arrays(words, ids, bits=bits))

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    @property
    def nbytes(self) -> int:
        return sum(int(a.nbytes) for a in self.arrays.values())

    def query(self, hashes: Sequence[str], threshold: int) -> list[IndexMatch]:
        if not hashes:
            return []
        return self.query_words(hex_to_words(list(hashes), self.bits), threshold)

    def query_words(self, queries: np.ndarray, threshold: int) -> list[IndexMatch]:
        """`query` for an (n, 4) uint64 array of hashes, looked up at once with the reads of
        the whole batch overlapped (`_super_lookup_sorted`)."""
        if not len(self) or threshold < 0 or not len(queries):
            return []
        queries = np.ascontiguousarray(queries, dtype=np.uint64)
        # a match is reported once per super-chunk that finds it (up to eight): room for a
        # few matches per query, so a batch is not looked up twice for want of space
        capacity = 64 * len(queries) + 192
        while True:
            out_query = np.empty(capacity, dtype=np.int64)
            out_row = np.empty(capacity, dtype=np.int64)
            out_distance = np.empty(capacity, dtype=np.int64)
            common = (self.hb, self.lo0, self.low0, self.w1, self.w2, self.w3)
            if threshold <= self.max_threshold:
                masks, counts = self._masks
                found = _super_lookup_sorted(
                    *common,
                    self.tags,
                    self.offsets,
                    masks,
                    counts,
                    queries,
                    threshold,
                    out_query,
                    out_row,
                    out_distance,
                )
            else:
                found = _super_scan(
                    *common, self.offsets, queries, threshold, out_query, out_row, out_distance
                )
            if found <= capacity:
                break
            capacity = found
        owner, rows, distance = out_query[:found], out_row[:found], out_distance[:found]
        # an entry found through several super-chunks appears once per one: keep one
        _, first = np.unique(owner * len(self) + rows, return_index=True)
        return sorted(
            IndexMatch(int(q), int(self.ids[row]), int(dist))
            for q, row, dist in zip(owner[first], rows[first], distance[first], strict=True)
        )


def multi_index_arrays(
    words: np.ndarray, ids: np.ndarray, *, bits: int = 256
) -> dict[str, np.ndarray]:
    """The `MultiIndex` arrays from (n, 4) uint64 `words` and `ids` (counting sorts: linear).

    Peak memory beyond the inputs and the result: about 13 bytes per entry (a permutation,
    keys and the row buckets, one table at a time).
    """
    if bits != 256:
        raise ValueError("MultiIndex is for 256-bit hashes")
    words = np.asarray(words, dtype=np.uint64).reshape(-1, 4)
    n = int(words.shape[0])
    if n >= 2**32:
        raise ValueError("MultiIndex holds at most 2**32 - 1 entries")
    hb = bucket_bits(n)
    first = np.ascontiguousarray(words[:, 0])
    perm, offsets0 = _sort_super((first >> np.uint64(32)).astype(np.uint32), hb)
    lo_dtype = np.uint16 if hb >= 16 else np.uint32  # always uint16 with MIN_BUCKET_BITS 16
    sorted_first = first[perm]
    del first
    lo0 = ((sorted_first >> np.uint64(32)) & np.uint64((1 << (32 - hb)) - 1)).astype(lo_dtype)
    low0 = (sorted_first & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    del sorted_first
    w1, w2, w3 = (np.ascontiguousarray(words[:, k][perm]) for k in (1, 2, 3))
    ids = np.asarray(ids)
    if ids.size and ids.min() >= 0 and ids.max() < 2**32:
        ids = ids.astype(np.uint32)
    ids = ids[perm]
    del perm
    tags = np.empty((SUPER_CHUNKS - 1, n), dtype=np.uint32)
    offsets = np.empty((SUPER_CHUNKS, (1 << hb) + 1), dtype=np.uint32)
    offsets[0] = offsets0
    _build_tags(hb, lo0, low0, w1, w2, w3, offsets0, tags, offsets)
    return {
        "lo0": lo0,
        "low0": low0,
        "w1": w1,
        "w2": w2,
        "w3": w3,
        "ids": ids,
        "tags": tags,
        "offsets": offsets,
    }


class ExactIndex(MatchIndex):
    def __init__(self, table: dict[str, list[int]], bits: int):
        self.table = table
        self.bits = bits

    @classmethod
    def build(cls, entries: Iterable[tuple[str, int]], *, bits: int) -> ExactIndex:
        table: dict[str, list[int]] = {}
        for value, entry in entries:
            table.setdefault(value.lower(), []).append(entry)
        return cls(table, bits)

    def __len__(self) -> int:
        return sum(len(v) for v in self.table.values())

    @property
    def nbytes(self) -> int:
        return len(self.table) * (self.bits // 8 + 100)

    def query(self, hashes: Sequence[str], threshold: int = 0) -> list[IndexMatch]:
        matches = []
        for q, value in enumerate(hashes):
            for entry in self.table.get(value.lower(), ()):
                matches.append(IndexMatch(q, entry, 0))
        return sorted(matches)


_WARM = threading.Lock()
_warmed = False


def warm_up() -> None:
    """Load the compiled matching loops now (once per process), not at the first check.

    numba compiles on a function's first call; with `cache=True` that is a load of the
    machine code from `__pycache__` after the first run on a host, but a process's first call
    still costs numba's own start (about 0.3 s, several seconds when compiling). A web process
    or worker calls this as it starts (`snapshots.configure`), so the first check after a
    list is imported answers as fast as the next one.
    """
    global _warmed
    with _WARM:
        if _warmed:
            return
        hashes = ["0f" * 32, "f0" * 32]
        built = ChunkIndex.from_index(
            HammingIndex.build(zip(hashes, (1, 2), strict=True), bits=256)
        )
        # Matcher processes map snapshots read-only, which numba compiles (and caches) apart
        # from writable arrays: those are the loops to have ready.
        mapped = ChunkIndex.__new__(ChunkIndex)
        mapped.__dict__.update(built.__dict__)
        mapped.columns = [_read_only(column) for column in built.columns]
        mapped.order, mapped.offsets = _read_only(built.order), _read_only(built.offsets)
        mapped.query(hashes[:1], 31)  # the 16-bit chunk lookup (64-bit hashes)
        HammingIndex.query(mapped, hashes[:1], 31)  # the scan
        words = hex_to_words(hashes, 256)
        arrays = multi_index_arrays(words, np.arange(2))
        MultiIndex({k: _read_only(v) for k, v in arrays.items()}).query(hashes[:1], 31)
        _warmed = True


def _read_only(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.setflags(write=False)
    return view


def build_index(
    algorithm, entries: tuple[np.ndarray, np.ndarray] | Iterable[tuple[str, int]]
) -> MatchIndex:
    """The right index for an algorithm (`hostguard.hashing.algorithms.HashAlgorithm`).

    `entries` is `(words, ids)`: an (n, bits/64) uint64 array and an integer array, as
    `hostguard.hashing.loading.entry_arrays` reads them; an iterable of (hex, id) pairs is
    still taken (read in batches into arrays; exact-digest lists are always read that way).
    Perceptual lists of `MULTI_INDEX_MIN_ENTRIES` or more get a multi-index: PDQ a
    `MultiIndex` (about 62 bytes per entry), 64-bit hashes a `ChunkIndex`; smaller ones a
    `HammingIndex`.
    """
    if (
        isinstance(entries, tuple)
        and len(entries) == 2
        and isinstance(entries[0], np.ndarray)
        and isinstance(entries[1], np.ndarray)
    ):
        if algorithm.exact:
            raise TypeError("exact-digest indexes are built from (hex, id) pairs")
        words, ids = entries[0], entries[1]
    elif algorithm.exact:
        return ExactIndex.build(entries, bits=algorithm.bits)
    else:
        words, ids = arrays_from_rows(entries, algorithm.bits)
    n = int(np.asarray(ids).shape[0])
    if n >= MULTI_INDEX_MIN_ENTRIES and algorithm.bits == MultiIndex.bits:
        return MultiIndex.from_arrays(words, ids, bits=algorithm.bits)
    index = HammingIndex.from_arrays(words, ids, bits=algorithm.bits)
    if n >= MULTI_INDEX_MIN_ENTRIES and algorithm.bits % CHUNK_BITS == 0:
        return ChunkIndex.from_index(index)
    return index
