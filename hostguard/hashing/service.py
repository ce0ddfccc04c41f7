"""Hash lists and scanning: import, list, remove, scan, remember samples, re-upload, re-match.

Service functions are keyword-only, take the caller's `session` and never commit. Nothing
here returns, logs or puts in an error message the hashes held by a list: list views show
counts and settings, match results name the list and the entry's id or label.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from dataclasses import replace as changed
from datetime import timedelta
from operator import itemgetter
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict, cast

from sqlalchemy import Engine, bindparam, delete, event, func, insert, text, update
from sqlmodel import Session, col, select

from hostguard.audit.service import record
from hostguard.db import is_postgres
from hostguard.db.types import utcnow
from hostguard.errors import Conflict, InvalidInput, NotFound
from hostguard.hashing.algorithms import ALGORITHMS, get_algorithm
from hostguard.hashing.hasher import LOW_QUALITY, FileHashes, hash_blobs, hash_paths
from hostguard.hashing.imaging import DEFAULT_LIMITS, ImageLimits
from hostguard.hashing.index import MatchIndex, arrays_from_rows
from hostguard.hashing.listfiles import ListFormat, ParsedEntry, ParsedList, parse_list_file
from hostguard.hashing.loading import entry_arrays
from hostguard.hashing.models import (
    REUPLOAD_LIST,
    EntryHit,
    EntryState,
    HashEntry,
    HashList,
    HashSuppression,
    ListAction,
    RetroactiveHit,
    SampleImageHash,
    SampleVideoFrames,
    VideoFrames,
)
from hostguard.hashing.snapshots import ListChanges, publish_on_commit, shared_index
from hostguard.hashing.video import (
    VideoIndex,
    pack_frames,
    parse_vpdq,
    unpack_frames,
    video_identity,
)
from hostguard.instruments import matching_timer
from hostguard.jobs.service import enqueue
from hostguard.platform.webhooks import send_event

if TYPE_CHECKING:
    import psycopg

    from hostguard.policy.model import Policy
    from hostguard.runtime import Runtime

log = logging.getLogger(__name__)

REMATCH_JOB = "hashing.rematch"
REUPLOAD_EXACT_LIST = f"{REUPLOAD_LIST}-sha256"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
CHUNK = 5000
VIDEO_SHARE_MISSED = 20  # a vPDQ match leaves at most 20 % of frames unmatched either way


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
    entry_name: str | None = None,
) -> ImportSummary:
    """Import a list file in the caller's transaction: all valid lines go in, or nothing does.

    A `vpdq` list's file is one video's vPDQ hash (vPDQ's text format), which becomes one
    entry named `entry_name` (the file's name, from the CLI).

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
    if format is not None and format not in ("text", "csv", "jsonl", "threatexchange", "ncmec"):
        raise InvalidInput("format must be one of text, csv, jsonl, threatexchange, ncmec")

    if alg.video:
        parsed, frames = _parse_video_file(data, alg, entry_name)
    else:
        parsed, frames = parse_list_file(data, alg, format=format), None
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
    if frames is not None and to_add:
        _insert_video_frames(session, list_id, to_add[0].hash, frames)
    if to_add:
        _apply_suppressions(session, list_id, [e.hash for e in to_add])
    changed = bool(to_add or removed_ids) or created
    hash_list.entry_count = len(current) - len(removed_ids) + len(to_add)
    if changed:
        hash_list.version += 1
    hash_list.updated_at = utcnow()
    session.add(hash_list)
    session.flush()
    if changed:
        publish_snapshot(
            session=session,
            hash_list=hash_list,
            removed=removed_ids,
            added=[e.hash for e in to_add],
        )
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


def _parse_video_file(data: bytes | str, alg, entry_name: str | None):
    """One video's vPDQ file as a one-entry ParsedList (its identity) and its frames."""
    text = data.decode("utf-8-sig", errors="replace") if isinstance(data, bytes) else data
    frames = parse_vpdq(text)
    parsed = ParsedList(format=ListFormat.VPDQ)
    if frames:
        name = _short(entry_name)
        parsed.entries.append(ParsedEntry(1, video_identity(frames), name, None))
    return parsed, frames


def _insert_video_frames(session: Session, list_id, identity: str, frames) -> None:
    entry_id = session.exec(
        select(HashEntry.id).where(HashEntry.list_id == list_id, HashEntry.hash == identity)
    ).one()
    assert entry_id is not None  # a stored row
    session.add(
        VideoFrames(
            entry_id=entry_id, list_id=list_id, frame_count=len(frames), frames=pack_frames(frames)
        )
    )


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


def in_values(session: Session, column: str, values: Sequence, name: str = "values"):
    """`column IN values` as SQL text with ONE bound parameter, and that parameter.

    An array with `= ANY(...)` on PostgreSQL, a JSON array read by `json_each` on SQLite: a
    set-based test whatever the number of values. SQLAlchemy's expanding `IN` binds one
    parameter per value, which for the 100,000 changes of a large fetch cost more Python time
    than the statements themselves (and psycopg splits it client-side). The PostgreSQL array
    is sent as one text literal (`{"a","b"}`, cast by the server): psycopg's own dumping of a
    list checks and quotes each element in Python, about 1 s of CPU for a fetch's 500,000.
    Values are all strings or all integers.
    """
    if is_postgres(session.connection()):
        if values and isinstance(values[0], int):
            literal = "{" + ",".join(str(int(v)) for v in values) + "}"
            return f"{column} = ANY(CAST(:{name} AS bigint[]))", {name: literal}
        quoted = (str(v).replace("\\", "\\\\").replace('"', '\\"') for v in values)
        literal = "{" + ",".join(f'"{v}"' for v in quoted) + "}"
        return f"{column} = ANY(CAST(:{name} AS text[]))", {name: literal}
    return f"{column} IN (SELECT value FROM json_each(:{name}))", {name: json.dumps(list(values))}


def _delete_entries(session: Session, ids: Sequence[int]) -> None:
    """Delete entries (with their retroactive hits and video frames) by id: three statements, whatever the count."""
    if not ids:
        return
    for table, column in (
        ("hash_retroactive_hits", "entry_id"),
        ("hash_video_frames", "entry_id"),
        ("hash_entries", "id"),
    ):
        test, params = in_values(session, column, [int(i) for i in ids])
        session.execute(text(f"DELETE FROM {table} WHERE {test}"), params)


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
    algorithm = get_algorithm(hash_list.algorithm)
    index = shared_index(
        session=session,
        hash_list=hash_list,
        algorithm=algorithm,
        rows=lambda: _entry_rows(session, hash_list.id),
        arrays=None
        if algorithm.exact
        else lambda: entry_arrays(session, hash_list.id, algorithm.bits),
    )
    with _CACHE_LOCK:
        _CACHE[key] = (stamp, index)
    return index


_VIDEO_CACHE: dict[tuple[str, int], tuple[tuple, VideoIndex]] = {}


def video_index_for(session: Session, hash_list: HashList) -> VideoIndex:
    """A video list's frames for matching, reread only when the list's version changed."""
    bind = session.get_bind()
    assert isinstance(bind, Engine) and hash_list.id is not None
    key = (str(bind.url), hash_list.id)
    stamp = (hash_list.version, hash_list.created_at)
    with _CACHE_LOCK:
        cached = _VIDEO_CACHE.get(key)
        if cached is not None and cached[0] == stamp:
            return cached[1]
    rows = session.execute(
        select(VideoFrames.entry_id, VideoFrames.frames)
        .where(VideoFrames.list_id == hash_list.id)
        .order_by(col(VideoFrames.entry_id))
    ).all()
    index = VideoIndex.build(rows)
    with _CACHE_LOCK:
        _VIDEO_CACHE[key] = (stamp, index)
    return index


_SNAPSHOT_PENDING = "hostguard.snapshot_pending"


def publish_snapshot(
    *,
    session: Session,
    hash_list: HashList,
    removed: Sequence[int] | None = None,
    added: Sequence[str] | None = None,
) -> bool:
    """Have the list's new version's index snapshot written when `session` commits, so the
    list is live at once (see `snapshots.publish_on_commit`). Every change of a list's entries
    calls this once after raising its version. Video lists have no snapshot: their frames are
    read from the database by the first match after a change (`video_index_for`).

    A caller that says what changed (the ids of the `removed` entries, the hashes of the
    `added` ones) lets the snapshot be derived from the previous version's with numpy, reading
    only the added rows: what keeps an exchange fetch's groups cheap at a million entries.
    Otherwise (or after any change in the transaction that did not say) the list is read
    once, as it is at commit (`loading.entry_arrays`: COPY on PostgreSQL).
    """
    algorithm = get_algorithm(hash_list.algorithm)
    if algorithm.video or algorithm.exact:
        return False  # digest lists have no index snapshot either
    list_id = hash_list.id
    pending: dict = session.info.setdefault(_SNAPSHOT_PENDING, {})
    changes = pending.get(list_id)
    if changes is not None:
        changes.note(removed, added)
        return True
    changes = ListChanges(base_version=hash_list.version - 1)
    changes.note(removed, added)
    published = publish_on_commit(
        session=session,
        hash_list=hash_list,
        algorithm=algorithm,
        arrays=lambda: entry_arrays(session, list_id, algorithm.bits),
        changes=changes,
        added_arrays=lambda hashes: _added_arrays(session, list_id, hashes, algorithm.bits),
    )
    if published:
        pending[list_id] = changes

        def done(*_args) -> None:
            pending.pop(list_id, None)

        event.listen(session, "after_commit", done, once=True)
        event.listen(session, "after_soft_rollback", done, once=True)
    return published


def _added_arrays(session: Session, list_id: int | None, hashes: Sequence[str], bits: int):
    """(words, ids) of the list's entries with these hashes: one statement (`in_values`)."""
    if not hashes:
        return arrays_from_rows((), bits)
    test, params = in_values(session, "hash", hashes)
    rows = session.execute(
        text(f"SELECT hash, id FROM hash_entries WHERE list_id = :l AND {test}"),
        {"l": list_id, **params},
    )
    return arrays_from_rows(rows, bits)


def _entry_rows(session: Session, list_id: int | None):
    """The list's (hash, id) rows, streamed in batches: for exact-digest lists (a dict index);
    perceptual lists are read into arrays by `loading.entry_arrays`."""
    query = select(HashEntry.hash, HashEntry.id).where(HashEntry.list_id == list_id)
    return session.execute(query.execution_options(yield_per=65_536))


def clear_index_cache() -> None:
    with _CACHE_LOCK:
        _CACHE.clear()
        _VIDEO_CACHE.clear()


# --- scanning ----------------------------------------------------------------------------------


class ScanMatch(TypedDict):
    """A list entry an image matched: the list, distance and the entry's name, never its hash.

    `low_quality`: found only through a low-quality PDQ hash (a flat image), at the policy's
    stricter `matching.low_quality_pdq_threshold` (then `threshold` is that one)."""

    list: str
    algorithm: str
    distance: int
    threshold: int
    entry: str
    category: str
    action: str
    low_quality: bool
    entry_id: int  # for false-positive control (quarantine); not in any answer


class ScanMatchJson(TypedDict):
    list: str
    algorithm: str
    distance: int
    threshold: int
    entry: str
    low_quality: bool


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
                    "low_quality": m["low_quality"],
                }
                for m in self.matches
            ],
            "error": self.error,
            "low_quality": self.low_quality,
        }


