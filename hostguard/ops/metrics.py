"""Prometheus metrics at /metrics, safe with several gunicorn worker processes.

Counters and histograms live in this process (or, when PROMETHEUS_MULTIPROC_DIR is set, in
files every gunicorn worker of one server writes and /metrics adds up). Gauges that describe
the shared state (queue depth, overdue cases, list sizes, outbox backlog) are read from the
database at scrape time, so every process reports the same numbers.

The instruments themselves, and the calls domains record into them, are in
`hostguard.instruments`.
"""

from __future__ import annotations

import hmac
import logging

from sqlmodel import col, func, select

from hostguard.cases.models import OPEN_STATUSES, Case, Notification, NotificationStatus
from hostguard.cases.statements.submission import counts as submission_counts
from hostguard.cases.statements.submission import waiting_for_a_person
from hostguard.db.types import utcnow
from hostguard.instruments import (
    _instruments,
    multiprocess_dir,
)
from hostguard.jobs.service import backlog, counts, oldest_due_age
from hostguard.ops import sources

log = logging.getLogger(__name__)


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
                yield from self._exchanges(session, GaugeMetricFamily)
                yield from self._notifications(session, GaugeMetricFamily)
                yield from self._statements(session, GaugeMetricFamily)
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
        open_filter = col(Case.status).in_([str(s) for s in OPEN_STATUSES])
        open_cases = session.exec(select(func.count()).select_from(Case).where(open_filter)).one()
        overdue = session.exec(
            select(func.count())
            .select_from(Case)
            .where(
                open_filter, col(Case.deadline_at).is_not(None), col(Case.deadline_at) < utcnow()
            )
        ).one()
        g = Gauge("hostguard_cases_open", "Cases waiting for a decision")
        g.add_metric([], open_cases)
        yield g
        g = Gauge("hostguard_cases_overdue", "Open cases past their deadline")
        g.add_metric([], overdue)
        yield g

    def _lists(self, session, Gauge):
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

    def _exchanges(self, session, Gauge):
        rows = sources.exchange_states(session)
        now = utcnow()
        success = Gauge(
            "hostguard_exchange_last_success_timestamp_seconds",
            "When each exchange was last fetched without error (0: never)",
            labels=["exchange", "type"],
        )
        lag = Gauge(
            "hostguard_exchange_lag_seconds",
            "Seconds since each exchange's last successful fetch",
            labels=["exchange", "type"],
        )
        failures = Gauge(
            "hostguard_exchange_failures", "Failed fetches in a row", labels=["exchange", "type"]
        )
        added = Gauge(
            "hostguard_exchange_added",
            "Entries each exchange has added",
            labels=["exchange", "type"],
        )
        removed = Gauge(
            "hostguard_exchange_removed",
            "Entries each exchange has removed",
            labels=["exchange", "type"],
        )
        for row in rows:
            labels = [row.name, row.type]
            last = row.last_success_at
            success.add_metric(labels, last.timestamp() if last else 0)
            if last is not None:
                lag.add_metric(labels, max(0.0, (now - last).total_seconds()))
            failures.add_metric(labels, row.failures)
            added.add_metric(labels, row.added_total)
            removed.add_metric(labels, row.removed_total)
        yield from (success, lag, failures, added, removed)

    def _notifications(self, session, Gauge):
        pending = session.exec(
            select(func.count())
            .select_from(Notification)
            .where(Notification.status == NotificationStatus.PENDING)
        ).one()
        g = Gauge("hostguard_notifications_pending", "Notifications waiting to be delivered")
        g.add_metric([], pending)
        yield g

    def _statements(self, session, Gauge):
        g = Gauge(
            "hostguard_tdb_statements",
            "Statements of reasons by Transparency Database submission state "
            "(pending includes those being sent; failed includes those retried later)",
            labels=["state"],
        )
        by_state = submission_counts(session)
        g.add_metric(["submitted"], by_state["submitted"])
        g.add_metric(["pending"], by_state["pending"] + by_state["sending"])
        g.add_metric(["failed"], by_state["failed"])
        yield g
        g = Gauge(
            "hostguard_tdb_statements_waiting_for_a_person",
            "Failed statements the worker no longer retries (refused by the database, or given up)",
        )
        g.add_metric([], waiting_for_a_person(session))
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
