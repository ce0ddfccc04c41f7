"""What the operations part reads from other domains' tables, in one place."""

from __future__ import annotations


def list_sizes(session) -> dict[tuple[str, str], int] | None:
    """Entries per hash list as {(list name, algorithm): count}; None before hashing has lists."""
    try:
        from sqlmodel import func, select

        from hostguard.hashing.models import HashList, HashListEntry
    except ImportError:
        return None
    rows = session.exec(
        select(HashList.name, HashList.algorithm, func.count(HashListEntry.id))
        .join(HashListEntry, HashListEntry.list_id == HashList.id, isouter=True)
        .group_by(HashList.id, HashList.name, HashList.algorithm)
    )
    return {(name, algorithm): n for name, algorithm, n in rows}
