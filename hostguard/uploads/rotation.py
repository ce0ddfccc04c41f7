"""Key rotation for personal data: re-encrypt every encrypted column and document with the newest key."""

from __future__ import annotations

from sqlmodel import Session, select

from hostguard.audit.service import record
from hostguard.platform.models import Uploader
from hostguard.uploads.documents import reencrypt_document
from hostguard.uploads.kyu import PERSONAL_COLUMNS
from hostguard.uploads.models import Certification, KyuSubmission


def reencrypt_all(*, session: Session, keys, documents_dir, actor: str) -> dict:
    """Rotate every token to the keyring's first key; returns counts. Run after adding a key."""
    fernet = keys.fernet
    counts = {"uploaders": 0, "kyu_submissions": 0, "certifications": 0, "documents": 0}
    for uploader in session.exec(select(Uploader).where(Uploader.email_enc.is_not(None))).all():
        uploader.email_enc = fernet.rotate(uploader.email_enc)
        counts["uploaders"] += 1
    for sub in session.exec(select(KyuSubmission)).all():
        touched = False
        for column in PERSONAL_COLUMNS:
            token = getattr(sub, column)
            if token is not None:
                setattr(sub, column, fernet.rotate(token))
                touched = True
        if sub.document_ref:
            reencrypt_document(documents_dir=documents_dir, name=sub.document_ref, keys=keys)
            counts["documents"] += 1
        counts["kyu_submissions"] += touched
    for cert in session.exec(select(Certification).where(Certification.signed_name_enc.is_not(None))).all():
        cert.signed_name_enc = fernet.rotate(cert.signed_name_enc)
        counts["certifications"] += 1
    session.flush()
    record(session, actor=actor, action="keys.rotate", subject="keyring", details=counts)
    return counts
