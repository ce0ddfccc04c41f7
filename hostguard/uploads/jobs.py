"""Job handlers of hostguard.uploads: the KYU expiry and retention sweep, deleting redacted documents."""

from __future__ import annotations

from hostguard.jobs.service import handler


@handler("uploads.retention")
def _retention(*, session, payload, job, runtime) -> None:
    from hostguard.uploads.kyu import retention_sweep
    from hostguard.uploads.policy import policy_for

    job.payload = {
        **payload,
        "redacted": retention_sweep(session=session, runtime=runtime, policy=policy_for(runtime)),
    }


@handler("uploads.delete_document")
def _delete_document(*, session, payload, job, runtime) -> None:
    """Delete a redacted submission's ID document, unless a submission still points at it."""
    from sqlmodel import select

    from hostguard.uploads.documents import delete_document
    from hostguard.uploads.models import KyuSubmission

    name = payload["document_ref"]
    if (
        session.exec(select(KyuSubmission.id).where(KyuSubmission.document_ref == name)).first()
        is None
    ):
        delete_document(documents_dir=runtime.settings.documents_dir, name=name)
