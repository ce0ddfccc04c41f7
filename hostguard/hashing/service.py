"""Hash lists and scanning: import, list, remove, scan, remember samples, re-upload, re-match.

Service functions are keyword-only, take the caller's `session` and never commit. Nothing
here returns, logs or puts in an error message the hashes held by a list: list views show
counts and settings, match results name the list and the entry's id or label.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict, cast

from sqlalchemy import Engine, delete, func, insert
from sqlmodel import Session, col, select

from hostguard.audit.service import record
from hostguard.db import is_postgres
from hostguard.db.types import utcnow
from hostguard.errors import Conflict, InvalidInput, NotFound
from hostguard.hashing.algorithms import ALGORITHMS, get_algorithm
from hostguard.hashing.hasher import LOW_QUALITY, FileHashes, hash_blobs, hash_paths
from hostguard.hashing.imaging import DEFAULT_LIMITS, ImageLimits
from hostguard.hashing.index import MatchIndex
from hostguard.hashing.listfiles import parse_list_file
from hostguard.hashing.models import (
    REUPLOAD_LIST,
    HashEntry,
    HashList,
    ListAction,
    RetroactiveHit,
    SampleImageHash,
)
from hostguard.hashing.snapshots import shared_index
from hostguard.instruments import matching_timer
from hostguard.jobs.service import enqueue

if TYPE_CHECKING:
    import psycopg

    from hostguard.runtime import Runtime

REMATCH_JOB = "hashing.rematch"
REUPLOAD_EXACT_LIST = f"{REUPLOAD_LIST}-sha256"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
CHUNK = 5000


class ImportRefused(InvalidInput):
    """An import refused as a whole; `details["summary"]` has the counts and line errors."""


class StrictRefused(ImportRefused):
    """`--strict` import of a file with invalid lines."""

    code = "invalid_lines"


class EmptyReplaceRefused(ImportRefused):
    """`--replace` with a file that has no valid line, which would silently empty the list."""

    code = "empty_replace"


# --- lists -----------------------------------------------------------------------------------


def effective_threshold(hash_list: HashList) -> int:
    algorithm = get_algorithm(hash_list.algorithm)
    if algorithm.exact:
        return 0
    return algorithm.default_threshold if hash_list.threshold is None else hash_list.threshold


class HashListInfo(TypedDict):
    """`describe`: a list's settings and counts, never its hashes."""

    name: str
    algorithm: str
    threshold: int
    threshold_is_default: bool
    action: str
    category: str
    source: str | None
    entries: int
    version: int
    enabled: bool
    internal: bool
    updated_at: str


def describe(hash_list: HashList) -> HashListInfo:
    """What anyone may see about a list: settings and counts, never the hashes."""
    return {
        "name": hash_list.name,
        "algorithm": hash_list.algorithm,
        "threshold": effective_threshold(hash_list),
        "threshold_is_default": hash_list.threshold is None,
        "action": hash_list.action,
        "category": hash_list.category,
        "source": hash_list.source,
        "entries": hash_list.entry_count,
        "version": hash_list.version,
        "enabled": hash_list.enabled,
        "internal": hash_list.internal,
        "updated_at": hash_list.updated_at.isoformat(),
    }


def list_lists(*, session: Session) -> list[HashListInfo]:
    rows = session.exec(select(HashList).order_by(HashList.name)).all()
    return [describe(row) for row in rows]


def get_list(*, session: Session, name: str) -> HashList:
    hash_list = session.exec(select(HashList).where(HashList.name == name)).first()
    if hash_list is None:
        raise NotFound(f"no hash list named {name[:100]!r}", code="hashlist_not_found")
    return hash_list


def _check_settings(algorithm, threshold, action, category) -> None:
    if threshold is not None:
        if algorithm.exact and threshold != 0:
            raise InvalidInput(f"{algorithm.name} is an exact digest: its threshold can only be 0")
        if not 0 <= threshold <= algorithm.bits // 2:
            raise InvalidInput(f"threshold must be between 0 and {algorithm.bits // 2} bits")
    if action is not None and action not in ListAction.__members__.values():
        raise InvalidInput("action must be 'block' or 'review'")
    if category is not None and not re.fullmatch(r"[a-z0-9_-]{1,64}", category):
        raise InvalidInput("category must be 1-64 characters: a-z, 0-9, '_' or '-'")


class InvalidLine(TypedDict):
    line: int
    reason: str


