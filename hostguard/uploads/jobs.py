"""Job handlers of hostguard.uploads: deleting redacted ID documents (the KYU retention sweep's
job is in hostguard.workflows.retention, since legal holds are the cases domain's)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import select

from hostguard.jobs.service import handler
from hostguard.uploads.documents import delete_document
from hostguard.uploads.models import KyuSubmission

if TYPE_CHECKING:
    from hostguard.runtime import Runtime


@handler("uploads.delete_document")
def _delete_document(*, session, payload, job, runtime: Runtime) -> None:
    """Delete a redacted submission's ID document, unless a submission still points at it."""
    name = payload["document_ref"]
    if (
        session.exec(select(KyuSubmission.id).where(KyuSubmission.document_ref == name)).first()
        is None
    ):
        delete_document(documents_dir=runtime.settings.documents_dir, name=name)
