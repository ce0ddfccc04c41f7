"""Background job handlers and periodic tasks of hostguard.ops.

Periodic tasks that belong to another domain are registered there, in its `jobs.py`, with
`@periodic(...)`; the ones below are operational, or call a domain's sweep that has no
schedule of its own yet.
"""

from __future__ import annotations

from datetime import timedelta

from hostguard.jobs.service import prune
from hostguard.ops.periodic import PERIODIC, periodic


@periodic("jobs.prune", every=timedelta(hours=6))
def prune_finished_jobs(*, session, runtime) -> None:
    """Delete finished jobs past the retention period (dead jobs stay for operators)."""

    days = runtime.settings.job_retention_days if runtime else 30
    prune(session, older_than=timedelta(days=days))


if "uploads.retention" not in PERIODIC:  # the uploads domain may schedule it itself

    @periodic("uploads.retention", every=timedelta(hours=1))
    def uploads_retention(*, session, runtime) -> None:
        """Expire know-your-uploader verifications and redact what the retention policy ends."""
        from hostguard.uploads.kyu import retention_sweep
        from hostguard.uploads.policy import policy_for

        retention_sweep(session=session, runtime=runtime, policy=policy_for(runtime))
