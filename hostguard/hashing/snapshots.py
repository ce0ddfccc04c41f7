"""Match-index snapshots shared by every process on a host through memory-mapped files.

Each matcher process keeps an in-memory index per hash list and rebuilds it when the list's
version changes. Built naively, eight processes hold eight copies of a 10-million-entry
list (320 MB each for PDQ). Instead, the first process to need a list version writes its
packed hash matrix once to `<index dir>/<key>.words.npy` (uint64, column-major so each
64-bit word column is contiguous, which is what `HammingIndex` scans) and
`<key>.ids.npy`; every process then maps the files read-only (`_map`: like
`numpy.load(mmap_mode="r")`, with the pages entered at once) and builds its `HammingIndex` on
the mapped arrays without copying them. The kernel's page
cache holds one copy for all processes, and a restarted process maps it again in
milliseconds instead of reading the list from the database.

The key names the database, the list, its version and creation time, so a new version is
a new file; files of older versions are removed when a newer one is written (processes
still using them keep their mapping until they let go).

Large PDQ lists are matched with a `MultiIndex` (multi-index hashing over 32-bit
super-chunks, about 62 bytes per entry), whose arrays replace the words: snapshot format 2
writes them as `<key>.mi2.<array>.npy` (`offsets` last: its presence means complete) and no
`words`/`ids` files. A format-1 snapshot of a large PDQ list (`words`, `ids`, `order`,
`offsets`, the 100-byte-per-entry chunk index) found on disk is converted once, from the
mapped words without reading the database, and its files removed. Large lists of 64-bit
hashes keep the 16-bit chunk index (`ChunkIndex`), whose tables are written beside the
words as `<key>.order.npy` and `<key>.offsets.npy`.

Hook for the hashing index: `shared_index(...)` below (see its docstring).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import mmap
import os
import re
import threading
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import event

from hostguard.hashing import hasher
from hostguard.hashing import index as index_module
from hostguard.hashing.index import (
    CHUNK_BITS,
    ChunkIndex,
    HammingIndex,
    MultiIndex,
    arrays_from_rows,
    bucket_bits,
    build_index,
    build_tables,
    multi_index_arrays,
)

log = logging.getLogger(__name__)

_DIRECTORY: Path | None = None


def configure(directory: Path | str | None) -> None:
    """Turn sharing on for this process (web processes and workers call this at start)."""
    global _DIRECTORY
    _DIRECTORY = Path(directory) if directory else None
    if _DIRECTORY is not None:
        _DIRECTORY.mkdir(parents=True, exist_ok=True)
        # a matcher process: have the compiled lookups and hashing loops ready before the
        # first check needs them
        threading.Thread(target=_warm_up, name="index-warm-up", daemon=True).start()


def _warm_up() -> None:
    index_module.warm_up()
    hasher.warm_up()


def configured_directory() -> Path | None:
    return _DIRECTORY


def directory_for(settings) -> Path:
    return Path(settings.index_dir) if settings.index_dir else settings.data_dir / "index"


def _safe(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", value)[:80]


def snapshot_key(
    *, database_url: str, list_id: int, version: int, created_at, algorithm: str
) -> str:
    """A file-name-safe key that changes whenever the list's entries may have changed."""
    db = hashlib.sha256(database_url.encode()).hexdigest()[:12]
    stamp = int(created_at.timestamp() * 1_000_000) if created_at is not None else 0
    return f"{db}-list{list_id}-{_safe(algorithm)}-c{stamp}-v{version}"


@contextmanager
def _exclusive(path: Path):
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _paths(directory: Path, key: str) -> tuple[Path, Path]:
    return directory / f"{key}.words.npy", directory / f"{key}.ids.npy"


