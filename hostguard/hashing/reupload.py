"""Taking a case's hashes off the internal re-upload lists when an appeal overturns its take-down.

`hostguard.hashing.service.add_to_reupload_list` puts a taken-down model's sample-image hashes on
the internal lists with ref `case:<id>`; this undoes that. Each list's version is bumped so every
process rebuilds its in-memory index and stops matching the hashes.
"""

from __future__ import annotations

from sqlalchemy import delete
from sqlmodel import Session, col, select

from hostguard.audit.service import record
from hostguard.db.types import utcnow
from hostguard.hashing.models import (
    REUPLOAD_LIST,
    HashEntry,
    HashList,
    RetroactiveHit,
    SampleImageHash,
)

REUPLOAD_LISTS = (REUPLOAD_LIST, f"{REUPLOAD_LIST}-sha256")
CHUNK = 5000


def _other_holder(session: Session, *, algorithm: str, value: str, case_id: int) -> int | None:
    """Another case whose model is still taken down and had this image, if any."""
    from hostguard.cases.models import Case
    from hostguard.platform.models import ModelRepo, RepoStatus

    return session.exec(
        select(Case.id)
        .join(ModelRepo, ModelRepo.id == Case.repo_pk)
        .join(SampleImageHash, SampleImageHash.repo_pk == Case.repo_pk)
        .where(
            Case.id != case_id,
            ModelRepo.status == RepoStatus.TAKEN_DOWN,
            SampleImageHash.algorithm == algorithm,
            SampleImageHash.hash == value,
        )
        .order_by(Case.id.desc())
    ).first()


def remove_from_reupload_list(*, session: Session, case_id: int, actor: str) -> int:
    """Delete the entries the case put on the internal re-upload lists; returns how many went.

    An image that another case took down too (a re-upload of the same pictures) stays on the
    list, now carried by that case. Only internal lists are touched: an imported list that happens to use `case:<id>` as an
    entry id is the provider's and stays as it is.
    """
    ref = f"case:{case_id}"
    removed = 0
    lists = session.exec(
        select(HashList).where(
            col(HashList.name).in_(REUPLOAD_LISTS), col(HashList.internal).is_(True)
        )
    ).all()
    for hash_list in lists:
        ids = []
        for entry in session.exec(
            select(HashEntry).where(HashEntry.list_id == hash_list.id, HashEntry.ref == ref)
        ).all():
            holder = _other_holder(
                session, algorithm=hash_list.algorithm, value=entry.hash, case_id=case_id
            )
            if holder is None:
                ids.append(entry.id)
            else:  # the same image was taken down in another case that still stands
                entry.ref = f"case:{holder}"
                session.add(entry)
        if not ids:
            continue
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            session.execute(delete(RetroactiveHit).where(col(RetroactiveHit.entry_id).in_(chunk)))
            session.execute(delete(HashEntry).where(col(HashEntry.id).in_(chunk)))
        hash_list.entry_count = max(0, hash_list.entry_count - len(ids))
        hash_list.version += 1  # other processes see the new version and reload the index
        hash_list.updated_at = utcnow()
        session.add(hash_list)
        removed += len(ids)
    session.flush()
    record(
        session,
        actor=actor,
        action="hashlist.reupload_remove",
        subject=f"case:{case_id}",
        details={"removed": removed},
    )
    return removed
