"""Match indexes: find list entries within a Hamming distance of query hashes.

Two implementations of one small interface: `HammingIndex` for perceptual hashes (a
vectorised numpy scan over 64-bit words, 32 bytes per PDQ hash plus the entry id) and
`ExactIndex` for digests (a dict). Both are built from `(hex hash, entry id)` pairs.

The Hamming scan reads the first two words of every entry in cache-sized blocks, keeps rows
whose partial distance is within the threshold (a necessary condition, since distances only
grow with more words) and checks the remaining words for those few candidates only.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

BLOCK_ROWS = 1 << 16


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
        pairs = list(entries)
        hexes = [h for h, _ in pairs]
        ids = np.fromiter((i for _, i in pairs), dtype=np.int64, count=len(pairs))
        return cls.from_arrays(hex_to_words(hexes, bits), ids, bits=bits)

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
        queries = hex_to_words(list(hashes), self.bits)
        prefix = min(2, self.word_count)
        total = len(self)
        size = min(BLOCK_ROWS, total)
        scratch = np.empty(size, dtype=np.uint64)
        count = np.empty(size, dtype=np.uint8)
        extra = np.empty(size, dtype=np.uint8)
        found: list[tuple[int, np.ndarray]] = []
        for start in range(0, total, size):
            stop = min(total, start + size)
            n = stop - start
            buf, acc, add = scratch[:n], count[:n], extra[:n]
            for q, query in enumerate(queries):
                np.bitwise_xor(self.columns[0][start:stop], query[0], out=buf)
                np.bitwise_count(buf, out=acc)
                for w in range(1, prefix):
                    np.bitwise_xor(self.columns[w][start:stop], query[w], out=buf)
                    np.bitwise_count(buf, out=add)
                    acc += add
                if acc.min() <= threshold:
                    found.append((q, np.flatnonzero(acc <= threshold) + start))
        matches = []
        for q, rows in found:
            distance = np.zeros(rows.shape[0], dtype=np.int64)
            for w in range(self.word_count):
                distance += np.bitwise_count(self.columns[w][rows] ^ queries[q][w])
            keep = distance <= threshold
            for row, dist in zip(rows[keep], distance[keep], strict=True):
                matches.append(IndexMatch(q, int(self.ids[row]), int(dist)))
        return sorted(matches)


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


def build_index(algorithm, entries: Iterable[tuple[str, int]]) -> MatchIndex:
    """The right index for an algorithm (`hostguard.hashing.algorithms.HashAlgorithm`)."""
    kind = ExactIndex if algorithm.exact else HammingIndex
    return kind.build(entries, bits=algorithm.bits)
