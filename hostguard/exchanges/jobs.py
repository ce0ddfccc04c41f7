"""Background work of hostguard.exchanges: fetch each exchange on its interval, send feedback."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from hostguard.exchanges.service import (
    FEEDBACK_JOB,
    FETCH_JOB,
    FetchRunning,
    deliver_feedback,
    due_exchanges,
    enqueue_fetch,
    fetch_exchange,
)
from hostguard.jobs.periodic import periodic
from hostguard.jobs.service import commit_progress, handler

if TYPE_CHECKING:
    from hostguard.runtime import Runtime

log = logging.getLogger(__name__)


@periodic("exchanges.schedule", every=timedelta(minutes=1))
def schedule_fetches(*, session, runtime: Runtime) -> list[str]:
    """Queue a fetch of every exchange whose interval (from the policy) has passed."""
    due = due_exchanges(session=session)
    for name in due:
        enqueue_fetch(session=session, name=name)
    return due


@handler(FETCH_JOB)
def _fetch_job(*, session, payload, job, runtime: Runtime) -> None:
    # each applied group commits with its checkpoint (the job stays claimed)
    try:
        fetch_exchange(
            session=session,
            runtime=runtime,
            name=str(payload["exchange"]),
            commit=lambda: commit_progress(session),
        )
    except FetchRunning as exc:  # a manual fetch has it: that one brings the list up to date
        log.info("%s; this fetch is skipped", exc.message)


@handler(FEEDBACK_JOB)
def _feedback_job(*, session, payload, job, runtime: Runtime) -> None:
    deliver_feedback(
        session=session,
        runtime=runtime,
        feedback_id=int(payload["feedback_id"]),
        commit=lambda: commit_progress(session),  # "sending" is kept before the call
    )