def limits_from(runtime: Runtime | None) -> ImageLimits:
    """The settings' caps on image files and the policy's bounds on sample videos."""
    settings = getattr(runtime, "settings", None)
    if settings is None:
        return DEFAULT_LIMITS
    matching = runtime.policy.matching if runtime is not None else None
    video = DEFAULT_LIMITS.video
    if matching is not None:
        video = changed(
            video,
            max_seconds=matching.video_max_seconds,
            max_side=matching.video_max_side,
            max_frames=matching.video_max_frames,
            timeout_seconds=matching.video_timeout_seconds,
        )
    return ImageLimits(
        max_bytes=settings.max_image_bytes,
        max_pixels=settings.max_image_pixels,
        video=video,
    )


def hash_images(*, runtime: Runtime, images: list[tuple[str, bytes]]) -> list[FileHashes]:
    """Hash each (path, bytes) image with every algorithm; needs no database.

    Callers that hold a database transaction (the upload check) hash first, so the
    transaction, and on SQLite the write lock, lasts only for the matching and the writes.
    """
    return hash_blobs(images, tuple(ALGORITHMS), limits=limits_from(runtime))


def scan_images(
    *,
    session: Session,
    runtime: Runtime,
    images: list[tuple[str, bytes]],
    policy: Policy | None = None,
) -> list[ImageScan]:
    """Hash each (path, bytes) image and match it against every enabled list, in order
    (under `policy`, the runtime's when not given)."""
    hashed = hash_images(runtime=runtime, images=images)
    return match_hashes(session=session, hashed=hashed, policy=policy or runtime.policy)