class ImportSummary(TypedDict):
    """`import_list`'s result (and, refused, `ImportRefused.details["summary"]`): counts only.

    A refused import has `imported` false with `added` and `removed` 0; a done one also has
    `created`, `unchanged`, `entries` and `version`.
    """

    list: str
    algorithm: str
    format: str
    valid: int
    invalid: int
    duplicates: int
    errors: list[InvalidLine]
    imported: NotRequired[bool]
    created: NotRequired[bool]
    added: NotRequired[int]
    removed: NotRequired[int]
    unchanged: NotRequired[int]
    entries: NotRequired[int]
    version: NotRequired[int]


def import_list(
    *,
    session: Session,
    actor: str,
    name: str,
    data: bytes | str,
    algorithm: str | None = None,
    threshold: int | None = None,
    category: str | None = None,
    action: str | None = None,
    source: str | None = None,
    replace: bool = False,
    strict: bool = False,
    format: str | None = None,
    allow_empty: bool = False,
) -> ImportSummary:
    """Import a list file in the caller's transaction: all valid lines go in, or nothing does.

    Without `replace` new hashes are added; with it the list is made equal to the file.
    A `replace` with no valid line (an empty file, a wrong format or algorithm) is refused
    unless `allow_empty`: emptying a list silently stops blocking what it lists.
    Returns a summary with counts and the invalid lines (line number and reason).
    """
    if not NAME_RE.match(name or ""):
        raise InvalidInput("list names are 1-100 characters: letters, digits, '.', '_' or '-'")
    category = category.strip().lower() if category else None
    hash_list = session.exec(select(HashList).where(HashList.name == name)).first()
    if hash_list is not None:
        if hash_list.internal:
            raise Conflict(f"{name} is maintained by hostguard and cannot be imported into")
        if algorithm and get_algorithm(algorithm).name != hash_list.algorithm:
            raise Conflict(
                f"list {name} holds {hash_list.algorithm} hashes, not {algorithm}",
                code="algorithm_mismatch",
            )
        alg = get_algorithm(hash_list.algorithm)
    elif not algorithm:
        raise InvalidInput(f"list {name} is new: name its --algorithm")
    else:
        alg = get_algorithm(algorithm)
    _check_settings(alg, threshold, action, category)
    if format is not None and format not in ("text", "csv", "jsonl", "threatexchange"):
        raise InvalidInput("format must be one of text, csv, jsonl, threatexchange")

    parsed = parse_list_file(data, alg, format=format)
    summary: ImportSummary = {
        "list": name,
        "algorithm": alg.name,
        "format": str(parsed.format),
        "valid": len(parsed.entries),
        "invalid": parsed.error_count,
        "duplicates": parsed.duplicates,
        "errors": [{"line": e.line, "reason": e.reason} for e in parsed.errors],
    }
    if strict and parsed.error_count:
        summary.update({"imported": False, "added": 0, "removed": 0})
        first = parsed.errors[0]
        raise StrictRefused(
            f"refused {name}: {parsed.error_count} invalid line(s), first at line "
            f"{first.line}: {first.reason}",
            details={"summary": summary},
        )

    if replace and not parsed.entries and not allow_empty:
        summary.update({"imported": False, "added": 0, "removed": 0})
        raise EmptyReplaceRefused(
            f"refused {name}: --replace with no valid line ({parsed.error_count} invalid) would "
            "empty the list; check the file, --format and --algorithm, or pass --allow-empty",
            details={"summary": summary},
        )

    created = hash_list is None
    threshold_before = None if hash_list is None else effective_threshold(hash_list)
    if hash_list is None:
        hash_list = HashList(name=name, algorithm=alg.name)
        session.add(hash_list)
        session.flush()
    if threshold is not None:
        hash_list.threshold = threshold
    if category:
        hash_list.category = category
    if action:
        hash_list.action = action
    if source is not None:
        hash_list.source = source[:500]

    current: dict[str, int] = dict(
        session.execute(
            select(HashEntry.hash, HashEntry.id).where(HashEntry.list_id == hash_list.id)
        ).all()
    )
    incoming = {e.hash for e in parsed.entries}
    to_add = [e for e in parsed.entries if e.hash not in current]
    removed_ids = [i for h, i in current.items() if h not in incoming] if replace else []
    _delete_entries(session, removed_ids)
    list_id = hash_list.id  # read the ORM attribute once, not once per row
    _insert_entries(session, [(list_id, e.hash, e.entry_id, e.label, None) for e in to_add])
    changed = bool(to_add or removed_ids) or created
    hash_list.entry_count = len(current) - len(removed_ids) + len(to_add)
    if changed:
        hash_list.version += 1
    hash_list.updated_at = utcnow()
    session.add(hash_list)
    session.flush()
    summary.update(
        {
            "imported": True,
            "created": created,
            "added": len(to_add),
            "removed": len(removed_ids),
            "unchanged": len(parsed.entries) - len(to_add),
            "entries": hash_list.entry_count,
            "version": hash_list.version,
        }
    )
    record(
        session,
        actor=actor,
        action="hashlist.import",
        subject=f"hashlist:{name}",
        details={k: summary[k] for k in ("algorithm", "format", "added", "removed", "invalid")}
        | {"replace": replace, "version": hash_list.version},
    )
    # New entries, or a wider threshold, can match uploads already accepted: re-match them.
    if to_add or (
        threshold_before is not None and effective_threshold(hash_list) > threshold_before
    ):
        _enqueue_rematch(session, hash_list)
    return summary