def _write(directory: Path, key: str, words: np.ndarray, ids: np.ndarray) -> None:
    words_path, ids_path = _paths(directory, key)
    tmp = f".tmp-{os.getpid()}"
    ids_tmp, words_tmp = (
        ids_path.with_name(ids_path.name + tmp),
        words_path.with_name(words_path.name + tmp),
    )
    with open(ids_tmp, "wb") as fh:
        np.save(fh, ids)
    with open(words_tmp, "wb") as fh:
        np.save(fh, np.asfortranarray(words, dtype=np.uint64))
    os.replace(ids_tmp, ids_path)
    os.replace(words_tmp, words_path)  # last: its presence means the snapshot is complete


def _remove_older(directory: Path, key: str) -> None:
    prefix = key.rsplit("-v", 1)[0] + "-v"
    for path in directory.glob(f"{prefix}*.npy"):
        if not path.name.startswith(key + "."):
            path.unlink(missing_ok=True)


def mapped_arrays(
    key: str, build: Callable[[], tuple[np.ndarray, np.ndarray]], *, directory: Path | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(words, ids) memory-mapped from the snapshot `key`; `build()` runs only if it is missing.

    `build` returns `words` as an (n, w) uint64 array and `ids` as an integer array. One
    process builds and writes the snapshot while the others wait on a file lock, then all
    map the same files.
    """
    directory = directory or _DIRECTORY
    if directory is None:
        raise RuntimeError("index snapshots are not configured in this process")
    directory.mkdir(parents=True, exist_ok=True)
    words_path, ids_path = _paths(directory, key)
    if not words_path.exists():
        with _exclusive(directory / f"{key}.lock"):
            if not words_path.exists():
                words, ids = build()
                ids = np.asarray(ids)
                if ids.size and ids.min() >= 0 and ids.max() < 2**32:
                    ids = ids.astype(np.uint32)
                _write(directory, key, words, ids)
                _remove_older(directory, key)
                log.info("wrote index snapshot %s (%d entries)", key, len(ids))
        (directory / f"{key}.lock").unlink(missing_ok=True)
    return _map(words_path), _map(ids_path)


def _map(path: Path) -> np.ndarray:
    """The .npy file mapped read-only, its pages entered into this process's page table at
    once (MAP_POPULATE, where the platform has it): a few milliseconds for a 1 M-entry list's
    files already in the page cache, where faulting them in one by one as the first queries
    touch them cost the first check after an import several times a warm one."""
    populate = getattr(mmap, "MAP_POPULATE", 0)
    if not populate:
        return np.load(path, mmap_mode="r")
    with open(path, "rb") as handle:
        version = np.lib.format.read_magic(handle)
        if version not in ((1, 0), (2, 0)):
            return np.load(path, mmap_mode="r")
        read_header = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        shape, fortran, dtype = read_header(handle)
        offset = handle.tell()
        if not int(np.prod(shape)) or dtype.hasobject:
            return np.load(path, mmap_mode="r")
        mapping = mmap.mmap(
            handle.fileno(), 0, flags=mmap.MAP_SHARED | populate, prot=mmap.PROT_READ
        )
    return np.ndarray(shape, dtype, buffer=mapping, offset=offset, order="F" if fortran else "C")


def _tables_paths(directory: Path, key: str) -> tuple[Path, Path]:
    return directory / f"{key}.order.npy", directory / f"{key}.offsets.npy"


def mapped_tables(
    key: str, words: np.ndarray, bits: int, *, directory: Path | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(order, offsets) of the `MultiIndex` for snapshot `key`, built from `words` if missing."""
    directory = directory or _DIRECTORY
    if directory is None:
        raise RuntimeError("index snapshots are not configured in this process")
    order_path, offsets_path = _tables_paths(directory, key)
    if not order_path.exists():
        with _exclusive(directory / f"{key}.tables.lock"):
            if not order_path.exists():
                order, offsets = build_tables(words, bits)
                tmp = f".tmp-{os.getpid()}"
                for path, array in ((offsets_path, offsets), (order_path, order)):
                    with open(path.with_name(path.name + tmp), "wb") as fh:
                        np.save(fh, array)
                    os.replace(path.with_name(path.name + tmp), path)  # order last: complete
        (directory / f"{key}.tables.lock").unlink(missing_ok=True)
    return _map(order_path), _map(offsets_path)


def _list_key(bind, hash_list, algorithm, *, version: int | None = None) -> str:
    return snapshot_key(
        database_url=bind.url.render_as_string(hide_password=True),
        list_id=hash_list.id,
        version=hash_list.version if version is None else version,
        created_at=hash_list.created_at,
        algorithm=algorithm.name,
    )


SNAPSHOT_FORMAT = 2  # 1: words, ids (+ order, offsets) for every list; 2: `mi2` for large PDQ
MULTI_TAG = "mi2"

ArraysLoader = Callable[[], tuple[np.ndarray, np.ndarray]]


def _wants_multi(algorithm, entries: int) -> bool:
    return algorithm.bits == MultiIndex.bits and entries >= index_module.MULTI_INDEX_MIN_ENTRIES


def _wants_chunks(algorithm, entries: int) -> bool:
    return (
        algorithm.bits != MultiIndex.bits
        and entries >= index_module.MULTI_INDEX_MIN_ENTRIES
        and algorithm.bits % CHUNK_BITS == 0
    )


def _multi_paths(directory: Path, key: str) -> dict[str, Path]:
    return {name: directory / f"{key}.{MULTI_TAG}.{name}.npy" for name in MultiIndex.ARRAYS}


def _write_multi(directory: Path, key: str, arrays: dict[str, np.ndarray]) -> None:
    paths = _multi_paths(directory, key)
    tmp = f".tmp-{os.getpid()}"
    for name in MultiIndex.ARRAYS:  # `offsets` is last: its presence means complete
        part = paths[name].with_name(paths[name].name + tmp)
        with open(part, "wb") as fh:
            np.save(fh, arrays[name])
        os.replace(part, paths[name])


def _map_multi(directory: Path, key: str) -> MultiIndex:
    return MultiIndex({name: _map(path) for name, path in _multi_paths(directory, key).items()})


def _remove_format_1(directory: Path, key: str) -> None:
    for suffix in ("words", "ids", "order", "offsets"):
        (directory / f"{key}.{suffix}.npy").unlink(missing_ok=True)


def _narrow(ids: np.ndarray) -> np.ndarray:
    ids = np.asarray(ids)
    if ids.size and ids.min() >= 0 and ids.max() < 2**32:
        return ids.astype(np.uint32)
    return ids


def _snapshot(key: str, algorithm, load: Callable[[], Any], directory: Path):
    """The index of snapshot `key`, mapped; written first (from `load()`) if missing.

    `load()` gives (words, ids), or a format-2 multi-index's arrays ready to write."""
    multi_done = _multi_paths(directory, key)["offsets"]
    words_path, _ids_path = _paths(directory, key)
    lock = directory / f"{key}.lock"
    for _attempt in range(3):  # a file can be converted and removed between look and map
        try:
            if multi_done.exists():
                return _map_multi(directory, key)
            if not words_path.exists():
                with _exclusive(lock):
                    if not multi_done.exists() and not words_path.exists():
                        loaded = load()
                        if isinstance(loaded, dict):  # multi-index arrays merged already
                            _write_multi(directory, key, loaded)
                            count = len(loaded["ids"])
                        else:
                            words, ids = loaded
                            ids = _narrow(ids)
                            if _wants_multi(algorithm, len(ids)):
                                _write_multi(directory, key, multi_index_arrays(words, ids))
                            else:
                                _write(directory, key, words, ids)
                            count = len(ids)
                        _remove_older(directory, key)
                        log.info("wrote index snapshot %s (%d entries)", key, count)
                lock.unlink(missing_ok=True)
                if multi_done.exists():
                    return _map_multi(directory, key)
            words, ids = _map(words_path), _map(_paths(directory, key)[1])
            if _wants_multi(algorithm, len(ids)):  # a format-1 snapshot: convert it once
                with _exclusive(lock):
                    if not multi_done.exists():
                        _write_multi(directory, key, multi_index_arrays(words, ids))
                        _remove_format_1(directory, key)
                        log.info("converted index snapshot %s to format 2", key)
                lock.unlink(missing_ok=True)
                return _map_multi(directory, key)
            if _wants_chunks(algorithm, len(ids)):
                order, offsets = mapped_tables(key, words, algorithm.bits, directory=directory)
                return ChunkIndex(words, ids, algorithm.bits, order, offsets)
            return HammingIndex(words, ids, algorithm.bits)
        except FileNotFoundError:
            continue
    raise RuntimeError(f"index snapshot {key} keeps changing under this process")


def _loader(bits: int, rows=None, arrays: ArraysLoader | None = None) -> ArraysLoader:
    if arrays is not None:
        return arrays
    if rows is None:
        raise TypeError("give rows or arrays")
    return lambda: arrays_from_rows(rows(), bits)


@dataclass
class ListChanges:
    """What one transaction changed in a list's entries, so its snapshot can be derived.

    The snapshot holds each entry's hash and id only, and an entry's hash never changes in
    place (a changed ref, label or state keeps both), so a version differs from the one
    before it by the entries removed (`removed`: their ids) and added (`added`: their
    hashes). `base_version` is the list's version before the transaction's first change and
    `versions` how many versions it made since; `whole` is set once a change did not say what
    it changed, and the list is then read whole.
    """

    base_version: int
    versions: int = 0
    removed: list[int] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    whole: bool = False

    def note(self, removed: Iterable[int] | None, added: Iterable[str] | None) -> None:
        """One more version: these entries went and came (None for both: not said)."""
        self.versions += 1
        if removed is None and added is None:
            self.whole = True
        else:
            self.removed.extend(removed or ())
            self.added.extend(added or ())


def base_arrays(directory: Path, key: str) -> MultiIndex | tuple[np.ndarray, np.ndarray] | None:
    """The snapshot `key` as it is on disk: a format-2 `MultiIndex`, or (words, ids); None
    where it is not there. The arrays are mapped, so a snapshot removed meanwhile stays
    readable."""
    try:
        if _multi_paths(directory, key)["offsets"].exists():
            return _map_multi(directory, key)
        words_path, ids_path = _paths(directory, key)
        if words_path.exists():
            return _map(words_path), _map(ids_path)
    except (OSError, ValueError):  # removed between look and map, or not readable
        return None
    return None


def _multi_words(index: MultiIndex) -> np.ndarray:
    """The (n, 4) uint64 hashes of a `MultiIndex`'s rows, in its row order.

    A format-2 multi-index keeps no hash matrix: a row's first word is put together again
    from its bucket (the top `hb` bits of super-chunk 0, implied by `offsets[0]`), `lo0` (the
    rest of super-chunk 0) and `low0` (the word's low 32 bits)."""
    n, hb = len(index), index.hb
    starts = np.asarray(index.offsets[0], dtype=np.int64)
    sizes = starts[1:] - starts[:-1]
    bucket = np.repeat(np.arange(1 << hb, dtype=np.uint64), sizes)
    super0 = (bucket << np.uint64(32 - hb)) | np.asarray(index.lo0, dtype=np.uint64)
    words = np.empty((n, 4), dtype=np.uint64)
    words[:, 0] = (super0 << np.uint64(32)) | np.asarray(index.low0, dtype=np.uint64)
    words[:, 1], words[:, 2], words[:, 3] = index.w1, index.w2, index.w3
    return words


def derived_arrays(
    base: tuple[np.ndarray, np.ndarray],
    *,
    removed: Iterable[int],
    added: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """(words, ids) of the base version without the `removed` ids, plus the `added` rows.

    numpy only: no Python object per entry, and no read of the list from the database.
    """
    words, ids = base
    gone = np.fromiter(removed, dtype=np.int64)
    if gone.size:
        keep = ~np.isin(np.asarray(ids, dtype=np.int64), gone)
        words, ids = words[keep], ids[keep]
    new_words = np.asarray(added[0], dtype=np.uint64).reshape(-1, words.shape[1])
    return (
        np.concatenate([np.asarray(words, dtype=np.uint64), new_words]),
        np.concatenate([np.asarray(ids, dtype=np.int64), np.asarray(added[1], dtype=np.int64)]),
    )


def _super_chunks(words: np.ndarray) -> list[np.ndarray]:
    """The eight 32-bit super-chunks of (n, 4) uint64 hashes, most significant first."""
    high, low = np.uint64(32), np.uint64(0xFFFFFFFF)
    return [
        ((words[:, j // 2] >> high) if j % 2 == 0 else (words[:, j // 2] & low)).astype(np.uint32)
        for j in range(8)
    ]


def merged_multi_arrays(
    base: MultiIndex,
    *,
    removed: Iterable[int],
    added: tuple[np.ndarray, np.ndarray],
) -> dict[str, np.ndarray] | None:
    """The `MultiIndex` arrays of the base version without the `removed` ids, plus the `added`
    rows, merged into the base's arrays instead of built anew (`multi_index_arrays`, counting
    sorts over every row of eight tables: about 0.6 s at 1 M entries; this about a tenth).

    What it keeps of the layout (see `MultiIndex`): table 0 holds the rows ordered by
    super-chunk 0, bucketed by its top `hb` bits; tables 1..7 hold one tag per row ordered by
    their super-chunk, whose low bits are the tag's high part and whose low `hb` bits name the
    row's table-0 bucket (not its position), so a tag survives rows moving in table 0 and only
    the removed rows' tags go and the added rows' come. None, and the caller builds anew, when
    the bucket width changes with the new size or a removed row's tag is not where it must be.
    """
    hb = base.hb
    low_bits = np.uint32(32 - hb)
    lomask = np.uint32((1 << (32 - hb)) - 1)
    buckets = 1 << hb
    ids = np.asarray(base.ids)
    gone = np.fromiter(removed, dtype=np.int64)
    drop = np.isin(ids.astype(np.int64), gone) if gone.size else np.zeros(len(ids), dtype=bool)
    keep = ~drop
    new_words = np.asarray(added[0], dtype=np.uint64).reshape(-1, 4)
    new_ids = np.asarray(added[1], dtype=np.int64)
    if gone.size and new_ids.size:  # added and removed again in the same transaction
        fresh = ~np.isin(new_ids, gone)
        new_words, new_ids = new_words[fresh], new_ids[fresh]
    total = int(keep.sum()) + len(new_ids)
    if not total or bucket_bits(total) != hb or total >= 2**32:
        return None
    wide = ids.dtype != np.uint32 or (
        new_ids.size and (new_ids.min() < 0 or new_ids.max() >= 2**32)
    )
    id_type = np.int64 if wide else np.uint32

    def counts(keys: np.ndarray) -> np.ndarray:
        offsets = np.zeros(buckets + 1, dtype=np.int64)
        np.cumsum(np.bincount(keys >> low_bits, minlength=buckets), out=offsets[1:])
        return offsets.astype(np.uint32)

    def bucket_of_slots(offsets: np.ndarray) -> np.ndarray:
        starts = np.asarray(offsets, dtype=np.int64)
        return np.repeat(np.arange(buckets, dtype=np.uint32), starts[1:] - starts[:-1])

    # the base rows' super-chunks (table-0 order) and table-0 buckets
    bucket0 = bucket_of_slots(base.offsets[0])
    w1, w2, w3 = (np.asarray(w, dtype=np.uint64) for w in (base.w1, base.w2, base.w3))
    low0 = np.asarray(base.low0, dtype=np.uint32)
    high, lowmask = np.uint64(32), np.uint64(0xFFFFFFFF)
    base_super = [
        (bucket0 << low_bits) | np.asarray(base.lo0, dtype=np.uint32),
        low0,
        (w1 >> high).astype(np.uint32),
        (w1 & lowmask).astype(np.uint32),
        (w2 >> high).astype(np.uint32),
        (w2 & lowmask).astype(np.uint32),
        (w3 >> high).astype(np.uint32),
        (w3 & lowmask).astype(np.uint32),
    ]
    new_super = _super_chunks(new_words)

    # table 0: the kept rows in their order, the new ones inserted after equal keys
    order = np.argsort(new_super[0], kind="stable")
    key0 = base_super[0][keep]
    at = np.searchsorted(key0, new_super[0][order], side="right")
    merged_key0 = np.insert(key0, at, new_super[0][order])
    arrays: dict[str, np.ndarray] = {
        "lo0": np.insert(
            np.asarray(base.lo0)[keep], at, (new_super[0][order] & lomask).astype(base.lo0.dtype)
        ),
        "low0": np.insert(low0[keep], at, new_super[1][order]),
        "w1": np.insert(w1[keep], at, new_words[order, 1]),
        "w2": np.insert(w2[keep], at, new_words[order, 2]),
        "w3": np.insert(w3[keep], at, new_words[order, 3]),
        "ids": np.insert(ids[keep].astype(id_type), at, new_ids[order].astype(id_type)),
    }
    tags = np.empty((7, total), dtype=np.uint32)
    offsets = np.empty((8, buckets + 1), dtype=np.uint32)
    offsets[0] = counts(merged_key0)
    new_bucket0 = new_super[0] >> low_bits
    gone_rows = np.flatnonzero(drop)
    for j in range(1, 8):
        table = np.asarray(base.tags[j - 1])
        keys = (bucket_of_slots(base.offsets[j]) << low_bits) | (table >> np.uint32(hb))
        if gone_rows.size:
            slots = _slots_of(
                keys, table & np.uint32(buckets - 1), base_super[j][gone_rows], bucket0[gone_rows]
            )
            if slots is None:
                return None
            stay = np.ones(len(table), dtype=bool)
            stay[slots] = False
            table, keys = table[stay], keys[stay]
        order = np.argsort(new_super[j], kind="stable")
        at = np.searchsorted(keys, new_super[j][order], side="right")
        fresh_tags = ((new_super[j][order] & lomask) << np.uint32(hb)) | new_bucket0[order]
        tags[j - 1] = np.insert(table, at, fresh_tags)
        offsets[j] = counts(np.insert(keys, at, new_super[j][order]))
    arrays["tags"], arrays["offsets"] = tags, offsets
    return arrays


def _slots_of(
    keys: np.ndarray, slot_buckets: np.ndarray, wanted: np.ndarray, wanted_buckets: np.ndarray
) -> np.ndarray | None:
    """One slot per wanted (super-chunk, table-0 bucket), each slot used once; None if any is
    missing. `keys` (each slot's super-chunk) is ascending, so a key's slots are one range."""
    if len(keys) == 0:
        return None
    first = np.searchsorted(keys, wanted, side="left")
    last = np.searchsorted(keys, wanted, side="right")
    slots = first.copy()
    plain = (last - first == 1) & (slot_buckets[np.minimum(first, len(keys) - 1)] == wanted_buckets)
    taken: set[int] = set()
    for i in np.flatnonzero(~plain):  # a key several slots share (near-duplicate hashes)
        for slot in range(int(first[i]), int(last[i])):
            if slot not in taken and slot_buckets[slot] == wanted_buckets[i]:
                taken.add(slot)
                slots[i] = slot
                break
        else:
            return None
    if np.unique(slots).size != slots.size:
        return None  # two removed rows on one slot: not the layout this expects
    return slots


def publish_on_commit(
    *,
    session,
    hash_list,
    algorithm,
    rows: Callable[[], Iterable] | None = None,
    arrays: ArraysLoader | None = None,
    changes: ListChanges | None = None,
    added_arrays: Callable[[list[str]], tuple[np.ndarray, np.ndarray]] | None = None,
) -> bool:
    """Leave the snapshot of `hash_list`'s version written once `session` commits.

    So the list is live at once: the first check after an import (in any process of the host)
    and every `hostguard scan` map the files instead of reading the list from the database.
    The entries are read in the committing transaction, just before it commits, so they are
    the version's (`arrays()`: (words, ids) numpy arrays; or `rows()`, (hex, id) pairs); the
    files are written only after the commit succeeded (a rolled-back version number is used
    again by the next change, so it must never get a snapshot). Large lists get their
    multi-index written. Returns False (nothing to do) where sharing is off in this process or
    the algorithm has no index snapshot.

    With `changes` (kept up to date by the caller until the commit) and `added_arrays(hashes)`
    (the (words, ids) of the named entries, read in the transaction), the version is derived
    from the base version's snapshot instead (`derived_arrays`): the entries the transaction
    removed are dropped and the ones it added appended, so a change of a few thousand entries
    to a million-entry list costs no read of the list. That is done only when the base
    snapshot is on disk and no other transaction changed the list between (its version is the
    base's plus the transaction's own); otherwise the list is read whole.
    """
    directory = _DIRECTORY
    if directory is None or algorithm.exact or algorithm.bits % 64:
        return False
    list_id = hash_list.id
    load = _loader(algorithm.bits, rows, arrays)
    found: dict = {}

    def read(_session) -> None:
        current = _session.get(type(hash_list), list_id)
        if current is None:  # removed in the same transaction
            return
        bind = _session.get_bind()
        found["key"] = _list_key(bind, current, algorithm)
        found["arrays"] = derive(bind, current) or load()

    def derive(bind, current) -> tuple[np.ndarray, np.ndarray] | dict[str, np.ndarray] | None:
        if changes is None or added_arrays is None or changes.whole:
            return None
        if current.version != changes.base_version + changes.versions:
            return None  # another transaction changed the list too
        base_key = _list_key(bind, current, algorithm, version=changes.base_version)
        base = base_arrays(directory, base_key)
        if base is None:
            return None
        added = added_arrays(sorted(set(changes.added)))
        log.debug("deriving index snapshot of list %s from %s", list_id, base_key)
        if isinstance(base, MultiIndex):
            merged = merged_multi_arrays(base, removed=changes.removed, added=added)
            if merged is not None and _wants_multi(algorithm, len(merged["ids"])):
                return merged
            base = _multi_words(base), np.asarray(base.ids)
        return derived_arrays(base, removed=changes.removed, added=added)

    def write(_session) -> None:
        if "key" not in found:
            return
        key = found["key"]
        try:
            directory.mkdir(parents=True, exist_ok=True)  # removed since the process started
            _snapshot(key, algorithm, lambda: found.pop("arrays"), directory)
        except Exception as exc:  # noqa: BLE001 - the change has committed: never undo that for a cache
            # the list still works: the first check builds its index instead
            log.warning("could not write index snapshot %s: %s", key, exc)
        found.clear()

    def forget(_session, _transaction) -> None:
        found.clear()

    event.listen(session, "before_commit", read, once=True)
    event.listen(session, "after_commit", write, once=True)
    event.listen(session, "after_soft_rollback", forget, once=True)
    return True


def shared_index(
    *,
    session,
    hash_list,
    algorithm,
    rows: Callable[[], Iterable[tuple[str, int]]] | None = None,
    arrays: ArraysLoader | None = None,
):
    """The match index for `hash_list`, sharing its arrays with the host's other processes.

    `arrays()` reads the list as (words, ids) numpy arrays (`hostguard.hashing.loading`); the
    older `rows()` ((hex, id) pairs, read in batches into arrays) still works. Exact-digest
    lists, and processes where sharing is not configured, get the ordinary `build_index`
    result. The loader is called only when a snapshot has to be written.
    """
    directory = _DIRECTORY
    if algorithm.exact:
        if rows is None:
            raise TypeError("exact-digest lists are read as rows")
        return build_index(algorithm, rows())
    load = _loader(algorithm.bits, rows, arrays)
    if directory is None or algorithm.bits % 64:
        words, ids = load()
        return build_index(algorithm, (words, ids))
    key = _list_key(session.get_bind(), hash_list, algorithm)
    return _snapshot(key, algorithm, load, directory)
