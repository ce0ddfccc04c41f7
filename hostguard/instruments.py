"""The Prometheus instruments every layer records into: request latency, decisions, matching time.

Domains record what only they know with calls that need no Flask and no web layer:
`record_decision(check, outcome)` and `observe_matching(seconds, algorithm=...)` (or the
`matching_timer(algorithm)` context manager). Moderators' decisions are counted as
`hostguard_decisions_total{check="moderation", outcome=<action>}` when the transaction that
made them commits, whichever surface made them. `hostguard.ops.metrics` renders them.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

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
