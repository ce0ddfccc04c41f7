"""Prometheus metrics at /metrics, safe with several gunicorn worker processes.

Counters and histograms live in this process (or, when PROMETHEUS_MULTIPROC_DIR is set, in
files every gunicorn worker of one server writes and /metrics adds up). Gauges that describe
the shared state (queue depth, overdue cases, list sizes, outbox backlog) are read from the
database at scrape time, so every process reports the same numbers.

Domains record what only they know with two calls that need no Flask:
`record_decision(check, outcome)` and `observe_matching(seconds, algorithm=...)` (or the
`matching_timer(algorithm)` context manager). Moderators' decisions are counted as
`hostguard_decisions_total{check="moderation", outcome=<action>}` when the transaction that
made them commits, whichever surface (console, API, CLI, job) made them.
"""

from __future__ import annotations

import hmac
import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
MATCH_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


@cache
def _instruments():
    from prometheus_client import Counter, Histogram, values

    count_moderation_decisions()
    if multiprocess_dir() and values.ValueClass.__name__ != "MmapedValue":
        # prometheus_client picked its value class when first imported, possibly before the
        # server set PROMETHEUS_MULTIPROC_DIR; metrics made from here on use the files.
        values.ValueClass = values.get_value_class()
    return {
        "requests": Histogram(
            "hostguard_http_request_duration_seconds",
            "Time to answer an HTTP request",
            ["method", "endpoint", "status"],
            buckets=LATENCY_BUCKETS,
        ),
        "decisions": Counter(
            "hostguard_decisions_total",
            "Automated decisions by check and outcome",
            ["check", "outcome"],
        ),
        "matching": Histogram(
            "hostguard_matching_duration_seconds",
            "Time to match hashes against the loaded lists",
            ["algorithm"],
            buckets=MATCH_BUCKETS,
        ),
    }


def count_moderation_decisions() -> None:
    """Count every `Decision` row once its transaction commits (and never one rolled back).

    A session listener rather than a call in the case workflow: a decision is only real once
    committed, which the domain function (it never commits) cannot know.
    """
    _listen_for_decisions()


@cache
def _listen_for_decisions() -> None:
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    key = "hostguard.decisions"

    @event.listens_for(Session, "after_flush")
    def _collect(session, _context):
        models = sys.modules.get("hostguard.cases.models")
        decision = getattr(models, "Decision", None)
        if decision is None:
            return
        actions = [obj.action for obj in session.new if isinstance(obj, decision)]
        if actions:
            session.info.setdefault(key, []).extend(actions)

    @event.listens_for(Session, "after_commit")
    def _count(session):
        for action in session.info.pop(key, ()):
            record_decision("moderation", str(action))

    @event.listens_for(Session, "after_transaction_end")
    def _forget(session, transaction):
        if transaction.parent is None:  # rolled back or closed uncommitted: nothing to count
            session.info.pop(key, None)


def record_decision(check: str, outcome: str) -> None:
    """Count one automated decision, e.g. `record_decision("upload_check", "blocked")`."""
    _instruments()["decisions"].labels(check=check, outcome=outcome).inc()


def observe_matching(seconds: float, *, algorithm: str) -> None:
    _instruments()["matching"].labels(algorithm=algorithm).observe(seconds)


@contextmanager
def matching_timer(algorithm: str) -> Iterator[None]:
    """`with matching_timer("pdq"): index.query(...)` records the matching latency."""
    start = time.perf_counter()
    try:
        yield
    finally:
        observe_matching(time.perf_counter() - start, algorithm=algorithm)


class DatabaseCollector:
    """Gauges read from the shared database at scrape time."""

    def __init__(self, runtime):
        self.runtime = runtime

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        try:
            with self.runtime.session() as session:
                yield from self._jobs(session, GaugeMetricFamily)
                yield from self._cases(session, GaugeMetricFamily)
                yield from self._lists(session, GaugeMetricFamily)
                yield from self._notifications(session, GaugeMetricFamily)
        except Exception as exc:  # a scrape must not fail because one source is missing
            log.warning("metrics: database gauges unavailable: %s", exc.__class__.__name__)
            up = GaugeMetricFamily("hostguard_database_up", "Whether the database answered")
            up.add_metric([], 0)
            yield up
            return
        up = GaugeMetricFamily("hostguard_database_up", "Whether the database answered")
        up.add_metric([], 1)
        yield up

    def _jobs(self, session, Gauge):
        from hostguard.jobs.service import backlog, counts, oldest_due_age

        depth = Gauge(
            "hostguard_jobs", "Jobs by kind and status (queue depth)", labels=["kind", "status"]
        )
        for (kind, status), n in sorted(counts(session).items()):
            if status != "done":
                depth.add_metric([kind, status], n)
        yield depth
        outbox = Gauge("hostguard_outbox_backlog", "Jobs queued or running (deliveries, actions)")
        outbox.add_metric([], backlog(session))
        yield outbox
        age = Gauge("hostguard_jobs_oldest_due_seconds", "How long the oldest due job has waited")
        age.add_metric([], oldest_due_age(session))
        yield age

    def _cases(self, session, Gauge):
        from sqlmodel import func, select

        from hostguard.cases.models import OPEN_STATUSES, Case
        from hostguard.db.types import utcnow

        open_filter = Case.status.in_([str(s) for s in OPEN_STATUSES])
        open_cases = session.exec(select(func.count()).select_from(Case).where(open_filter)).one()
        overdue = session.exec(
            select(func.count())
            .select_from(Case)
            .where(open_filter, Case.deadline_at.is_not(None), Case.deadline_at < utcnow())
        ).one()
        g = Gauge("hostguard_cases_open", "Cases waiting for a decision")
        g.add_metric([], open_cases)
        yield g
        g = Gauge("hostguard_cases_overdue", "Open cases past their deadline")
        g.add_metric([], overdue)
        yield g

    def _lists(self, session, Gauge):
        from hostguard.ops import sources

        sizes = sources.list_sizes(session)
        if sizes is None:
            return
        g = Gauge(
            "hostguard_hashlist_entries",
            "Entries per hash list (active lists)",
            labels=["list", "algorithm"],
        )
        for (name, algorithm), n in sorted(sizes.items()):
            g.add_metric([name, algorithm], n)
        yield g

    def _notifications(self, session, Gauge):
        from sqlmodel import func, select

        from hostguard.cases.models import Notification, NotificationStatus

        pending = session.exec(
            select(func.count())
            .select_from(Notification)
            .where(Notification.status == NotificationStatus.PENDING)
        ).one()
        g = Gauge("hostguard_notifications_pending", "Notifications waiting to be delivered")
        g.add_metric([], pending)
        yield g


def render(runtime) -> tuple[bytes, str]:
    """The exposition text for one scrape."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    _instruments()
    shared = CollectorRegistry()
    shared.register(DatabaseCollector(runtime))
    if multiprocess_dir():
        from prometheus_client import multiprocess

        local = CollectorRegistry()
        multiprocess.MultiProcessCollector(local)
    else:
        local = REGISTRY
    return generate_latest(local) + generate_latest(shared), CONTENT_TYPE_LATEST


def token_allows(expected: str | None, header: str) -> bool:
    """With no token configured /metrics is open; otherwise the bearer token must match."""
    if not expected:
        return True
    scheme, _, supplied = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        supplied.strip().encode(), expected.encode()
    )


def init_metrics(app) -> None:
    """Time every request, enforce the process roles and serve /metrics."""
    from hostguard.ops.web import install

    count_moderation_decisions()
    install(app)
