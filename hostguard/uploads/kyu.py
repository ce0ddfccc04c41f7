"""Know-your-uploader: submissions, review, expiry, redaction and audited reads of personal data.

Lifecycle: requires_input -> pending_review -> verified | rejected (the uploader may
resubmit) ; verified -> expired after the policy's validity ; any -> redacted after the
retention period or on request. Personal fields are encrypted before they are stored; the
only way to read them is `read_personal_data`, which needs a reason and logs the read.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, NotRequired, TypedDict

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from hostguard.audit.service import record
from hostguard.db.types import utcnow
from hostguard.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from hostguard.jobs.service import enqueue
from hostguard.platform.models import Uploader
from hostguard.policy import KyuLevel, Policy
from hostguard.uploads.documents import check_document, read_document, store_document
from hostguard.uploads.models import KyuStatus, KyuSubmission, PersonalDataAccess
from hostguard.uploads.rechecks import (
    KYU_REASONS,
    recheck_held_decisions,
    recheck_held_hub_checks,
)

if TYPE_CHECKING:
    from hostguard.runtime import Runtime

COUNTRY = re.compile(r"^[A-Z]{2}$")
RESUBMITTABLE = (
    KyuStatus.REQUIRES_INPUT,
    KyuStatus.REJECTED,
    KyuStatus.EXPIRED,
    KyuStatus.REDACTED,
    KyuStatus.NEEDS_INFORMATION,
)
PERSONAL_COLUMNS = ("legal_name_enc", "address_enc", "country_enc", "date_of_birth_enc")


# Every upload check reads it (docs/DEVELOPING.md, "Statements on hot paths").
_LATEST = (
    select(KyuSubmission)
    .where(KyuSubmission.uploader_pk == bindparam("uploader_pk"))
    .order_by(col(KyuSubmission.id).desc())
    .limit(1)
)


def latest_submission(session: Session, uploader: Uploader) -> KyuSubmission | None:
    return session.exec(_LATEST, params={"uploader_pk": uploader.id}).first()


def get_submission(session: Session, kyu_id: int) -> KyuSubmission:
    submission = session.get(KyuSubmission, kyu_id)
    if submission is None:
        raise NotFound(f"no KYU submission {kyu_id}", code="kyu_not_found")
    return submission


def effective_status(submission: KyuSubmission | None, now: datetime | None = None) -> str | None:
    """The status as of now: a verification past its expiry counts as expired even before the sweep."""
    if submission is None:
        return None
    if (
        submission.status == KyuStatus.VERIFIED
        and submission.expires_at is not None
        and submission.expires_at <= (now or utcnow())
    ):
        return KyuStatus.EXPIRED
    return submission.status


def meets(level: KyuLevel, status: str | None) -> bool:
    if level == KyuLevel.NONE:
        return True
    if level == KyuLevel.SUBMITTED:
        return status in (KyuStatus.PENDING_REVIEW, KyuStatus.VERIFIED)
    return status == KyuStatus.VERIFIED


def ensure_started(*, session: Session, actor: str, uploader: Uploader) -> KyuSubmission:
    """The uploader's current submission, opening one in `requires_input` when they have none."""
    submission = latest_submission(session, uploader)
    if submission is None:
        assert uploader.id is not None  # a stored uploader (they are flushed when recorded)
        submission = KyuSubmission(uploader_pk=uploader.id, status=KyuStatus.REQUIRES_INPUT)
        session.add(submission)
        session.flush()
        record(
            session,
            actor=actor,
            action="kyu.start",
            subject=f"kyu:{submission.id}",
            details={"uploader": uploader.platform_id},
        )
    return submission


