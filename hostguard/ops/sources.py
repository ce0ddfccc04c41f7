"""What the operations part reads from other domains' tables, in one place."""

from __future__ import annotations

from sqlmodel import select

from hostguard.exchanges.models import Exchange
from hostguard.hashing.models import HashList


def list_sizes(session) -> dict[tuple[str, str], int] | None:
    """Entries per enabled hash list as {(list name, algorithm): count}."""
    rows = session.exec(
        select(HashList.name, HashList.algorithm, HashList.entry_count).where(HashList.enabled)
    )
    return {(name, algorithm): count for name, algorithm, count in rows}


def exchange_states(session) -> list[Exchange]:
    """Every connected exchange's row (its state: last success, counts, failures)."""
    return list(session.exec(select(Exchange).order_by(Exchange.name)))
