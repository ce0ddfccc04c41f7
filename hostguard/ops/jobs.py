"""Background job handlers and periodic tasks of hostguard.ops."""

from __future__ import annotations

from datetime import timedelta

from hostguard.jobs.service import prune
from hostguard.ops.periodic import periodic


@periodic("jobs.prune", every=timedelta(hours=6))
def prune_finished_jobs(*, session, runtime) -> None:
    """Delete finished jobs past the retention period (dead jobs stay for operators)."""
    from hostguard.ops.config import ops_settings

    days = ops_settings(runtime.settings).job_retention_days if runtime else 30
    prune(session, older_than=timedelta(days=days))