def scan_paths(
    *,
    session: Session,
    runtime: Runtime,
    paths: Iterable[str],
    policy: Policy | None = None,
    workers: int | None = None,
) -> list[ImageScan]:
    hashed = list(
        hash_paths(paths, tuple(ALGORITHMS), workers=workers, limits=limits_from(runtime))
    )
    return match_hashes(session=session, hashed=hashed, policy=policy or runtime.policy)


# Read for every scanned image batch (docs/DEVELOPING.md, "Statements on hot paths").
_ENABLED_LISTS = select(HashList).where(HashList.enabled).order_by(col(HashList.id))
# SQLModel sets __table__ on every table model but does not declare it, hence the ignore.
_KEEP_SAMPLE_HASHES = insert(SampleImageHash.__table__)  # type: ignore[attr-defined]


def match_hashes(
    *,
    session: Session,
    hashed: list[FileHashes],
    policy: Policy,
    index: Callable[[Session, HashList], MatchIndex] | None = None,
) -> list[ImageScan]:
    """Match hashed files against every enabled list, one query batch per list.

    A flat image's PDQ hashes (quality below 50) are mostly rounding, so they are matched only
    within the policy's `matching.low_quality_pdq_threshold` bits (0: not at all), and what
    only they find is marked `low_quality`. `index` gives each list's match index (`index_for`
    when not given; a dataset scan gives one made for large batches).
    """
    strict = policy.matching.low_quality_pdq_threshold
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
    found: list[tuple[ImageScan, HashList, int, int, int, bool]] = []
    for hash_list in lists:
        if not hash_list.entry_count:
            continue
        if get_algorithm(hash_list.algorithm).video:
            found.extend(_match_videos(session, hash_list, scans, hashed))
            continue
        list_index = (index or index_for)(session, hash_list)
        threshold = effective_threshold(hash_list)
        low_threshold = min(threshold, strict)
        # one query batch per list for all images: (scan position, hash, low quality), in order
        queries: list[str] = []
        owners: list[tuple[int, bool]] = []
        for position, result in enumerate(hashed):  # scans[position].file_hashes is result
            usable = dict.fromkeys(h.hash for h in result.for_matching(hash_list.algorithm))
            flat = (
                dict.fromkeys(h.hash for h in result.low_quality_hashes(hash_list.algorithm))
                if strict
                else {}
            )
            for value, low in [*((v, False) for v in usable), *((v, True) for v in flat)]:
                if not (low and value in usable):
                    queries.append(value)
                    owners.append((position, low))
        with matching_timer(hash_list.algorithm):
            matched = list_index.query(queries, threshold)
        # (position, entry) -> (distance, found only through low-quality hashes)
        best: dict[tuple[int, int], tuple[int, bool]] = {}
        for match in matched:
            position, low = owners[match.query]
            if low and match.distance > low_threshold:
                continue
            key = (position, match.entry)
            best[key] = min((match.distance, low), best.get(key, (match.distance, low)))
        for (position, entry_id), (distance, low) in best.items():
            used = low_threshold if low else threshold
            found.append((scans[position], hash_list, entry_id, distance, used, low))
    entries = _entries_by_id(session, {f[2] for f in found})
    for scan, hash_list, entry_id, distance, threshold, low in sorted(
        found, key=lambda f: (f[3], f[1].id)
    ):
        entry = entries.get(entry_id)
        if entry is not None and entry.state != EntryState.ACTIVE:
            continue  # suppressed or quarantined: read with the match, so it acts at once
        scan.matches.append(
            {
                "list": hash_list.name,
                "algorithm": hash_list.algorithm,
                "distance": distance,
                "threshold": threshold,
                "entry": _entry_name(entry, entry_id),
                "category": (entry.category if entry else None) or hash_list.category,
                "action": hash_list.action,
                "low_quality": low,
                "entry_id": entry_id,
            }
        )
    return scans


