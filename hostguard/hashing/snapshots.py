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

Large lists are matched with a `MultiIndex` (multi-index hashing), whose lookup tables
(a uint32 row permutation per 16-bit chunk, 64 bytes per PDQ entry, and bucket offsets) are
written beside the words as `<key>.order.npy` and `<key>.offsets.npy` and mapped the same
way, so the processes of a host share them too.

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
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from sqlalchemy import event

from hostguard.hashing import index as index_module
from hostguard.hashing.index import (
    CHUNK_BITS,
    HammingIndex,
    MultiIndex,
    arrays_from_rows,
    build_index,
    build_tables,
)

log = logging.getLogger(__name__)

_DIRECTORY: Path | None = None


def configure(directory: Path | str | None) -> None:
    """Turn sharing on for this process (web processes and workers call this at start)."""
    global _DIRECTORY
    _DIRECTORY = Path(directory) if directory else None
    if _DIRECTORY is not None:
        _DIRECTORY.mkdir(parents=True, exist_ok=True)
        # a matcher process: have the compiled lookups ready before the first check needs them
        threading.Thread(target=index_module.warm_up, name="index-warm-up", daemon=True).start()


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


def _arrays(rows: Iterable[tuple[str, int]], bits: int) -> tuple[np.ndarray, np.ndarray]:
    return arrays_from_rows(rows, bits)


def publish_on_commit(
    *,
    session,
    hash_list,
    algorithm,
    rows: Callable[[], Iterable],
    delta: Callable[[], tuple[int, Sequence[int], Callable[[], Iterable]] | None] | None = None,
    forget: Callable[[], None] | None = None,
) -> bool:
    """Leave the snapshot of `hash_list`'s version written once `session` commits.

    So the list is live at once: the first check after an import (in any process of the host)
    and every `hostguard scan` map the files instead of reading the list from the database.
    The entries are read in the committing transaction, just before it commits, so they are
    the version's; the files are written only after the commit succeeded (a rolled-back
    version number is used again by the next change, so it must never get a snapshot). Large
    lists get their multi-index tables written too. Returns False (nothing to do) where
    sharing is off in this process or the algorithm has no index snapshot.

    `delta()`, called at that moment, may give (the version the transaction started from, the
    ids of the entries it removed, a callable giving the (hash, id) rows it added): the new
    snapshot is then the base version's snapshot without the removed rows plus the added ones
    (numpy, no per-entry Python object but for the added rows), when that snapshot exists and
    no other transaction changed the list in between; otherwise the list is read whole.
    """
    directory = _DIRECTORY
    if directory is None or algorithm.exact or algorithm.bits % 64:
        return False
    list_id = hash_list.id
    found: dict = {}

    def read(_session) -> None:
        current = _session.get(type(hash_list), list_id)
        changes = delta() if delta is not None else None
        if current is None:  # removed in the same transaction
            return
        bind = _session.get_bind()
        found["key"] = _list_key(bind, current, algorithm)
        arrays = None
        if changes is not None and changes[0] == current.version - 1:
            base_key = _list_key(bind, current, algorithm, version=changes[0])
            arrays = _derived(directory, base_key, changes[1], changes[2], algorithm.bits)
        found["arrays"] = arrays if arrays is not None else _arrays(rows(), algorithm.bits)

    def write(_session) -> None:
        if "key" not in found:
            return
        key = found["key"]
        try:
            words, ids = mapped_arrays(key, lambda: found.pop("arrays"), directory=directory)
            if (
                len(ids) >= index_module.MULTI_INDEX_MIN_ENTRIES
                and algorithm.bits % CHUNK_BITS == 0
            ):
                mapped_tables(key, words, algorithm.bits, directory=directory)
        except OSError as exc:  # the list still works: the first check builds it instead
            log.warning("could not write index snapshot %s: %s", key, exc)
        found.clear()

    def drop(_session, _transaction) -> None:
        found.clear()
        if forget is not None:
            forget()

    event.listen(session, "before_commit", read, once=True)
    event.listen(session, "after_commit", write, once=True)
    event.listen(session, "after_soft_rollback", drop, once=True)
    return True


def _derived(
    directory: Path,
    base_key: str,
    removed: Sequence[int],
    added: Callable[[], Iterable[tuple[str, int]]],
    bits: int,
) -> tuple[np.ndarray, np.ndarray] | None:
    """(words, ids) of the base snapshot without the `removed` ids, plus the `added` rows;
    None when the base snapshot is not there (never written, or already replaced)."""
    words_path, ids_path = _paths(directory, base_key)
    if not words_path.exists():
        return None
    try:
        old_words, old_ids = _map(words_path), _map(ids_path)
    except (OSError, ValueError):  # removed meanwhile by a newer version's writer
        return None
    if len(removed):
        keep = ~np.isin(old_ids, np.asarray(removed, dtype=np.int64))
        old_words, old_ids = old_words[keep], old_ids[keep]
    new_words, new_ids = arrays_from_rows(added(), bits)
    return (
        np.concatenate([np.asarray(old_words), new_words]),
        np.concatenate([np.asarray(old_ids, dtype=np.int64), new_ids]),
    )


def shared_index(*, session, hash_list, algorithm, rows: Callable[[], Iterable[tuple[str, int]]]):
    """The match index for `hash_list`, sharing its hash matrix with the host's other processes.

    The hook for `hostguard.hashing.service.index_for`: replace its
    `rows = ...; index = build_index(get_algorithm(...), rows)` with

        index = shared_index(session=session, hash_list=hash_list,
                             algorithm=get_algorithm(hash_list.algorithm),
                             rows=lambda: session.execute(select(HashEntry.hash, HashEntry.id)
                                                          .where(HashEntry.list_id == hash_list.id)).all())

    Exact-digest lists, and processes where sharing is not configured, get the ordinary
    `build_index` result. `rows` is called only when a snapshot has to be written.
    """
    directory = _DIRECTORY
    if directory is None or algorithm.exact or algorithm.bits % 64:
        return build_index(algorithm, rows())
    key = _list_key(session.get_bind(), hash_list, algorithm)
    words, ids = mapped_arrays(key, lambda: _arrays(rows(), algorithm.bits), directory=directory)
    # The constructors take column views of the Fortran-ordered mapping without copying.
    if len(ids) >= index_module.MULTI_INDEX_MIN_ENTRIES and algorithm.bits % CHUNK_BITS == 0:
        order, offsets = mapped_tables(key, words, algorithm.bits, directory=directory)
        return MultiIndex(words, ids, algorithm.bits, order, offsets)
    return HammingIndex(words, ids, algorithm.bits)
