"""Key rotation for personal data: re-encrypt every encrypted column and document with the newest key.

Encrypted columns are found, not listed: every `LargeBinary` column whose name ends in
`_enc`, in every table of `SQLModel.metadata`, so a table added later is rotated too. The
caller imports `hostguard.registry` first, so the metadata holds every domain's tables.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Column, LargeBinary, Table, or_, select, update
from sqlmodel import Session, SQLModel, col

from hostguard.audit.service import record
from hostguard.uploads.documents import reencrypt_document
from hostguard.uploads.models import KyuSubmission

ENCRYPTED_SUFFIX = "_enc"
BATCH = 500


def encrypted_columns() -> dict[Table, list[Column]]:
    """Every table holding encrypted values, with its encrypted columns."""
    found: dict[Table, list[Column]] = {}
    for table in SQLModel.metadata.sorted_tables:
        columns = [
            c
            for c in table.columns
            if c.name.endswith(ENCRYPTED_SUFFIX) and isinstance(c.type, LargeBinary)
        ]
        if columns:
            found[table] = columns
    return found


def _rotate_table(session: Session, fernet, table: Table, columns: list[Column]) -> int:
    """Re-encrypt the table's encrypted values in primary-key order; returns rows rewritten."""
    (pk,) = table.primary_key.columns
    rewritten, last = 0, None
    while True:
        query = (
            select(pk, *columns)
            .where(or_(*(c.is_not(None) for c in columns)))
            .order_by(pk)
            .limit(BATCH)
        )
        if last is not None:
            query = query.where(pk > last)
        rows = session.execute(query).all()
        if not rows:
            return rewritten
        for row in rows:
            values = {
                c.name: fernet.rotate(row._mapping[c])
                for c in columns
                if row._mapping[c] is not None
            }
            session.exec(update(table).where(pk == row._mapping[pk]).values(**values))
        rewritten += len(rows)
        last = rows[-1]._mapping[pk]


def reencrypt_all(*, session: Session, keys, documents_dir: Path, actor: str) -> dict[str, int]:
    """Rotate every token to the keyring's first key; returns counts per table. Run after adding a key."""
    fernet = keys.fernet
    session.flush()
    counts = {
        table.name: _rotate_table(session, fernet, table, columns)
        for table, columns in encrypted_columns().items()
    }
    counts["documents"] = 0
    for ref in session.execute(
        select(col(KyuSubmission.document_ref)).where(col(KyuSubmission.document_ref).is_not(None))
    ).scalars():
        reencrypt_document(documents_dir=documents_dir, name=ref, keys=keys)
        counts["documents"] += 1
    session.expire_all()  # ORM objects loaded before hold the old tokens
    record(session, actor=actor, action="keys.rotate", subject="keyring", details=counts)
    return counts