def _match_videos(session: Session, hash_list: HashList, scans: list[ImageScan], hashed):
    """vPDQ matches of the sampled videos against one video list. A match's distance is the
    share of frames (per cent, the smaller of the two ways) that did not match, and its
    threshold the most vPDQ allows (100 - 80)."""
    videos = [(position, r.video) for position, r in enumerate(hashed) if r.video]
    if not videos:
        return []
    index = video_index_for(session, hash_list)
    threshold = effective_threshold(hash_list)
    found = []
    with matching_timer(hash_list.algorithm):
        for position, frames in videos:
            for entry_id, query_share, target_share in index.query(frames, threshold):
                missed = round(100 - min(query_share, target_share))
                found.append(
                    (scans[position], hash_list, entry_id, missed, VIDEO_SHARE_MISSED, False)
                )
    return found


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
    """Keep the hashes (never the bytes) of accepted sample images and videos for retroactive
    matching: per algorithm the primary hash, the hashes matched at the usual threshold
    (`variants`) and a flat image's PDQ hashes of quality 1-49 (`low_quality_variants`); a
    video's vPDQ frames (a `vpdq` row and its `SampleVideoFrames`). Returns the rows kept.

    Refused samples are not kept: the paths in `refused` (the caller's decision, e.g. the
    upload check's policy), or without it the samples that matched a blocking list.
    """
    rows = []
    videos: list[tuple[ImageScan, list]] = []
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
            low = list(
                dict.fromkeys(h.hash for h in scan.file_hashes.low_quality_hashes(algorithm))
            )
            rows.append(
                {
                    "repo_pk": repo.id,
                    "revision": revision,
                    "path": scan.path[:500],
                    "ref": ref,
                    "algorithm": algorithm,
                    "hash": primary.hash,
                    "variants": variants,
                    "low_quality_variants": low or None,
                    "quality": primary.quality,
                    "created_at": now,
                }
            )
        if scan.file_hashes.video:
            videos.append((scan, scan.file_hashes.video))
    if rows:  # one multi-row INSERT (executemany), not one ORM insert per row
        session.execute(_KEEP_SAMPLE_HASHES, rows)
    if videos:  # a few per check at most, and each took a decode: ORM rows are cheap enough
        kept = [
            SampleImageHash(
                repo_pk=repo.id,
                revision=revision,
                path=scan.path[:500],
                ref=ref,
                algorithm="vpdq",
                hash=video_identity(frames),
                variants=[],
                created_at=now,
            )
            for scan, frames in videos
        ]
        session.add_all(kept)
        session.flush()
        for sample, (_, frames) in zip(kept, videos, strict=True):
            assert sample.id is not None  # flushed above
            session.add(
                SampleVideoFrames(
                    sample_id=sample.id, frame_count=len(frames), frames=pack_frames(frames)
                )
            )
        session.flush()
    return len(rows) + len(videos)


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
            publish_snapshot(session=session, hash_list=hash_list)
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
    """A kept sample hash that a list's entry matches and that was never matched before.

    `threshold` is the one it was matched at: the list's; the stricter
    `matching.low_quality_pdq_threshold` when only a flat image's PDQ hash matched
    (`low_quality`); for a video, 20 (`distance` is then the share of frames left unmatched,
    per cent, as in live scans)."""

    sample: SampleImageHash
    entry_id: int
    entry_name: str  # the provider's id of the entry, or its number (never the hash)
    category: str | None  # the entry's own category, when the list gave one
    distance: int
    threshold: int
    low_quality: bool = False


_SAMPLE_PAGE = 1000  # kept samples read and matched at a time


def new_retroactive_matches(
    *, session: Session, hash_list: HashList, policy: Policy
) -> list[RetroactiveMatch]:
    """Every kept sample hash that `hash_list` matches and that no earlier re-match recorded,
    matched as live scans match (`match_hashes`): a flat image's PDQ hashes (quality 1-49)
    only within the policy's `matching.low_quality_pdq_threshold` (what only they find is
    `low_quality`), a sample video's vPDQ frames against a video list by vPDQ's share of frames
    both ways.

    The caller records each with `record_retroactive_match`, so the next run skips it.
    """
    if not hash_list.enabled or not hash_list.entry_count:
        return []
    if get_algorithm(hash_list.algorithm).video:
        return _new_video_matches(session, hash_list)
    index = index_for(session, hash_list)
    threshold = effective_threshold(hash_list)
    strict = policy.matching.low_quality_pdq_threshold
    low_threshold = min(threshold, strict)
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
            .limit(_SAMPLE_PAGE)
        ).all()
        if not samples:
            break
        last_id = samples[-1].id
        queries: list[str] = []
        owners: list[tuple[SampleImageHash, bool]] = []
        for sample in samples:
            usable, flat = _kept_queries(sample)
            for value, low in [*((v, False) for v in usable), *((v, True) for v in flat)]:
                if low and (not strict or value in usable):
                    continue
                queries.append(value)
                owners.append((sample, low))
        with matching_timer(hash_list.algorithm):
            matched = index.query(queries, threshold)
        # (sample, entry) -> (distance, found only through low-quality hashes)
        best: dict[tuple[int, int], tuple[int, bool]] = {}
        for match in matched:
            sample, low = owners[match.query]
            if low and match.distance > low_threshold:
                continue
            assert sample.id is not None  # read from the database
            key = (sample.id, match.entry)
            best[key] = min((match.distance, low), best.get(key, (match.distance, low)))
        found.extend(
            _unrecorded(
                session,
                samples,
                {
                    key: (distance, low_threshold if low else threshold, low)
                    for key, (distance, low) in best.items()
                },
            )
        )
    return found