def _clean_details(
    legal_name: str, address: str, country: str, date_of_birth: str
) -> dict[str, str]:
    problems = []
    legal_name, address = (legal_name or "").strip(), (address or "").strip()
    country = (country or "").strip().upper()
    if not 2 <= len(legal_name) <= 200:
        problems.append("legal name must be 2 to 200 characters")
    if not 5 <= len(address) <= 500:
        problems.append("address must be 5 to 500 characters")
    if not COUNTRY.match(country):
        problems.append("country must be a two-letter ISO 3166 code such as DE or US")
    try:
        born = date.fromisoformat((date_of_birth or "").strip())
    except ValueError:
        born = None
        problems.append("date of birth must be a date like 1990-04-30")
    if born is not None:
        today = utcnow().date()
        age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
        if born.year < 1900 or age < 18:
            problems.append("the uploader must be at least 18 years old")
    if problems:  # the messages name fields, never echo the values
        raise InvalidInput("; ".join(problems), code="invalid_kyu")
    assert born is not None  # an unreadable date of birth is one of the problems above
    return {
        "legal_name": legal_name,
        "address": address,
        "country": country,
        "date_of_birth": born.isoformat(),
    }


def submit_kyu(
    *,
    session: Session,
    runtime: Runtime,
    actor: str,
    uploader: Uploader,
    policy: Policy,
    legal_name: str,
    address: str,
    country: str,
    date_of_birth: str,
    document: bytes,
) -> KyuSubmission:
    """Take the uploader's details and ID document; the submission waits for legal's review."""
    details = _clean_details(legal_name, address, country, date_of_birth)
    mime = check_document(document, max_bytes=policy.kyu.max_document_bytes)
    current = latest_submission(session, uploader)
    status = effective_status(current)
    if status == KyuStatus.PENDING_REVIEW:
        raise Conflict("a submission is already waiting for review", code="kyu_pending")
    if status == KyuStatus.VERIFIED:
        raise Conflict("this uploader is already verified", code="kyu_verified")
    keys = runtime.keys
    if current is not None and current.status in (
        KyuStatus.REQUIRES_INPUT,
        KyuStatus.NEEDS_INFORMATION,
    ):
        submission = current  # completed in place: the submission and its history stay
        if current.document_ref:
            enqueue(session, "uploads.delete_document", {"document_ref": current.document_ref})
    else:
        assert uploader.id is not None  # a stored uploader (they are flushed when recorded)
        submission = KyuSubmission(uploader_pk=uploader.id)
        session.add(submission)
    submission.legal_name_enc = keys.encrypt(details["legal_name"])
    submission.address_enc = keys.encrypt(details["address"])
    submission.country_enc = keys.encrypt(details["country"])
    submission.date_of_birth_enc = keys.encrypt(details["date_of_birth"])
    submission.document_ref = store_document(
        documents_dir=runtime.settings.documents_dir, data=document, keys=keys
    )
    submission.document_type = mime
    submission.status = KyuStatus.PENDING_REVIEW
    submission.submitted_at = utcnow()
    session.flush()
    record(
        session,
        actor=actor,
        action="kyu.submit",
        subject=f"kyu:{submission.id}",
        details={"uploader": uploader.platform_id, "document_type": mime},
    )
    return submission


def _pending(session: Session, kyu_id: int) -> KyuSubmission:
    submission = get_submission(session, kyu_id)
    if submission.status != KyuStatus.PENDING_REVIEW:
        raise Conflict(
            f"KYU submission {kyu_id} is {submission.status}, not pending review",
            code="kyu_not_pending",
        )
    return submission


def verify_kyu(*, session: Session, actor: str, kyu_id: int, policy: Policy) -> KyuSubmission:
    submission = _pending(session, kyu_id)
    now = utcnow()
    submission.status = KyuStatus.VERIFIED
    submission.reviewed_at, submission.reviewed_by = now, actor
    submission.expires_at = now + timedelta(days=policy.kyu.valid_for_days)
    submission.rejection_reason = None
    record(
        session,
        actor=actor,
        action="kyu.verify",
        subject=f"kyu:{kyu_id}",
        details={"expires_at": submission.expires_at.isoformat()},
    )
    # Hub revisions the webhook held for the uploader's identity are checked again, without a new push
    uploader = session.get(Uploader, submission.uploader_pk)
    recheck_held_hub_checks(session, ref=f"kyu:{kyu_id}", uploader=uploader, reasons=KYU_REASONS)
    recheck_held_decisions(session, ref=f"kyu:{kyu_id}", uploader=uploader)
    return submission


