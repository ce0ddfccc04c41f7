"""Connected exchanges: add, list, remove, fetch (incrementally, from a checkpoint) and feedback.

Service functions are keyword-only, take the caller's `session` and never commit, except that
`fetch_exchange` calls the caller's `commit` after each group of pages it applied: a group and
the checkpoint after it go in together, so a fetch killed at any point resumes from the last
group applied, and applying a page again changes nothing (records are keyed by the
exchange's own keys). Credentials are encrypted with the personal-data keyring and never returned, logged or
put in an error message.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict, cast
from urllib.parse import quote, quote_plus

from sqlalchemy import delete, func, or_, text, update
from sqlmodel import Session, col, select

from hostguard.audit.service import record
from hostguard.db import is_postgres
from hostguard.db.types import utcnow
from hostguard.errors import Conflict, HostguardError, InvalidInput, NotFound, safe_error_text
from hostguard.exchanges import clients
from hostguard.exchanges.models import (
    Exchange,
    ExchangeFeedback,
    ExchangeRecord,
    FeedbackStatus,
)
from hostguard.hashing.algorithms import ALGORITHMS
from hostguard.hashing.models import HashList
from hostguard.hashing.service import (
    ImportRefused,
    apply_entry_changes,
    ensure_list,
    import_list,
    in_values,
    queue_rematch,
    remove_list,
)
from hostguard.jobs.models import Job, JobStatus
from hostguard.jobs.service import JobLost, enqueue, without_transaction
from hostguard.platform.webhooks import send_event

if TYPE_CHECKING:
    import psycopg

    from hostguard.policy import Policy
    from hostguard.runtime import Runtime

log = logging.getLogger(__name__)

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
FETCH_JOB = "exchanges.fetch"
FEEDBACK_JOB = "exchanges.feedback"
SETTING_NAMES = ("url", "base_url", "environment", "privacy_group")


class ExchangeInfo(TypedDict):
    """What anyone allowed may see of an exchange: settings and state, never its credentials."""

    name: str
    type: str
    algorithm: str
    list: str
    settings: dict[str, str]
    credentials: str  # "stored" or "none": the values are never shown again
    enabled: bool
    interval_minutes: int
    last_attempt_at: str | None
    last_success_at: str | None
    lag_seconds: int | None
    last_added: int
    last_removed: int
    added_total: int
    removed_total: int
    failures: int
    last_error: str | None
    entries: int
    feedback_queued: int
    feedback_sent: int


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def lag_seconds(exchange: Exchange, now: datetime | None = None) -> int | None:
    """How far behind the exchange the list may be: since the last successful fetch."""
    if exchange.last_success_at is None:
        return None
    return max(0, int(((now or utcnow()) - exchange.last_success_at).total_seconds()))


def describe(session: Session, exchange: Exchange) -> ExchangeInfo:
    hash_list = session.exec(select(HashList).where(HashList.name == exchange.name)).first()
    feedback = dict(
        session.execute(
            select(ExchangeFeedback.status, func.count())
            .where(ExchangeFeedback.exchange_id == exchange.id)
            .group_by(col(ExchangeFeedback.status))
        ).all()
    )
    return {
        "name": exchange.name,
        "type": exchange.type,
        "algorithm": exchange.algorithm,
        "list": exchange.name,
        "settings": {k: str(v) for k, v in (exchange.settings or {}).items()},
        "credentials": "stored" if exchange.credentials_enc else "none",
        "enabled": exchange.enabled,
        "interval_minutes": exchange.interval_seconds // 60,
        "last_attempt_at": _iso(exchange.last_attempt_at),
        "last_success_at": _iso(exchange.last_success_at),
        "lag_seconds": lag_seconds(exchange),
        "last_added": exchange.last_added,
        "last_removed": exchange.last_removed,
        "added_total": exchange.added_total,
        "removed_total": exchange.removed_total,
        "failures": exchange.failures,
        "last_error": exchange.last_error,
        "entries": hash_list.entry_count if hash_list else 0,
        "feedback_queued": int(feedback.get(FeedbackStatus.QUEUED, 0)),
        "feedback_sent": int(feedback.get(FeedbackStatus.SENT, 0)),
    }


def list_exchanges(*, session: Session) -> list[ExchangeInfo]:
    rows = session.exec(select(Exchange).order_by(Exchange.name)).all()
    return [describe(session, row) for row in rows]


def get_exchange(*, session: Session, name: str) -> Exchange:
    exchange = session.exec(select(Exchange).where(Exchange.name == name)).first()
    if exchange is None:
        raise NotFound(f"no exchange named {name[:100]!r}", code="exchange_not_found")
    return exchange


def add_exchange(
    *,
    session: Session,
    runtime: Runtime,
    actor: str,
    policy: Policy,
    name: str,
    type: str,
    algorithm: str | None = None,
    settings: dict[str, Any] | None = None,
    credentials: dict[str, str] | None = None,
) -> ExchangeInfo:
    """Connect an exchange; it feeds the hash list of its name, set up from the policy."""
    if not NAME_RE.match(name or ""):
        raise InvalidInput("exchange names are 1-100 characters: letters, digits, '.', '_' or '-'")
    algorithm = algorithm or "pdq"
    if algorithm not in ALGORITHMS or ALGORITHMS[algorithm].video:
        names = ", ".join(name for name, alg in ALGORITHMS.items() if not alg.video)
        raise InvalidInput(f"--algorithm must be one of {names}")
    settings = {k: v for k, v in (settings or {}).items() if k in SETTING_NAMES and v}
    credentials = {k: v for k, v in (credentials or {}).items() if v}
    clients.check_settings(type, algorithm, settings, credentials)
    if session.exec(select(Exchange).where(Exchange.name == name)).first() is not None:
        raise Conflict(f"an exchange named {name} already exists", code="exchange_exists")
    defaults = policy.hash_lists.exchanges.get(type)
    if defaults is None:
        raise InvalidInput(f"the policy has no hash_lists.exchanges entry for {type}")
    ensure_list(
        session=session,
        name=name,
        algorithm=algorithm,
        category=defaults.category,
        action=str(defaults.action),
        threshold=defaults.threshold,
        source=f"exchange {type}: {name}",
    )
    exchange = Exchange(
        name=name,
        type=type,
        algorithm=algorithm,
        settings=settings,
        credentials_enc=runtime.keys.encrypt(json.dumps(credentials)) if credentials else None,
        interval_seconds=defaults.interval_minutes * 60,
    )
    session.add(exchange)
    session.flush()
    record(
        session,
        actor=actor,
        action="exchange.add",
        subject=f"exchange:{name}",
        details={"type": type, "algorithm": algorithm, "settings": sorted(settings)},
    )
    return describe(session, exchange)


def remove_exchange(*, session: Session, actor: str, name: str) -> ExchangeInfo:
    """Disconnect an exchange and remove the list it fed (its entries would act unmaintained)."""
    exchange = get_exchange(session=session, name=name)
    info = describe(session, exchange)
    session.execute(delete(ExchangeRecord).where(col(ExchangeRecord.exchange_id) == exchange.id))
    session.execute(
        delete(ExchangeFeedback).where(col(ExchangeFeedback.exchange_id) == exchange.id)
    )
    session.delete(exchange)
    session.flush()
    if session.exec(select(HashList).where(HashList.name == name)).first() is not None:
        remove_list(session=session, actor=actor, name=name)
    record(
        session,
        actor=actor,
        action="exchange.remove",
        subject=f"exchange:{name}",
        details={"type": info["type"], "entries": info["entries"]},
    )
    return info


def _credentials(runtime: Runtime, exchange: Exchange) -> dict[str, str]:
    return json.loads(runtime.keys.decrypt_str(exchange.credentials_enc) or "{}")


def _scrubbed(exc: BaseException, secrets: Iterable[str]) -> str:
    """An error's text for the state table and the log, with no credential in it."""
    text = clients.redact(f"{exc.__class__.__name__}: {safe_error_text(exc)}")
    for secret in secrets:
        if secret and len(secret) >= 4:
            for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
                text = text.replace(form, "***")
    return text[:500]