def _kept_queries(sample: SampleImageHash) -> tuple[list[str], list[str]]:
    """(hashes matched at the list's threshold, flat hashes matched at the stricter one) of a
    kept sample. Rows kept before flat hashes were have only their primary hash for them."""
    usable = sample.variants if sample.variants is not None else [sample.hash]
    if sample.low_quality_variants is not None:
        return usable, sample.low_quality_variants
    if _low_quality(sample):  # its primary hash was left out of `variants`
        return [v for v in usable if v != sample.hash], [sample.hash] if sample.quality else []
    return usable, []


def _new_video_matches(session: Session, hash_list: HashList) -> list[RetroactiveMatch]:
    """The kept sample videos a video list matches by vPDQ (as `_match_videos` for a scan)."""
    index = video_index_for(session, hash_list)
    threshold = effective_threshold(hash_list)
    found: list[RetroactiveMatch] = []
    last_id: int | None = 0
    while True:
        rows = session.execute(
            select(SampleImageHash, SampleVideoFrames.frames)
            .join(SampleVideoFrames, col(SampleVideoFrames.sample_id) == col(SampleImageHash.id))
            .where(
                SampleImageHash.algorithm == hash_list.algorithm,
                col(SampleImageHash.id) > last_id,
            )
            .order_by(col(SampleImageHash.id))
            .limit(_SAMPLE_PAGE)
        ).all()
        if not rows:
            break
        last_id = rows[-1][0].id
        best: dict[tuple[int, int], tuple[int, int, bool]] = {}
        with matching_timer(hash_list.algorithm):
            for sample, packed in rows:
                assert sample.id is not None  # read from the database
                for entry_id, query_share, target_share in index.query(
                    unpack_frames(packed), threshold
                ):
                    missed = round(100 - min(query_share, target_share))
                    best[(sample.id, entry_id)] = (missed, VIDEO_SHARE_MISSED, False)
        found.extend(_unrecorded(session, [row[0] for row in rows], best))
    return found


def _unrecorded(
    session: Session,
    samples: Sequence[SampleImageHash],
    best: dict[tuple[int, int], tuple[int, int, bool]],
) -> list[RetroactiveMatch]:
    """The matches in `best` ((sample id, entry id) -> (distance, threshold, low quality))
    that no earlier re-match recorded, of entries that act."""
    if not best:
        return []
    seen = set(
        session.execute(
            select(RetroactiveHit.sample_id, RetroactiveHit.entry_id).where(
                col(RetroactiveHit.sample_id).in_({k[0] for k in best})
            )
        ).all()
    )
    by_id = {s.id: s for s in samples}
    entries = _entries_by_id(session, {k[1] for k in best})
    found = []
    for (sample_id, entry_id), (distance, threshold, low) in sorted(best.items()):
        if (sample_id, entry_id) in seen:
            continue
        entry = entries.get(entry_id)
        if entry is not None and entry.state != EntryState.ACTIVE:
            continue
        found.append(
            RetroactiveMatch(
                sample=by_id[sample_id],
                entry_id=entry_id,
                entry_name=_entry_name(entry, entry_id),
                category=entry.category if entry else None,
                distance=distance,
                threshold=threshold,
                low_quality=low,
            )
        )
    return found


VIDEO_ALGORITHMS = tuple(name for name, alg in ALGORITHMS.items() if alg.video)


def sample_is_video(session: Session, sample: SampleImageHash) -> bool:
    """Whether a kept sample is a video: its vPDQ row, or a digest kept beside one (the same
    check's sample at the same path)."""
    if get_algorithm(sample.algorithm).video:
        return True
    if sample.ref is None:
        return False
    return (
        session.exec(
            select(SampleImageHash.id)
            .where(
                SampleImageHash.repo_pk == sample.repo_pk,
                SampleImageHash.ref == sample.ref,
                SampleImageHash.path == sample.path,
                col(SampleImageHash.algorithm).in_(VIDEO_ALGORITHMS),
            )
            .limit(1)
        ).first()
        is not None
    )


def record_retroactive_match(
    session: Session, match: RetroactiveMatch, *, case_id: int | None
) -> None:
    """Remember that `match` was seen (and the case it opened, if any)."""
    assert match.sample.id is not None  # a kept sample read from the database
    session.add(RetroactiveHit(sample_id=match.sample.id, entry_id=match.entry_id, case_id=case_id))


def entry_total(*, session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(HashEntry)).one())


# --- false-positive control: suppressions (allow-list) and quarantine ---------------------------