def reject_kyu(*, session: Session, actor: str, kyu_id: int, reason: str) -> KyuSubmission:
    reason = (reason or "").strip()
    if not 5 <= len(reason) <= 1000:
        raise InvalidInput(
            "give the uploader a reason of 5 to 1000 characters", code="reason_required"
        )
    submission = _pending(session, kyu_id)
    submission.status = KyuStatus.REJECTED
    submission.reviewed_at, submission.reviewed_by = utcnow(), actor
    submission.rejection_reason = reason
    record(session, actor=actor, action="kyu.reject", subject=f"kyu:{kyu_id}", reason=reason)
    return submission


def request_kyu_information(
    *, session: Session, actor: str, kyu_id: int, request: str
) -> KyuSubmission:
    """Ask the uploader to add something (a clearer document scan, a missing address line): the
    submission stays, the portal shows the request, and the uploader sends it again completed."""
    request = (request or "").strip()
    if not 5 <= len(request) <= 1000:
        raise InvalidInput(
            "tell the uploader what to add, in 5 to 1000 characters", code="request_required"
        )
    submission = _pending(session, kyu_id)
    submission.status = KyuStatus.NEEDS_INFORMATION
    submission.reviewed_at, submission.reviewed_by = utcnow(), actor
    submission.rejection_reason = request
    record(
        session,
        actor=actor,
        action="kyu.needs_information",
        subject=f"kyu:{kyu_id}",
        reason=request,
    )
    return submission


def expire_due(*, session: Session, actor: str = "system", now: datetime | None = None) -> int:
    """Mark verifications past their expiry as expired; returns how many."""
    now = now or utcnow()
    due = session.exec(
        select(KyuSubmission).where(
            KyuSubmission.status == KyuStatus.VERIFIED, col(KyuSubmission.expires_at) <= now
        )
    ).all()
    for submission in due:
        submission.status = KyuStatus.EXPIRED
        record(session, actor=actor, action="kyu.expire", subject=f"kyu:{submission.id}")
    return len(due)


def redact_kyu(
    *, session: Session, runtime: Runtime, actor: str, kyu_id: int, reason: str
) -> KyuSubmission:
    """Erase the personal data and the document; the status history stays.

    The document file is deleted by an `uploads.delete_document` job queued in this
    transaction, so it goes only once the redaction is committed (a rollback keeps both).
    """
    submission = get_submission(session, kyu_id)
    if submission.status == KyuStatus.PENDING_REVIEW:
        raise Conflict(
            "a submission under review cannot be redacted; review it first", code="kyu_pending"
        )
    for column in PERSONAL_COLUMNS:
        setattr(submission, column, None)
    if submission.document_ref:
        enqueue(session, "uploads.delete_document", {"document_ref": submission.document_ref})
    submission.document_ref = None
    submission.status = KyuStatus.REDACTED
    submission.redacted_at = utcnow()
    record(session, actor=actor, action="kyu.redact", subject=f"kyu:{kyu_id}", reason=reason)
    return submission