class FetchRunning(Conflict):
    """Another process holds the exchange's fetch lease: this fetch does not start."""

    code = "fetch_running"


# The lease lasts this long unless renewed (with each group applied): what a holder killed on
# another host can block its exchange for. On the holder's own host a dead process is seen
# at once.
FETCH_LEASE = timedelta(minutes=5)


def _holder_alive(holder: str) -> bool:
    """False only when `holder` (host:pid:nonce) is a process of this host that is gone."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another host's process: only its lease's expiry says it is gone
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process with that id: alive
        return True
    return True


def _lease_text(exchange: Exchange) -> str:
    until = exchange.fetch_until.isoformat(timespec="seconds") if exchange.fetch_until else "?"
    return f"{exchange.fetch_holder} (lease until {until})"


def check_not_fetching(*, session: Session, name: str) -> Exchange:
    """The exchange, or `FetchRunning` while a live process holds its fetch lease."""
    exchange = get_exchange(session=session, name=name)
    now = utcnow()
    if (
        exchange.fetch_holder
        and exchange.fetch_until
        and exchange.fetch_until > now
        and _holder_alive(exchange.fetch_holder)
    ):
        raise FetchRunning(
            f"exchange {exchange.name}: a fetch is already running in {_lease_text(exchange)}",
            details={"holder": exchange.fetch_holder},
        )
    return exchange


def take_fetch_lease(
    *, session: Session, name: str, holder: str, lease: timedelta, commit: Callable[[], None]
) -> Exchange:
    """Take the exchange's fetch lease for `holder` in a transaction of its own (`commit`).

    A conditional UPDATE on the exchange's row: on PostgreSQL a second taker waits for the
    first's commit and then finds the lease taken; on SQLite writes are serialised. Raises
    `FetchRunning` while a live holder has it.
    """
    exchange = check_not_fetching(session=session, name=name)
    now = utcnow()
    previous = exchange.fetch_holder
    taken = session.execute(
        update(Exchange)
        .where(
            col(Exchange.id) == exchange.id,
            or_(
                col(Exchange.fetch_holder).is_(None),
                col(Exchange.fetch_until) <= now,
                col(Exchange.fetch_holder) == previous,  # seen gone (or lapsed) just now
            ),
        )
        .values(fetch_holder=holder, fetch_until=now + lease)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise FetchRunning(f"exchange {name}: a fetch is already running")
    if previous:
        log.warning("exchange %s: took over the fetch lease of %s", name, previous)
    commit()
    session.refresh(exchange)
    return exchange


def renew_fetch_lease(*, session: Session, exchange: Exchange, holder: str, lease: timedelta):
    """Extend the lease in the caller's transaction; `FetchRunning` if it is no longer ours."""
    renewed = session.execute(
        update(Exchange)
        .where(col(Exchange.id) == exchange.id, col(Exchange.fetch_holder) == holder)
        .values(fetch_until=utcnow() + lease)
        .execution_options(synchronize_session=False)
    )
    if renewed.rowcount != 1:  # type: ignore[attr-defined]
        raise FetchRunning(f"exchange {exchange.name}: the fetch lease was taken over")


