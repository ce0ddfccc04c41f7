"""Match indexes: find list entries within a Hamming distance of query hashes.

Three implementations of one small interface, all built from `(hex hash, entry id)` pairs:

- `HammingIndex` for perceptual hashes: a vectorised numpy scan over 64-bit words, 32 bytes
  per PDQ hash plus a 4-byte entry id. Any threshold; cost grows with the list.
- `MultiIndex` (multi-index hashing) for large perceptual lists at small thresholds: the
  same words plus, per 16-bit chunk of the hash, a counting-sort permutation of the entries
  (4 bytes per entry per chunk: 64 bytes per PDQ hash) and its bucket offsets. By pigeonhole
  an entry within distance `2 * chunks - 1` (31 for PDQ, 7 for 64-bit hashes) of a query
  has some chunk within one bit of the query's chunk, so looking up each chunk's value and
  its one-bit neighbours finds every candidate; candidates are then checked with the exact
  distance by compiled loops (numba), one word at a time over all of a query's candidates,
  dropping the rows that a word takes over the threshold. Larger thresholds fall back to
  the scan.
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
from numba import types
from numba.extending import intrinsic

BLOCK_ROWS = 1 << 15  # rows per scan call: two columns of a block stay in cache for every query


@intrinsic
def _popcount(typingctx, value):
    """The CPU's population count on a uint64 (LLVM ctpop)."""
    sig = types.uint64(types.uint64)

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

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


class MultiIndex(HammingIndex):
    """Multi-index hashing over 16-bit chunks (see the module docstring); scans when it must.

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
    def from_index(cls, index: HammingIndex) -> MultiIndex:
        """A MultiIndex over the arrays of `index` (shared, not copied) plus new tables."""
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
        built = MultiIndex.from_index(
            HammingIndex.build(zip(hashes, (1, 2), strict=True), bits=256)
        )
        # Matcher processes map snapshots read-only, which numba compiles (and caches) apart
        # from writable arrays: those are the loops to have ready.
        mapped = MultiIndex.__new__(MultiIndex)
        mapped.__dict__.update(built.__dict__)
        mapped.columns = [_read_only(column) for column in built.columns]
        mapped.order, mapped.offsets = _read_only(built.order), _read_only(built.offsets)
        mapped.query(hashes[:1], 31)  # the chunk lookup
        HammingIndex.query(mapped, hashes[:1], 31)  # the scan
        _warmed = True


def _read_only(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.setflags(write=False)
    return view


def build_index(algorithm, entries: Iterable[tuple[str, int]]) -> MatchIndex:
    """The right index for an algorithm (`hostguard.hashing.algorithms.HashAlgorithm`).

    Perceptual lists of `MULTI_INDEX_MIN_ENTRIES` or more get a `MultiIndex` (faster at the
    usual thresholds, about 2.7 times the memory); smaller ones a `HammingIndex`.
    """
    if algorithm.exact:
        return ExactIndex.build(entries, bits=algorithm.bits)
    index = HammingIndex.build(entries, bits=algorithm.bits)
    if len(index) >= MULTI_INDEX_MIN_ENTRIES and algorithm.bits % CHUNK_BITS == 0:
        return MultiIndex.from_index(index)
    return index
