"""Retention across domains: what is kept how long, and the periodic sweeps that enforce it.

Know-your-uploader records are the uploads domain's, legal holds are the cases domain's: the
KYU sweep asks cases which uploaders are held and hands that fact to the uploads sweep. The
records sweep deletes upload checks, personal-data access log entries, webhook deliveries and
orphaned ID documents past the policy's `retention:` periods; finished jobs are pruned too.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from sqlalchemy import delete, func, not_, or_
from sqlmodel import Session, col, select

from hostguard.audit.service import record
from hostguard.cases.models import Case
from hostguard.db.types import utcnow
from hostguard.jobs.periodic import periodic
from hostguard.jobs.service import handler, prune
from hostguard.platform.models import DeliveryStatus, ModelRepo, WebhookDelivery
from hostguard.policy import Policy
from hostguard.uploads import kyu
from hostguard.uploads.documents import remove_orphans
from hostguard.uploads.models import KyuSubmission, PersonalDataAccess, UploadCheck

if TYPE_CHECKING:
    from hostguard.runtime import Runtime

log = logging.getLogger(__name__)

# far longer than any request that writes a document before it commits
ORPHAN_DOCUMENT_GRACE = timedelta(hours=1)


@periodic("jobs.prune", every=timedelta(hours=6))
def prune_finished_jobs(*, session: Session, runtime: Runtime | None) -> None:
    """Delete finished jobs past the retention period (dead jobs stay for operators)."""
    days = runtime.settings.job_retention_days if runtime else 30
    prune(session, older_than=timedelta(days=days))


@periodic("uploads.retention", every=timedelta(hours=1))
def uploads_retention(*, session: Session, runtime: Runtime) -> None:
    """Expire know-your-uploader verifications and redact what the retention policy ends."""
    sweep_kyu(session=session, runtime=runtime, policy=runtime.policy)


@periodic("ops.retention", every=timedelta(hours=1))
def records_retention(*, session: Session, runtime: Runtime) -> SweepCounts:
    """Delete upload checks, personal-data access log entries, webhook deliveries and orphaned ID documents."""
    return sweep_records(
        session=session, policy=runtime.policy, documents_dir=runtime.settings.documents_dir
    )


def _referenced_documents(session: Session, names: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(names), 500):
        refs = session.exec(
            select(KyuSubmission.document_ref).where(
                col(KyuSubmission.document_ref).in_(names[start : start + 500])
            )
        ).all()
        found.update(ref for ref in refs if ref is not None)
    return found


class SweepCounts(TypedDict):
    """`sweep_records`: how many records of each kind the sweep deleted (or kept for a hold)."""

    upload_checks: int
    personal_data_access: int
    webhook_deliveries: int
    upload_checks_kept_for_legal_hold: int
    orphaned_documents: int
    document_temp_files: int


def sweep_records(
    *,
    session: Session,
    policy: Policy,
    documents_dir: Path,
    now: datetime | None = None,
    actor: str = "system",
) -> SweepCounts:
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
    held = col(Case.legal_hold_until).is_not(None) & (col(Case.legal_hold_until) > now)
    held_check = or_(
        col(UploadCheck.case_id).is_not(None)
        & col(UploadCheck.case_id).in_(select(Case.id).where(held)),
        col(UploadCheck.repo_pk).in_(select(Case.repo_pk).where(held)),
    )
    old_check = col(UploadCheck.updated_at) < now - timedelta(days=keep.upload_checks_days)
    kept_checks = session.exec(
        select(func.count()).select_from(UploadCheck).where(old_check, held_check)
    ).one()
    checks = session.exec(delete(UploadCheck).where(old_check, not_(held_check))).rowcount or 0

    old_access = col(PersonalDataAccess.at) < now - timedelta(
        days=keep.personal_data_access_log_days
    )
    held_uploaders = uploaders_under_legal_hold(session, now=now)
    if held_uploaders:
        held_kyu = select(KyuSubmission.id).where(
            col(KyuSubmission.uploader_pk).in_(sorted(held_uploaders))
        )
        old_access = old_access & col(PersonalDataAccess.kyu_pk).not_in(held_kyu)
    accesses = session.exec(delete(PersonalDataAccess).where(old_access)).rowcount or 0

    deliveries = (
        session.exec(
            delete(WebhookDelivery).where(
                col(WebhookDelivery.status) != DeliveryStatus.PENDING,
                col(WebhookDelivery.created_at)
                < now - timedelta(days=keep.webhook_deliveries_days),
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

    counts: SweepCounts = {
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


def uploaders_under_legal_hold(session: Session, *, now: datetime) -> set[int]:
    """Uploaders (ids) with a case on hold past `now`: a case on one of their repos or checks."""
    held = col(Case.legal_hold_until).is_not(None) & (col(Case.legal_hold_until) > now)
    by_repo = session.exec(
        select(ModelRepo.uploader_id)
        .join(Case, col(Case.repo_pk) == col(ModelRepo.id))
        .where(held, col(ModelRepo.uploader_id).is_not(None))
    ).all()
    by_check = session.exec(
        select(UploadCheck.uploader_pk)
        .join(Case, col(Case.id) == col(UploadCheck.case_id))
        .where(held, col(UploadCheck.uploader_pk).is_not(None))
    ).all()
    return {pk for pk in [*by_repo, *by_check] if pk is not None}


def sweep_kyu(
    *,
    session: Session,
    runtime: Runtime,
    policy: Policy,
    now: datetime | None = None,
    actor: str = "system",
) -> int:
    """Expire due verifications and redact what the policy's retention periods no longer allow;
    submissions of an uploader with a case under legal hold are kept until the hold ends."""
    now = now or utcnow()
    return kyu.retention_sweep(
        session=session,
        runtime=runtime,
        policy=policy,
        held_uploaders=uploaders_under_legal_hold(session, now=now),
        now=now,
        actor=actor,
    )


@handler("uploads.retention")
def _kyu_retention_job(*, session, payload, job, runtime: Runtime) -> None:
    job.payload = {
        **payload,
        "redacted": sweep_kyu(session=session, runtime=runtime, policy=runtime.policy),
    }