def release_fetch_lease(*, session: Session, exchange_id: int | None, holder: str) -> None:
    session.execute(
        update(Exchange)
        .where(col(Exchange.id) == exchange_id, col(Exchange.fetch_holder) == holder)
        .values(fetch_holder=None, fetch_until=None)
        .execution_options(synchronize_session=False)
    )


class FetchResult(TypedDict):
    exchange: str
    ok: bool
    batches: int
    added: int
    removed: int
    updated: int
    error: str | None


def fetch_exchange(
    *,
    session: Session,
    runtime: Runtime,
    name: str,
    commit: Callable[[], None],
    actor: str = "system",
    lease: timedelta | None = None,
) -> FetchResult:
    """Fetch an exchange from its checkpoint and apply each batch; raises only `FetchRunning`.

    First the exchange's fetch lease is taken (`take_fetch_lease`, its own transaction):
    while another process fetches the exchange, `FetchRunning` is raised and nothing is
    done. The exchange's pages (additions, removals and changed labels of the records they
    name) are applied in groups, each with the checkpoint after its last page and the lease
    renewed, then `commit` is called (`apply_pages`); a group is never committed once the
    lease is lost. A failure (the exchange answering errors after the client's own retries,
    a bad answer) leaves the list as the last group left it, is recorded in the exchange's
    state, and alerts on the first failure in a row. The lease is let go at the end.
    """
    lease = lease or FETCH_LEASE
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    exchange = take_fetch_lease(
        session=session, name=name, holder=holder, lease=lease, commit=commit
    )
    exchange_id = exchange.id

    def held_commit() -> None:
        renew_fetch_lease(session=session, exchange=exchange, holder=holder, lease=lease)
        commit()

    try:
        return _fetch_held(
            session=session, runtime=runtime, exchange=exchange, commit=held_commit, actor=actor
        )
    finally:
        try:
            session.rollback()  # a group not committed (the lease lost, the process stopping)
            release_fetch_lease(session=session, exchange_id=exchange_id, holder=holder)
            commit()
        except Exception as exc:  # the lease then lapses by itself
            log.warning("exchange %s: could not let go of the fetch lease: %s", name, exc)


