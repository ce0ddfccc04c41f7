"""Job handlers of hostguard.uploads: the KYU expiry and retention sweep."""

from __future__ import annotations

from hostguard.jobs.service import handler


@handler("uploads.retention")
def _retention(*, session, payload, job, runtime) -> None:
    from hostguard.uploads.kyu import retention_sweep
    from hostguard.uploads.policy import policy_for

    job.payload = {**payload, "redacted": retention_sweep(session=session, runtime=runtime,
                                                         policy=policy_for(runtime))}