def _apply_suppressions(session: Session, list_id: int | None, added: Sequence[str]) -> None:
    """New entries whose hash is allow-listed for the list do not act (also after a re-import).

    Looks up the allow-list (small) for the added hashes, not the list (large) for the
    allow-list, so adding a page of entries to a million-entry list stays cheap.
    """
    if not session.exec(
        select(HashSuppression.id).where(HashSuppression.list_id == list_id).limit(1)
    ).first():
        return
    hashes = sorted(set(added))
    for start in range(0, len(hashes), CHUNK):
        chunk = hashes[start : start + CHUNK]
        allowed = session.exec(
            select(HashSuppression.hash).where(
                HashSuppression.list_id == list_id, col(HashSuppression.hash).in_(chunk)
            )
        ).all()
        if allowed:
            session.execute(
                update(HashEntry)
                .where(
                    col(HashEntry.list_id) == list_id,
                    col(HashEntry.hash).in_(list(allowed)),
                    col(HashEntry.state) == EntryState.ACTIVE,
                )
                .values(state=EntryState.SUPPRESSED)
            )


class SuppressSummary(TypedDict):
    """`suppress`: the list and the entries (by name, never hash) that stopped acting."""

    list: str
    suppressed: int
    entries: list[str]


def suppress(*, session: Session, actor: str, name: str, hash: str, reason: str) -> SuppressSummary:
    """Allow-list `hash` on one list (`suppress_matching`), returning what may be shown."""
    return suppress_matching(session=session, actor=actor, name=name, hash=hash, reason=reason)[0]


def suppress_matching(
    *, session: Session, actor: str, name: str, hash: str, reason: str
) -> tuple[SuppressSummary, list[str]]:
    """Allow-list `hash` on one list: every entry of the list it matches stops acting at once.

    `hash` is the entry's own hash or the hash of the image that matched it wrongly (as
    `hostguard hash` prints it): the list's entries within its threshold are suppressed, and
    the hashes stay allow-listed for this list, so a later import does not bring them back.
    """
    hash_list = get_list(session=session, name=name)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("say why the hash is suppressed (--reason)", code="reason_required")
    value = get_algorithm(hash_list.algorithm).validate(hash)
    entry_ids: set[int] = set()
    if hash_list.entry_count and get_algorithm(hash_list.algorithm).video:
        # a video entry is named by its identity: only that entry, not near ones
        entry_ids = {
            entry_id
            for entry_id in session.exec(
                select(HashEntry.id).where(
                    HashEntry.list_id == hash_list.id, HashEntry.hash == value
                )
            ).all()
            if entry_id is not None
        }
    elif hash_list.entry_count:
        entry_ids = {
            m.entry
            for m in index_for(session, hash_list).query([value], effective_threshold(hash_list))
        }
    return _suppress(
        session,
        actor=actor,
        hash_list=hash_list,
        entries=_entries_by_id(session, entry_ids),
        allowed={value},
        reason=reason,
    )


def suppress_entries(
    *, session: Session, actor: str, name: str, entry_ids: Iterable[int], reason: str
) -> tuple[SuppressSummary, list[str]]:
    """Allow-list the entries of one list a case's evidence names by id (a video match names
    the entry it matched: a sample video's own identity is not the entry's hash). Ids of other
    lists' entries are ignored. Returns what `suppress_matching` returns."""
    hash_list = get_list(session=session, name=name)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("say why the entry is suppressed", code="reason_required")
    entries = {
        i: e
        for i, e in _entries_by_id(session, set(entry_ids)).items()
        if e.list_id == hash_list.id
    }
    return _suppress(
        session, actor=actor, hash_list=hash_list, entries=entries, allowed=set(), reason=reason
    )


def _suppress(
    session: Session,
    *,
    actor: str,
    hash_list: HashList,
    entries: dict[int | None, HashEntry],
    allowed: set[str],
    reason: str,
) -> tuple[SuppressSummary, list[str]]:
    """Suppress `entries` and allow-list their hashes and `allowed` on `hash_list`, audited."""
    name = hash_list.name
    hashes = allowed | {e.hash for e in entries.values()}
    known = set(
        session.exec(
            select(HashSuppression.hash).where(
                HashSuppression.list_id == hash_list.id, col(HashSuppression.hash).in_(hashes)
            )
        ).all()
    )
    assert hash_list.id is not None  # read from the database
    for new in sorted(hashes - known):
        session.add(
            HashSuppression(list_id=hash_list.id, hash=new, reason=reason[:500], actor=actor[:200])
        )
    acted = [e for e in entries.values() if e.state != EntryState.SUPPRESSED]
    for entry in acted:
        entry.state = EntryState.SUPPRESSED
        session.add(entry)
    session.flush()
    names = sorted(_entry_name(e, e.id or 0) for e in entries.values())
    record(
        session,
        actor=actor,
        action="hashlist.suppress",
        subject=f"hashlist:{name}",
        reason=reason[:500],
        details={"entries": names[:50], "suppressed": len(acted)},
    )
    summary: SuppressSummary = {"list": name, "suppressed": len(acted), "entries": names}
    return summary, sorted(e.hash for e in entries.values())