def _fetch_held(
    *,
    session: Session,
    runtime: Runtime,
    exchange: Exchange,
    commit: Callable[[], None],
    actor: str,
) -> FetchResult:
    name = exchange.name
    policy = runtime.policy
    defaults = policy.hash_lists.exchanges[exchange.type]
    hash_list = ensure_list(
        session=session,
        name=exchange.name,
        algorithm=exchange.algorithm,
        category=defaults.category,
        action=str(defaults.action),
        threshold=defaults.threshold,
        source=f"exchange {exchange.type}: {exchange.name}",
    )
    exchange.last_attempt_at = utcnow()
    exchange.interval_seconds = defaults.interval_minutes * 60
    session.add(exchange)
    commit()
    result: FetchResult = {
        "exchange": name,
        "ok": True,
        "batches": 0,
        "added": 0,
        "removed": 0,
        "updated": 0,
        "error": None,
    }
    credentials = _credentials(runtime, exchange) if exchange.credentials_enc else {}
    try:
        if exchange.type == clients.FILE:
            _fetch_file(session, exchange, actor, result)
        else:
            api = clients.build(exchange.type, exchange.name, exchange.settings, credentials)
            pages = clients.fetch(
                api,
                name=exchange.name,
                algorithm=exchange.algorithm,
                checkpoint=exchange.checkpoint,
            )
            apply_pages(
                session=session,
                exchange=exchange,
                hash_list=hash_list,
                pages=pages,
                actor=actor,
                commit=commit,
                result=result,
                group_records=runtime.settings.exchange_group_records,
            )
    except (FetchRunning, JobLost):  # another holder goes on from the checkpoint
        raise
    except Exception as exc:  # the exchange's failure is state to show, not a crash
        if result["added"]:  # the pages applied before the failure still re-match the past
            queue_rematch(session=session, hash_list=hash_list)
        error = _scrubbed(exc, credentials.values())
        first = exchange.failures == 0
        exchange.failures += 1
        exchange.last_error = error
        session.add(exchange)
        log.warning("exchange %s: fetch failed (%s in a row): %s", name, exchange.failures, error)
        details = {"exchange": name, "type": exchange.type, "error": error}
        record(
            session,
            actor=actor,
            action="exchange.fetch_failed",
            subject=f"exchange:{name}",
            details=details,
        )
        if first:
            send_event(session, runtime=runtime, event="exchange.failing", payload=details)
        commit()
        result.update({"ok": False, "error": error})
        return result
    if result["added"] and exchange.type != clients.FILE:  # import_list queued its own
        queue_rematch(session=session, hash_list=hash_list)
    exchange.last_success_at = utcnow()
    exchange.failures = 0
    exchange.last_error = None
    exchange.last_added, exchange.last_removed = result["added"], result["removed"]
    session.add(exchange)
    record(
        session,
        actor=actor,
        action="exchange.fetch",
        subject=f"exchange:{name}",
        details={k: result[k] for k in ("batches", "added", "removed", "updated")},
    )
    commit()
    return result


# Pages are applied in groups: each group is one transaction and one new version of the list,
# whose index snapshot every process of the host then maps, so a group costs a commit and a
# snapshot (about a second at a million entries, mostly the multi-index tables) whatever its
# size. A group is applied with the checkpoint after its last page once it holds
# `exchange_group_records` records (50,000 by default) or GROUP_SECONDS have passed, so a
# fetch killed mid-way fetches at most one group again, and a slow exchange's pages still
# land within seconds.
GROUP_RECORDS = 50_000
GROUP_SECONDS = 5.0


