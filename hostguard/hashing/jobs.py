"""Background jobs of hostguard.hashing: re-match kept sample hashes after a list changes."""

from __future__ import annotations

from hostguard.hashing.service import REMATCH_JOB, rematch_list
from hostguard.jobs.service import handler


@handler(REMATCH_JOB)
def rematch(*, session, payload, job, runtime) -> None:
    rematch_list(session=session, list_id=int(payload["list_id"]))