def retention_sweep(
    *,
    session: Session,
    runtime: Runtime,
    policy: Policy,
    held_uploaders: set[int],
    now: datetime | None = None,
    actor: str = "system",
) -> int:
    """Expire due verifications and redact what the policy's retention periods no longer allow.

    Submissions of the uploaders in `held_uploaders` (ids: a case of theirs is under legal
    hold) are kept until the hold ends.
    """
    now = now or utcnow()
    expire_due(session=session, actor=actor, now=now)
    keep = policy.retention
    redacted = 0
    rows = session.exec(
        select(KyuSubmission).where(
            col(KyuSubmission.status).in_(
                [
                    KyuStatus.REJECTED,
                    KyuStatus.REQUIRES_INPUT,
                    KyuStatus.EXPIRED,
                    KyuStatus.NEEDS_INFORMATION,
                ]
            )
        )
    ).all()
    held = held_uploaders
    for sub in rows:
        if sub.uploader_pk in held:
            continue
        if sub.status == KyuStatus.EXPIRED:
            due = (
                sub.expires_at
                and sub.expires_at + timedelta(days=keep.kyu_after_expiry_days) <= now
            )
        else:
            since = sub.reviewed_at or sub.created_at
            due = since + timedelta(days=keep.kyu_rejected_days) <= now
        if due:
            assert sub.id is not None  # a row read from the table has its id
            redact_kyu(
                session=session,
                runtime=runtime,
                actor=actor,
                kyu_id=sub.id,
                reason="retention period ended",
            )
            redacted += 1
    return redacted


def _log_access(
    session: Session,
    *,
    actor: str,
    role: str | None,
    submission: KyuSubmission,
    what: str,
    reason: str,
) -> None:
    if role != "legal":
        raise PermissionDenied("personal data is shown only to the legal team")
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise InvalidInput(
            "say why you need to see this personal data (at least 5 characters)",
            code="reason_required",
        )
    assert submission.id is not None  # a stored submission (read by its id)
    session.add(
        PersonalDataAccess(actor=actor, kyu_pk=submission.id, what=what, reason=reason[:500])
    )
    record(
        session,
        actor=actor,
        action="personal_data.view",
        subject=f"kyu:{submission.id}",
        reason=reason[:500],
        details={"what": what},
    )


def read_personal_data(
    *, session: Session, runtime: Runtime, actor: str, role: str | None, kyu_id: int, reason: str
) -> dict[str, str | None]:
    """Decrypt a submission's details for a legal reviewer; the read is logged with its reason."""
    submission = get_submission(session, kyu_id)
    _log_access(
        session, actor=actor, role=role, submission=submission, what="details", reason=reason
    )
    keys = runtime.keys
    return {
        name.removesuffix("_enc"): keys.decrypt_str(getattr(submission, name))
        for name in PERSONAL_COLUMNS
    }


def read_id_document(
    *, session: Session, runtime: Runtime, actor: str, role: str | None, kyu_id: int, reason: str
) -> tuple[bytes, str]:
    submission = get_submission(session, kyu_id)
    if not submission.document_ref:
        raise NotFound(
            "this submission has no document (redacted or never sent)", code="no_document"
        )
    _log_access(
        session, actor=actor, role=role, submission=submission, what="document", reason=reason
    )
    data = read_document(
        documents_dir=runtime.settings.documents_dir,
        name=submission.document_ref,
        keys=runtime.keys,
    )
    return data, submission.document_type or "application/octet-stream"


class KyuPublicStatus(TypedDict):
    """`public_status`: only `kyu_id` and `status` (both None) when nothing was ever submitted."""

    kyu_id: int | None
    status: str | None
    submitted_at: NotRequired[str | None]
    reviewed_at: NotRequired[str | None]
    expires_at: NotRequired[str | None]
    rejection_reason: NotRequired[str | None]


def public_status(submission: KyuSubmission | None) -> KyuPublicStatus:
    """What the platform and the uploader may see: status and dates, never personal data."""
    if submission is None:
        return {"kyu_id": None, "status": None}
    return {
        "kyu_id": submission.id,
        "status": effective_status(submission),
        "submitted_at": submission.submitted_at.isoformat() if submission.submitted_at else None,
        "reviewed_at": submission.reviewed_at.isoformat() if submission.reviewed_at else None,
        "expires_at": submission.expires_at.isoformat() if submission.expires_at else None,
        "rejection_reason": submission.rejection_reason
        if submission.status == KyuStatus.REJECTED
        else None,
    }