def apply_pages(
    *,
    session: Session,
    exchange: Exchange,
    hash_list: HashList,
    pages: Iterable[clients.Batch],
    actor: str,
    commit: Callable[[], None],
    result: FetchResult,
    group_records: int = GROUP_RECORDS,
) -> None:
    """Apply an exchange's pages in order, each group with its checkpoint, then `commit`."""
    group: dict[str, list[tuple[str, str | None]]] = {}
    checkpoint: dict | None = None
    progress: datetime | None = None
    waiting = False
    since = time.monotonic()

    def flush() -> None:
        nonlocal waiting, since
        with _large_cache(session):
            with session.begin_nested():
                changes = _apply_batch(session, exchange, hash_list, group, actor)
                exchange.checkpoint = checkpoint
                exchange.progress_at = progress or exchange.progress_at
                exchange.added_total += changes["added"]
                exchange.removed_total += changes["removed"]
                session.add(exchange)
            commit()
        for key in ("added", "removed", "updated"):
            result[key] += changes[key]
        group.clear()
        waiting, since = False, time.monotonic()

    iterator = iter(pages)
    while True:
        with _waiting(session):
            page = next(iterator, None)
        if page is None:
            break
        group.update(page.records)  # a later page's record replaces an earlier one's
        checkpoint, progress = page.checkpoint, page.progress_at or progress
        waiting = True
        result["batches"] += 1
        if len(group) >= group_records or time.monotonic() - since >= GROUP_SECONDS:
            flush()
    if waiting:
        flush()


# SQLite's page cache while a group is applied (KiB; the default is 2 MB): a group's changes
# land at random places of 1 M-row indexes, and with the default cache most of the time went
# to re-reading and spilling their pages (see docs/benchmarks, "Hash exchanges").
SQLITE_GROUP_CACHE_KIB = 262_144


@contextmanager
def _large_cache(session: Session) -> Iterator[None]:
    connection = session.connection()
    if is_postgres(connection):
        yield
        return
    raw = connection.connection.dbapi_connection  # the same one after the commit
    assert raw is not None
    before = raw.execute("PRAGMA cache_size").fetchone()[0]
    raw.execute(f"PRAGMA cache_size=-{SQLITE_GROUP_CACHE_KIB}")
    try:
        yield
    finally:  # after the commit (which writes the dirty pages): back as it was for the pool
        raw.execute(f"PRAGMA cache_size={int(before)}")


@contextmanager
def _waiting(session: Session) -> Iterator[None]:
    """Wait on the exchange holding no transaction (on SQLite every transaction holds the one
    write lock, which would stall every web request for as long as the exchange takes).

    Everything a fetch writes is committed before it waits (each group with `commit`), so
    only reads are let go: in a job through `without_transaction` (the job row is locked
    again after), elsewhere by ending the read transaction.
    """
    with without_transaction(session) as let_go:
        if not let_go and not (session.new or session.dirty or session.deleted):
            session.rollback()
        yield


def _fetch_file(session: Session, exchange: Exchange, actor: str, result: FetchResult) -> None:
    url = str(exchange.settings["url"])
    with _waiting(session):
        data = clients.fetch_file(url)
    try:
        with session.begin_nested():
            summary = import_list(
                session=session,
                actor=actor,
                name=exchange.name,
                data=data,
                algorithm=exchange.algorithm,
                replace=True,
            )
    except ImportRefused as exc:
        raise InvalidInput(f"the file was refused: {exc.message}") from None
    exchange.added_total += summary.get("added", 0)
    exchange.removed_total += summary.get("removed", 0)
    exchange.progress_at = utcnow()
    result.update(
        {"batches": 1, "added": summary.get("added", 0), "removed": summary.get("removed", 0)}
    )


def _apply_batch(
    session: Session,
    exchange: Exchange,
    hash_list: HashList,
    records: dict[str, list[tuple[str, str | None]]],
    actor: str,
):
    """Replace the named records' hashes; an entry stays while any record of the exchange holds it.

    Set-based: a handful of statements for the whole group, each with one parameter for its
    keys or hashes (`in_values`), whatever the group's size; no ORM object per record.
    """
    keys = sorted(records)
    before: set[str] = set()
    if keys:
        test, params = in_values(session, "key", keys)
        before = set(
            session.execute(
                text(
                    f"DELETE FROM exchange_records WHERE exchange_id = :e AND {test} RETURNING hash"
                ),
                {"e": exchange.id, **params},
            )
            .scalars()
            .all()
        )
    new = [
        (exchange.id, key, value.lower(), label)
        for key in keys
        for value, label in dict(records[key]).items()
    ]
    _insert_records(session, new)
    touched = sorted(before | {h for _, _, h, _ in new})
    held: dict[str, tuple[str | None, str | None]] = {}
    if touched:
        test, params = in_values(session, "hash", touched)
        for value, key, label in session.execute(
            text(
                f"SELECT hash, key, label FROM exchange_records WHERE exchange_id = :e AND {test}"
                " ORDER BY id"
            ),
            {"e": exchange.id, **params},
        ).all():
            held.setdefault(value, (key, label))
    return apply_entry_changes(
        session=session,
        actor=actor,
        hash_list=hash_list,
        present=held,
        absent=[h for h in touched if h not in held],
        rematch=False,  # fetch_exchange queues one re-match for the whole fetch
    )