def _insert_entries(session: Session, rows: list[tuple]) -> None:
    """Bulk insert (list_id, hash, ref, label, category) rows: COPY on PostgreSQL."""
    if not rows:
        return
    rows = sorted(rows, key=itemgetter(1))  # the (list_id, hash) index then grows in order
    connection = session.connection()
    if is_postgres(connection):
        # the PostgreSQL driver is psycopg 3, whose connection and cursors are context managers
        raw = cast("psycopg.Connection[Any]", connection.connection.dbapi_connection)
        with raw.cursor() as cursor:
            with cursor.copy(
                "COPY hash_entries (list_id, hash, ref, label, category) FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row(row)
        return
    sql = "INSERT INTO hash_entries (list_id, hash, ref, label, category) VALUES (?, ?, ?, ?, ?)"
    connection.exec_driver_sql(sql, rows)  # sqlite3 executemany: no per-row Python work


def _delete_entries(session: Session, ids: Sequence[int]) -> None:
    for start in range(0, len(ids), CHUNK):
        chunk = list(ids[start : start + CHUNK])
        session.execute(delete(RetroactiveHit).where(col(RetroactiveHit.entry_id).in_(chunk)))
        session.execute(delete(HashEntry).where(col(HashEntry.id).in_(chunk)))


def remove_list(*, session: Session, actor: str, name: str) -> HashListInfo:
    hash_list = get_list(session=session, name=name)
    info = describe(hash_list)
    ids = session.exec(select(HashEntry.id).where(HashEntry.list_id == hash_list.id)).all()
    _delete_entries(session, [i for i in ids if i is not None])  # primary keys: never None
    session.delete(hash_list)
    session.flush()
    record(
        session,
        actor=actor,
        action="hashlist.remove",
        subject=f"hashlist:{name}",
        details={"algorithm": info["algorithm"], "entries": info["entries"]},
    )
    return info


def _enqueue_rematch(session: Session, hash_list: HashList) -> None:
    enqueue(
        session,
        REMATCH_JOB,
        {"list_id": hash_list.id, "version": hash_list.version},
        dedupe_key=(
            f"{REMATCH_JOB}:{hash_list.id}:{hash_list.version}:t{effective_threshold(hash_list)}:"
            f"{hash_list.created_at.timestamp()}"
        ),
    )


# --- the in-memory index -----------------------------------------------------------------------

_CACHE: dict[tuple[str, int], tuple[tuple, MatchIndex]] = {}
_CACHE_LOCK = threading.Lock()


def index_for(session: Session, hash_list: HashList) -> MatchIndex:
    """The list's index, rebuilt only when the list's version (or identity) changed."""
    bind = session.get_bind()
    assert isinstance(bind, Engine) and hash_list.id is not None  # engine-bound; a stored list
    key = (str(bind.url), hash_list.id)
    stamp = (hash_list.version, hash_list.created_at, hash_list.algorithm)
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
        if cached is not None and cached[0] == stamp:
            return cached[1]
    index = shared_index(
        session=session,
        hash_list=hash_list,
        algorithm=get_algorithm(hash_list.algorithm),
        rows=lambda: session.execute(
            select(HashEntry.hash, HashEntry.id).where(HashEntry.list_id == hash_list.id)
        ).all(),
    )
    with _CACHE_LOCK:
        _CACHE[key] = (stamp, index)
    return index


def clear_index_cache() -> None:
    with _CACHE_LOCK:
        _CACHE.clear()


# --- scanning ----------------------------------------------------------------------------------


class ScanMatch(TypedDict):
    """A list entry an image matched: the list, distance and the entry's name, never its hash."""

    list: str
    algorithm: str
    distance: int
    threshold: int
    entry: str
    category: str
    action: str


class ScanMatchJson(TypedDict):
    list: str
    algorithm: str
    distance: int
    threshold: int
    entry: str


class ScanResult(TypedDict):
    """`ImageScan.to_json`: one image in `hostguard scan --json` and `POST /api/v1/scan`."""

    path: str
    matched: bool
    matches: list[ScanMatchJson]
    error: str | None
    low_quality: bool


@dataclass
class ImageScan:
    """One scanned image: its primary hashes, PDQ quality, matches and any error."""

    path: str
    hashes: dict[str, str] = field(default_factory=dict)
    quality: int | None = None
    low_quality: bool = False
    matches: list[ScanMatch] = field(default_factory=list)
    error: str | None = None
    file_hashes: FileHashes | None = field(default=None, repr=False)

    @property
    def matched(self) -> bool:
        return bool(self.matches)

    def to_json(self) -> ScanResult:
        """The documented result shape of `hostguard scan --json` and `POST /api/v1/scan`."""
        return {
            "path": self.path,
            "matched": self.matched,
            "matches": [
                {
                    "list": m["list"],
                    "algorithm": m["algorithm"],
                    "distance": m["distance"],
                    "threshold": m["threshold"],
                    "entry": m["entry"],
                }
                for m in self.matches
            ],
            "error": self.error,
            "low_quality": self.low_quality,
        }


def limits_from(runtime: Runtime | None) -> ImageLimits:
    settings = getattr(runtime, "settings", None)
    if settings is None:
        return DEFAULT_LIMITS
    return ImageLimits(
        max_bytes=settings.max_image_bytes,
        max_pixels=settings.max_image_pixels,
    )


def hash_images(*, runtime: Runtime, images: list[tuple[str, bytes]]) -> list[FileHashes]:
    """Hash each (path, bytes) image with every algorithm; needs no database.

    Callers that hold a database transaction (the upload check) hash first, so the
    transaction, and on SQLite the write lock, lasts only for the matching and the writes.
    """
    return hash_blobs(images, tuple(ALGORITHMS), limits=limits_from(runtime))


def scan_images(
    *, session: Session, runtime: Runtime, images: list[tuple[str, bytes]]
) -> list[ImageScan]:
    """Hash each (path, bytes) image and match it against every enabled list, in order."""
    return match_hashes(session=session, hashed=hash_images(runtime=runtime, images=images))


def scan_paths(
    *, session: Session, runtime: Runtime, paths: Iterable[str], workers: int | None = None
) -> list[ImageScan]:
    hashed = list(
        hash_paths(paths, tuple(ALGORITHMS), workers=workers, limits=limits_from(runtime))
    )
    return match_hashes(session=session, hashed=hashed)


# Read for every scanned image batch (docs/DEVELOPING.md, "Statements on hot paths").
_ENABLED_LISTS = select(HashList).where(HashList.enabled).order_by(col(HashList.id))
# SQLModel sets __table__ on every table model but does not declare it, hence the ignore.
_KEEP_SAMPLE_HASHES = insert(SampleImageHash.__table__)  # type: ignore[attr-defined]


def match_hashes(*, session: Session, hashed: list[FileHashes]) -> list[ImageScan]:
    lists = session.exec(_ENABLED_LISTS).all()
    scans = []
    for result in hashed:
        scans.append(
            ImageScan(
                path=result.path,
                hashes={h.algorithm: h.hash for h in result.hashes if h.primary},
                quality=result.quality,
                low_quality=result.low_quality,
                error=result.error,
                file_hashes=result,
            )
        )
    found: list[tuple[ImageScan, HashList, int, int, int]] = []
    for hash_list in lists:
        if not hash_list.entry_count:
            continue
        index = index_for(session, hash_list)
        threshold = effective_threshold(hash_list)
        # one query batch per list for all images: (scan position, hash) pairs, in order
        queries: list[str] = []
        owners: list[int] = []
        for position, result in enumerate(hashed):  # scans[position].file_hashes is result
            for value in dict.fromkeys(h.hash for h in result.for_matching(hash_list.algorithm)):
                queries.append(value)
                owners.append(position)
        with matching_timer(hash_list.algorithm):
            matched = index.query(queries, threshold)
        best: dict[tuple[int, int], int] = {}
        for match in matched:
            key = (owners[match.query], match.entry)
            best[key] = min(match.distance, best.get(key, match.distance))
        for (position, entry_id), distance in best.items():
            found.append((scans[position], hash_list, entry_id, distance, threshold))
    entries = _entries_by_id(session, {f[2] for f in found})
    for scan, hash_list, entry_id, distance, threshold in sorted(
        found, key=lambda f: (f[3], f[1].id)
    ):
        entry = entries.get(entry_id)
        scan.matches.append(
            {
                "list": hash_list.name,
                "algorithm": hash_list.algorithm,
                "distance": distance,
                "threshold": threshold,
                "entry": _entry_name(entry, entry_id),
                "category": (entry.category if entry else None) or hash_list.category,
                "action": hash_list.action,
            }
        )
    return scans


def _entries_by_id(session: Session, ids: set[int]) -> dict[int | None, HashEntry]:
    result: dict[int | None, HashEntry] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), CHUNK):
        rows = session.exec(
            select(HashEntry).where(col(HashEntry.id).in_(ordered[start : start + CHUNK]))
        ).all()
        result.update({row.id: row for row in rows})
    return result