def unsuppress(*, session: Session, actor: str, name: str, hash: str, reason: str) -> int:
    """Take `hash` off the list's allow-list; its entries (not quarantined ones) act again."""
    hash_list = get_list(session=session, name=name)
    value = get_algorithm(hash_list.algorithm).validate(hash)
    rows = session.exec(
        select(HashSuppression).where(
            HashSuppression.list_id == hash_list.id, HashSuppression.hash == value
        )
    ).all()
    if not rows:
        raise NotFound("that hash is not suppressed on this list", code="not_suppressed")
    for row in rows:
        session.delete(row)
    result = session.execute(
        update(HashEntry)
        .where(
            col(HashEntry.list_id) == hash_list.id,
            col(HashEntry.hash) == value,
            col(HashEntry.state) == EntryState.SUPPRESSED,
        )
        .values(state=EntryState.ACTIVE)
    )
    session.flush()
    restored = int(getattr(result, "rowcount", 0) or 0)
    record(
        session,
        actor=actor,
        action="hashlist.unsuppress",
        subject=f"hashlist:{name}",
        reason=(reason or "")[:500] or None,
        details={"restored": restored},
    )
    return restored


def release_quarantine(*, session: Session, actor: str, name: str, entry: str, reason: str) -> int:
    """Let a quarantined entry (named by its id as shown, e.g. `entry-12` or the provider's id) act again."""
    hash_list = get_list(session=session, name=name)
    rows = session.exec(
        select(HashEntry).where(
            HashEntry.list_id == hash_list.id, HashEntry.state == EntryState.QUARANTINED
        )
    ).all()
    chosen = [r for r in rows if _entry_name(r, r.id or 0) == entry]
    if not chosen:
        raise NotFound(f"no quarantined entry {entry[:100]!r} on {name}", code="not_quarantined")
    for row in chosen:
        row.state = EntryState.ACTIVE
        session.add(row)
        session.execute(delete(EntryHit).where(col(EntryHit.entry_id) == row.id))
    session.flush()
    record(
        session,
        actor=actor,
        action="hashlist.release_quarantine",
        subject=f"hashlist:{name}",
        reason=(reason or "")[:500] or None,
        details={"entry": entry[:200]},
    )
    return len(chosen)


class FalsePositiveCounts(TypedDict):
    suppressions: int
    suppressed: int
    quarantined: list[str]  # quarantined entries by name


def false_positive_counts(*, session: Session, name: str) -> FalsePositiveCounts:
    """A list's allow-list size, suppressed entries and quarantined entries (names only)."""
    hash_list = get_list(session=session, name=name)
    suppressions = session.exec(
        select(func.count())
        .select_from(HashSuppression)
        .where(HashSuppression.list_id == hash_list.id)
    ).one()
    suppressed = session.exec(
        select(func.count())
        .select_from(HashEntry)
        .where(HashEntry.list_id == hash_list.id, HashEntry.state == EntryState.SUPPRESSED)
    ).one()
    quarantined = session.exec(
        select(HashEntry)
        .where(HashEntry.list_id == hash_list.id, HashEntry.state == EntryState.QUARANTINED)
        .limit(200)
    ).all()
    return {
        "suppressions": int(suppressions),
        "suppressed": int(suppressed),
        "quarantined": sorted(_entry_name(e, e.id or 0) for e in quarantined),
    }


def note_matches(
    *, session: Session, runtime: Runtime, policy: Policy, scans: list[ImageScan]
) -> list[str]:
    """Count the distinct images each matched entry hit; quarantine an entry that hits too many.

    An entry matching `hash_lists.quarantine_distinct_images` different images within
    `quarantine_window_minutes` stops acting (state `quarantined`), and admins are alerted
    (audit record, signed webhook event `hashlist.entry_quarantined`, warning in the log).
    Returns the quarantined entries' names.
    """
    rules = policy.hash_lists
    hits: dict[int, set[str]] = {}
    for scan in scans:
        image = scan.hashes.get("sha256") or scan.path
        for match in scan.matches:
            hits.setdefault(match["entry_id"], set()).add(image[:64])
    if not hits:
        return []
    now = utcnow()
    session.execute(
        insert(EntryHit.__table__),  # type: ignore[attr-defined]
        [
            {"entry_id": entry_id, "image": image, "at": now}
            for entry_id, images in hits.items()
            for image in images
        ],
    )
    since = now - timedelta(minutes=rules.quarantine_window_minutes)
    counts = dict(
        session.execute(
            select(EntryHit.entry_id, func.count(func.distinct(EntryHit.image)))
            .where(col(EntryHit.entry_id).in_(list(hits)), col(EntryHit.at) >= since)
            .group_by(col(EntryHit.entry_id))
        ).all()
    )
    flooding = {e for e, n in counts.items() if n >= rules.quarantine_distinct_images}
    quarantined: list[str] = []
    for entry in _entries_by_id(session, flooding).values():
        if entry.state != EntryState.ACTIVE:
            continue
        entry.state = EntryState.QUARANTINED
        session.add(entry)
        hash_list = session.get(HashList, entry.list_id)
        list_name = hash_list.name if hash_list else str(entry.list_id)
        name = _entry_name(entry, entry.id or 0)
        details = {
            "list": list_name,
            "entry": name,
            "distinct_images": counts[entry.id],
            "window_minutes": rules.quarantine_window_minutes,
        }
        record(
            session,
            actor="system",
            action="hashlist.entry_quarantined",
            subject=f"hashlist:{list_name}",
            reason="matched too many distinct images",
            details=details,
        )
        send_event(session, runtime=runtime, event="hashlist.entry_quarantined", payload=details)
        log.warning(
            "hash list %s: entry %s quarantined after matching %s images",
            list_name,
            name,
            counts[entry.id],
        )
        quarantined.append(f"{list_name}:{name}")
    session.flush()
    return quarantined


# --- lists fed by exchanges ------------------------------------------------------------------