def _insert_records(session: Session, rows: list[tuple]) -> None:
    """Bulk insert (exchange_id, key, hash, label) rows: COPY on PostgreSQL, executemany else."""
    if not rows:
        return
    connection = session.connection()
    if is_postgres(connection):
        raw = cast("psycopg.Connection[Any]", connection.connection.dbapi_connection)
        with raw.cursor() as cursor:
            with cursor.copy(
                "COPY exchange_records (exchange_id, key, hash, label) FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row(row)
        return
    sql = "INSERT INTO exchange_records (exchange_id, key, hash, label) VALUES (?, ?, ?, ?)"
    connection.exec_driver_sql(sql, rows)


def due_exchanges(*, session: Session, now: datetime | None = None) -> list[str]:
    """Enabled exchanges whose interval has passed since their last attempt."""
    now = now or utcnow()
    due = []
    for exchange in session.exec(select(Exchange).where(Exchange.enabled)).all():
        last = exchange.last_attempt_at
        if last is None or now - last >= timedelta(seconds=exchange.interval_seconds):
            due.append(exchange.name)
    return due


def enqueue_fetch(
    *, session: Session, name: str, now: datetime | None = None, manual: bool = False
) -> None:
    """Queue a fetch: once per interval slot when scheduled; once per second when asked for.

    Not while a fetch of the exchange is queued or running: two at once would only repeat
    each other's pages (harmless, records are keyed) and move the checkpoint back.
    """
    exchange = get_exchange(session=session, name=name)
    now = now or utcnow()
    pending = session.exec(
        select(Job.id).where(
            col(Job.kind) == FETCH_JOB,
            col(Job.dedupe_key).startswith(f"{FETCH_JOB}:{exchange.id}:"),
            col(Job.status).in_([JobStatus.QUEUED, JobStatus.RUNNING]),
        )
    ).first()
    if pending is not None:
        return
    slot = (
        int(now.timestamp())
        if manual
        else int(now.timestamp() // max(exchange.interval_seconds, 60))
    )
    enqueue(
        session,
        FETCH_JOB,
        {"exchange": name},
        dedupe_key=f"{FETCH_JOB}:{exchange.id}:{'now' if manual else 'slot'}:{slot}",
        # a worker killed mid-fetch: the job runs again once its lease ran out, resuming from
        # the checkpoint (a fetch's own failures are state, never a job failure to retry)
        max_attempts=3,
    )


# --- feedback ------------------------------------------------------------------------------------


def exchange_for_list(*, session: Session, list_name: str) -> Exchange | None:
    return session.exec(select(Exchange).where(Exchange.name == list_name)).first()


def queue_feedback(*, session: Session, actor: str, list_name: str, hashes: Iterable[str]) -> int:
    """Queue a false-positive report for each hash, where the list's exchange accepts one.

    Each (exchange, hash) is reported once: queuing it again adds nothing. Returns how many
    reports were queued.
    """
    exchange = exchange_for_list(session=session, list_name=list_name)
    if exchange is None or exchange.type not in clients.FEEDBACK:
        return 0
    queued = 0
    for value in sorted(set(hashes)):
        known = session.exec(
            select(ExchangeFeedback).where(
                ExchangeFeedback.exchange_id == exchange.id, ExchangeFeedback.hash == value
            )
        ).first()
        if known is not None:
            continue
        ref = session.exec(
            select(ExchangeRecord.key).where(
                ExchangeRecord.exchange_id == exchange.id, ExchangeRecord.hash == value
            )
        ).first()
        assert exchange.id is not None
        feedback = ExchangeFeedback(exchange_id=exchange.id, hash=value, ref=ref, actor=actor[:200])
        session.add(feedback)
        session.flush()
        enqueue(
            session,
            FEEDBACK_JOB,
            {"feedback_id": feedback.id},
            dedupe_key=f"{FEEDBACK_JOB}:{feedback.id}",
        )
        queued += 1
    if queued:
        record(
            session,
            actor=actor,
            action="exchange.feedback_queued",
            subject=f"exchange:{exchange.name}",
            details={"reports": queued},
        )
    return queued


def deliver_feedback(
    *,
    session: Session,
    runtime: Runtime,
    feedback_id: int,
    commit: Callable[[], None] | None = None,
) -> bool:
    """Send one queued report (the job's body). Already sent: nothing happens.

    Each exchange holds a member's feedback on an entry as one state, which the call sets:
    NCMEC's is a `PUT` of this member's vote on the entry's fingerprint (its entries list,
    per fingerprint and vote, the members who gave it), StopNCII's `SubmitFeedback` sets this
    platform's feedback on the hash (a record's `CSPFeedbacks` hold one per platform, named
    by its `source`). Sending the same report again therefore leaves the exchange as the
    first call did: the exchange holds the report once however often it arrived. Neither
    takes an idempotency key or lets hostguard read one entry's feedback back, so the window
    in which a report can arrive twice is kept as small as it can be: the report is marked
    "sending" and committed (`commit`) before the call, and marked sent in the transaction
    that ends the job, right after the exchange accepted it. A report found still "sending"
    was begun by a process that died (or lost the answer) in that window: the same report is
    sent again, recorded as `exchange.feedback_resent`. An exchange that answered with an
    error did not take it: the report goes back to queued and the job is retried with
    back-off.
    """
    feedback = session.get(ExchangeFeedback, feedback_id, with_for_update=True)
    if feedback is None or feedback.status in (FeedbackStatus.SENT, FeedbackStatus.DEAD):
        return False
    exchange = session.get(Exchange, feedback.exchange_id)
    if exchange is None:
        return False
    if feedback.status == FeedbackStatus.SENDING:
        record(
            session,
            actor="system",
            action="exchange.feedback_resent",
            subject=f"exchange:{exchange.name}",
            details={
                "feedback_id": feedback.id,
                "attempts": feedback.attempts,
                "why": "an earlier call's outcome is unknown (its process stopped before "
                "recording it); the same report is sent again, which sets the same state "
                "at the exchange",
            },
        )
    feedback.status = FeedbackStatus.SENDING
    feedback.sending_at = utcnow()
    feedback.attempts += 1
    session.add(feedback)
    (commit or session.commit)()
    feedback_id, name, kind = feedback.id or feedback_id, exchange.name, exchange.type
    settings, algorithm = exchange.settings, exchange.algorithm
    ref, value = feedback.ref, feedback.hash
    credentials = _credentials(runtime, exchange) if exchange.credentials_enc else {}
    api = clients.build(kind, name, settings, credentials)
    try:
        with without_transaction(session):  # no lock held while the exchange answers
            clients.send_feedback(api, kind=kind, ref=ref, hash=value, algorithm=algorithm)
    except Exception as exc:
        if _answered_with_error(exc):  # the exchange did not take it: queued again
            again = session.get(ExchangeFeedback, feedback_id, with_for_update=True)
            if again is not None:
                again.status = FeedbackStatus.QUEUED
                session.add(again)
                (commit or session.commit)()
        if isinstance(exc, HostguardError):
            raise
        raise RuntimeError(_scrubbed(exc, credentials.values())) from None
    sent = session.get(ExchangeFeedback, feedback_id, with_for_update=True, populate_existing=True)
    assert sent is not None  # only removed with its exchange
    sent.status = FeedbackStatus.SENT
    sent.sent_at = utcnow()
    session.add(sent)
    record(
        session,
        actor="system",
        action="exchange.feedback_sent",
        subject=f"exchange:{name}",
        details={"feedback_id": feedback_id, "attempts": sent.attempts},
    )
    return True


def _answered_with_error(exc: BaseException) -> bool:
    """The exchange answered the call with an HTTP error (so it did not take the report)."""
    response = getattr(exc, "response", None)
    return response is not None and getattr(response, "status_code", 0) >= 400