def _entry_name(entry: HashEntry | None, entry_id: int) -> str:
    if entry is not None:
        name = entry.ref or entry.label
        if name:
            return name
    return f"entry-{entry_id}"


# --- kept hashes, re-upload prevention and retroactive matching --------------------------------


def _low_quality(sample: SampleImageHash) -> bool:
    """A kept PDQ hash matching leaves out, as `ComputedHash.low_quality` does for a live scan."""
    return sample.quality is not None and sample.quality < LOW_QUALITY


def remember_sample_hashes(
    *,
    session: Session,
    repo,
    revision: str | None,
    scans: list[ImageScan],
    ref: str | None,
    refused: set[str] | None = None,
) -> int:
    """Keep the hashes (never the bytes) of accepted sample images for retroactive matching.

    Refused images are not kept: the paths in `refused` (the caller's decision, e.g. the
    upload check's policy), or without it the images that matched a blocking list.
    """
    rows = []
    now = utcnow()
    for scan in scans:
        if refused is not None:
            skip = scan.path in refused
        else:
            skip = any(m.get("action") == ListAction.BLOCK for m in scan.matches)
        if scan.file_hashes is None or skip:
            continue
        for algorithm in ALGORITHMS:
            primary = scan.file_hashes.primary(algorithm)
            if primary is None:
                continue
            variants = list(dict.fromkeys(h.hash for h in scan.file_hashes.for_matching(algorithm)))
            rows.append(
                {
                    "repo_pk": repo.id,
                    "revision": revision,
                    "path": scan.path[:500],
                    "ref": ref,
                    "algorithm": algorithm,
                    "hash": primary.hash,
                    "variants": variants,
                    "quality": primary.quality,
                    "created_at": now,
                }
            )
    if rows:  # one multi-row INSERT (executemany), not one ORM insert per row
        session.execute(_KEEP_SAMPLE_HASHES, rows)
    return len(rows)