def ensure_list(
    *,
    session: Session,
    name: str,
    algorithm: str,
    category: str,
    action: str,
    threshold: int | None,
    source: str,
) -> HashList:
    """The list an exchange feeds, created empty if missing; its settings follow the policy."""
    if not NAME_RE.match(name or ""):
        raise InvalidInput("list names are 1-100 characters: letters, digits, '.', '_' or '-'")
    alg = get_algorithm(algorithm)
    _check_settings(alg, threshold, action, category)
    hash_list = session.exec(select(HashList).where(HashList.name == name)).first()
    if hash_list is None:
        hash_list = HashList(name=name, algorithm=alg.name, version=1)
        session.add(hash_list)
    elif hash_list.internal or hash_list.algorithm != alg.name:
        raise Conflict(
            f"a hash list named {name} already exists ({hash_list.algorithm}); "
            "name the exchange otherwise",
            code="list_exists",
        )
    threshold_before = effective_threshold(hash_list) if hash_list.id else None
    hash_list.category, hash_list.action, hash_list.threshold = category, action, threshold
    hash_list.source = source[:500]
    session.add(hash_list)
    session.flush()
    if threshold_before is not None and effective_threshold(hash_list) > threshold_before:
        _enqueue_rematch(session, hash_list)
    return hash_list


class EntryChanges(TypedDict):
    added: int
    removed: int
    updated: int
    version: int


def apply_entry_changes(
    *,
    session: Session,
    actor: str,
    hash_list: HashList,
    present: dict[str, tuple[str | None, str | None]],
    absent: Iterable[str],
    rematch: bool = True,
) -> EntryChanges:
    """Make the given hashes present (with their ref and label) or absent, in the caller's
    transaction: one version bump, suppressions applied, a re-match queued for additions.

    `present` maps hash -> (ref, label); hashes are validated for the list's algorithm and
    invalid ones skipped (an exchange may send a signal of another shape). Hashes in neither
    are left alone, so an exchange's incremental update touches only what it names. With
    `rematch` false the caller queues the re-match itself (`queue_rematch`), once for many pages.
    """
    algorithm = get_algorithm(hash_list.algorithm)
    wanted: dict[str, tuple[str | None, str | None]] = {}
    for value, meta in present.items():
        try:
            wanted[algorithm.validate(value)] = meta
        except InvalidInput:
            continue
    gone = set()
    for value in absent:
        try:
            gone.add(algorithm.validate(value))
        except InvalidInput:
            continue
    gone -= set(wanted)
    touched = sorted(set(wanted) | gone)
    list_id = hash_list.id
    # (id, ref, label) by hash: plain rows, one statement with one parameter (`in_values`)
    existing: dict[str, tuple[int, str | None, str | None]] = {}
    if touched:
        test, params = in_values(session, "hash", touched)
        rows = session.execute(
            text(f"SELECT hash, id, ref, label FROM hash_entries WHERE list_id = :l AND {test}"),
            {"l": list_id, **params},
        ).all()
        existing = {h: (i, r, la) for h, i, r, la in rows}
    to_add = [
        (list_id, h, _short(ref), _short(label), None)
        for h, (ref, label) in wanted.items()
        if h not in existing
    ]
    changed_rows = [
        {"entry_id": existing[h][0], "new_ref": _short(ref), "new_label": _short(label)}
        for h, (ref, label) in wanted.items()
        if h in existing and existing[h][1:] != (_short(ref), _short(label))
    ]
    if changed_rows:  # changed labels: one executemany
        session.connection().execute(_UPDATE_ENTRY_LABELS, changed_rows)
    updated = len(changed_rows)
    removed_ids = [existing[h][0] for h in gone if h in existing]
    _delete_entries(session, removed_ids)
    _insert_entries(session, to_add)
    if to_add:
        _apply_suppressions(session, list_id, [row[1] for row in to_add])
    if to_add or removed_ids or updated:
        hash_list.entry_count += len(to_add) - len(removed_ids)
        hash_list.version += 1
        hash_list.updated_at = utcnow()
        session.add(hash_list)
    session.flush()
    if to_add or removed_ids or updated:
        # the new version's index snapshot is written at commit: live at once (issue 18),
        # derived from the previous version's with these changes (no read of the list)
        publish_snapshot(
            session=session,
            hash_list=hash_list,
            removed=removed_ids,
            added=[row[1] for row in to_add],
        )
    if to_add or removed_ids:
        record(
            session,
            actor=actor,
            action="hashlist.sync",
            subject=f"hashlist:{hash_list.name}",
            details={
                "added": len(to_add),
                "removed": len(removed_ids),
                "updated": updated,
                "version": hash_list.version,
            },
        )
    if to_add and rematch:
        _enqueue_rematch(session, hash_list)
    return {
        "added": len(to_add),
        "removed": len(removed_ids),
        "updated": updated,
        "version": hash_list.version,
    }


_UPDATE_ENTRY_LABELS = (
    update(HashEntry.__table__)  # type: ignore[attr-defined]
    .where(HashEntry.__table__.c.id == bindparam("entry_id"))  # type: ignore[attr-defined]
    .values(ref=bindparam("new_ref"), label=bindparam("new_label"))
)


def queue_rematch(*, session: Session, hash_list: HashList) -> None:
    """Queue the re-match of kept sample hashes against the list's current version."""
    _enqueue_rematch(session, hash_list)


def _short(value: str | None) -> str | None:
    return value[:200] if value else None


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
