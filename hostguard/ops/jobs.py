"""Background job handlers and periodic tasks of hostguard.ops.

Periodic tasks that belong to another domain are registered there, in its `jobs.py`, with
`@periodic(...)`; the ones below are operational, or call a domain's sweep that has no
schedule of its own yet.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, func, not_, or_
from sqlmodel import Session, select

from hostguard.audit.service import record
from hostguard.cases.models import Case
from hostguard.db.types import utcnow
from hostguard.jobs.periodic import PERIODIC, periodic
from hostguard.jobs.service import prune
from hostguard.platform.models import DeliveryStatus, WebhookDelivery
from hostguard.uploads.documents import remove_orphans
from hostguard.uploads.kyu import uploaders_under_legal_hold
from hostguard.uploads.models import KyuSubmission, PersonalDataAccess, UploadCheck

log = logging.getLogger(__name__)

ORPHAN_DOCUMENT_GRACE = timedelta(
    hours=1
)  # far longer than any request that writes a document before it commits


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


@periodic("ops.retention", every=timedelta(hours=1))
def records_retention(*, session, runtime) -> dict:
    """Delete upload checks, personal-data access log entries, webhook deliveries and orphaned ID documents."""
    from hostguard.uploads.policy import policy_for

    return retention_sweep(
        session=session, policy=policy_for(runtime), documents_dir=runtime.settings.documents_dir
    )


def _referenced_documents(session: Session, names: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(names), 500):
        found.update(
            session.exec(
                select(KyuSubmission.document_ref).where(
                    KyuSubmission.document_ref.in_(names[start : start + 500])
                )
            ).all()
        )
    return found


def retention_sweep(
    *,
    session: Session,
    policy,
    documents_dir: Path,
    now: datetime | None = None,
    actor: str = "system",
) -> dict:
    """Delete the records the policy's `retention` periods no longer allow; one audit record with the counts.

    - upload checks (`upload_checks_days`, from their last answer), except those of a case under
      legal hold or of a repo that has one (its evidence may refer to them);
    - the personal-data access log (`personal_data_access_log_days`), except entries about an
      uploader under legal hold, as the know-your-uploader sweep keeps their submissions;
    - webhook deliveries (`webhook_deliveries_days`) that are delivered or failed (never pending);
    - ID document files no KYU submission points at (left by a rolled-back or crashed submission)
      and re-encryption leftovers, once `ORPHAN_DOCUMENT_GRACE` old, so an uncommitted one stays.
    """
    now = now or utcnow()
    keep = policy.retention
    held = Case.legal_hold_until.is_not(None) & (Case.legal_hold_until > now)
    held_check = or_(
        UploadCheck.case_id.is_not(None) & UploadCheck.case_id.in_(select(Case.id).where(held)),
        UploadCheck.repo_pk.in_(select(Case.repo_pk).where(held)),
    )
    old_check = UploadCheck.updated_at < now - timedelta(days=keep.upload_checks_days)
    kept_checks = session.exec(
        select(func.count()).select_from(UploadCheck).where(old_check, held_check)
    ).one()
    checks = session.exec(delete(UploadCheck).where(old_check, not_(held_check))).rowcount or 0

    old_access = PersonalDataAccess.at < now - timedelta(days=keep.personal_data_access_log_days)
    held_uploaders = uploaders_under_legal_hold(session, now=now)
    if held_uploaders:
        held_kyu = select(KyuSubmission.id).where(
            KyuSubmission.uploader_pk.in_(sorted(held_uploaders))
        )
        old_access = old_access & PersonalDataAccess.kyu_pk.not_in(held_kyu)
    accesses = session.exec(delete(PersonalDataAccess).where(old_access)).rowcount or 0

    deliveries = (
        session.exec(
            delete(WebhookDelivery).where(
                WebhookDelivery.status != DeliveryStatus.PENDING,
                WebhookDelivery.created_at < now - timedelta(days=keep.webhook_deliveries_days),
            )
        ).rowcount
        or 0
    )

    files = remove_orphans(
        documents_dir=documents_dir,
        older_than=now - ORPHAN_DOCUMENT_GRACE,
        referenced=lambda names: _referenced_documents(session, names),
    )
    if files["documents"] or files["temp_files"]:
        log.info(
            "retention removed %d orphaned ID documents and %d temporary files",
            files["documents"],
            files["temp_files"],
        )

    counts = {
        "upload_checks": checks,
        "personal_data_access": accesses,
        "webhook_deliveries": deliveries,
        "upload_checks_kept_for_legal_hold": kept_checks,
        "orphaned_documents": files["documents"],
        "document_temp_files": files["temp_files"],
    }
    record(
        session,
        actor=actor,
        action="retention.sweep",
        subject="retention",
        details={
            **counts,
            "policy": policy.id,
            "policy_version": policy.version,
            "days": {
                "upload_checks": keep.upload_checks_days,
                "personal_data_access": keep.personal_data_access_log_days,
                "webhook_deliveries": keep.webhook_deliveries_days,
            },
        },
    )
    return counts