def _internal_list(session: Session, name: str, algorithm: str) -> HashList:
    hash_list = session.exec(select(HashList).where(HashList.name == name)).first()
    if hash_list is None:
        hash_list = HashList(
            name=name,
            algorithm=algorithm,
            internal=True,
            action=ListAction.BLOCK,
            source="hostguard: sample images of content taken down by moderators",
        )
        session.add(hash_list)
        session.flush()
    return hash_list


def add_to_reupload_list(*, session: Session, repo, actor: str, case_id: int, category: str) -> int:
    """Put the kept sample-image hashes of a taken-down model on the re-upload lists.

    PDQ hashes (quality 50 or more) go on `reupload-prevention`, SHA-256 digests on
    `reupload-prevention-sha256`; each entry carries the case's category and `case:<id>`.
    """
    added = 0
    for name, algorithm in ((REUPLOAD_LIST, "pdq"), (REUPLOAD_EXACT_LIST, "sha256")):
        samples = session.exec(
            select(SampleImageHash).where(
                SampleImageHash.repo_pk == repo.id, SampleImageHash.algorithm == algorithm
            )
        ).all()
        hashes = [s.hash for s in samples if not _low_quality(s)]
        if not hashes:
            continue
        hash_list = _internal_list(session, name, algorithm)
        existing = set(
            session.exec(
                select(HashEntry.hash).where(
                    HashEntry.list_id == hash_list.id, col(HashEntry.hash).in_(hashes)
                )
            ).all()
        )
        new = list(dict.fromkeys(h for h in hashes if h not in existing))
        _insert_entries(
            session, [(hash_list.id, h, f"case:{case_id}", None, category) for h in new]
        )
        if new:
            hash_list.entry_count += len(new)
            hash_list.version += 1
            hash_list.updated_at = utcnow()
            session.add(hash_list)
            session.flush()
            _enqueue_rematch(session, hash_list)
        added += len(new)
    record(
        session,
        actor=actor,
        action="hashlist.reupload_add",
        subject=f"case:{case_id}",
        details={"repo": repo.repo_id, "added": added},
    )
    return added


@dataclass(frozen=True)
class RetroactiveMatch:
    """A kept sample hash that a list's entry matches and that was never matched before."""

    sample: SampleImageHash
    entry_id: int
    entry_name: str  # the provider's id of the entry, or its number (never the hash)
    category: str | None  # the entry's own category, when the list gave one
    distance: int


def new_retroactive_matches(*, session: Session, hash_list: HashList) -> list[RetroactiveMatch]:
    """Every kept sample hash that `hash_list` matches and that no earlier re-match recorded.

    The caller records each with `record_retroactive_match`, so the next run skips it.
    """
    if not hash_list.enabled or not hash_list.entry_count:
        return []
    index = index_for(session, hash_list)
    threshold = effective_threshold(hash_list)
    found: list[RetroactiveMatch] = []
    last_id: int | None = 0
    while True:
        samples = session.exec(
            select(SampleImageHash)
            .where(
                SampleImageHash.algorithm == hash_list.algorithm,
                col(SampleImageHash.id) > last_id,
            )
            .order_by(col(SampleImageHash.id))
            .limit(1000)
        ).all()
        if not samples:
            break
        last_id = samples[-1].id
        queries: list[str] = []
        owner: list[SampleImageHash] = []
        for sample in samples:
            if _low_quality(sample):
                continue  # live scans do not match low-quality PDQ hashes; neither do re-matches
            for value in sample.variants if sample.variants is not None else [sample.hash]:
                queries.append(value)
                owner.append(sample)
        best: dict[tuple[int | None, int], int] = {}
        with matching_timer(hash_list.algorithm):
            matched = index.query(queries, threshold)
        for match in matched:
            key = (owner[match.query].id, match.entry)
            best[key] = min(match.distance, best.get(key, match.distance))
        if not best:
            continue
        seen = set(
            session.execute(
                select(RetroactiveHit.sample_id, RetroactiveHit.entry_id).where(
                    col(RetroactiveHit.sample_id).in_({k[0] for k in best})
                )
            ).all()
        )
        by_id = {s.id: s for s in samples}
        entries = _entries_by_id(session, {k[1] for k in best})
        for (sample_id, entry_id), distance in sorted(best.items()):
            if (sample_id, entry_id) in seen:
                continue
            entry = entries.get(entry_id)
            found.append(
                RetroactiveMatch(
                    sample=by_id[sample_id],
                    entry_id=entry_id,
                    entry_name=_entry_name(entry, entry_id),
                    category=entry.category if entry else None,
                    distance=distance,
                )
            )
    return found


def record_retroactive_match(
    session: Session, match: RetroactiveMatch, *, case_id: int | None
) -> None:
    """Remember that `match` was seen (and the case it opened, if any)."""
    assert match.sample.id is not None  # a kept sample read from the database
    session.add(RetroactiveHit(sample_id=match.sample.id, entry_id=match.entry_id, case_id=case_id))


def entry_total(*, session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(HashEntry)).one())


def set_enabled(*, session: Session, actor: str, name: str, enabled: bool) -> HashListInfo:
    """Turn a list on or off for matching (its entries stay); audited. Internal lists stay on."""
    hash_list = get_list(session=session, name=name)
    if hash_list.internal and not enabled:
        raise Conflict(f"{name} is maintained by hostguard and cannot be turned off")
    if hash_list.enabled != enabled:
        hash_list.enabled = enabled
        hash_list.updated_at = utcnow()
        session.add(hash_list)
        record(
            session,
            actor=actor,
            action="hashlist.enable" if enabled else "hashlist.disable",
            subject=f"hashlist:{hash_list.id}",
            details={"name": name},
        )
    return describe(hash_list)
