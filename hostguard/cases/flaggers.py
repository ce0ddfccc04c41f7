"""Per trusted flagger figures for the Art. 22(3) report: notices, share upheld, time to decision.

Art. 22(3) asks trusted flaggers to publish, at least yearly, the notices they sent, what they
concerned and what the provider did; the provider's side of it is here. Every notice sent with
a register entry's key counts, in its areas of expertise or not, suspended or not.
"""

from __future__ import annotations

import statistics
from datetime import datetime
from typing import TypedDict

from sqlmodel import Session, col, select

from hostguard.accounts.models import TrustedFlagger
from hostguard.cases.models import Notice, NoticeStatus

UPHELD = "founded"  # the decision acted against the model the notice named


class FlaggerFigures(TypedDict):
    """One flagger's notices received in the period and what became of them."""

    flagger_id: int
    name: str
    member_state: str
    status: str
    notices: int
    prioritised: int  # taken in the trusted flagger lane (within its areas, not suspended)
    decided: int
    upheld: int
    share_upheld: float | None  # of the decided notices; None with none decided
    median_hours_to_decision: float | None
    by_category: dict[str, int]


def flagger_figures(
    session: Session, *, since: datetime | None = None, until: datetime | None = None
) -> list[FlaggerFigures]:
    """Figures per register entry for notices received in [since, until)."""
    query = select(Notice).where(col(Notice.flagger_id).is_not(None))
    if since is not None:
        query = query.where(Notice.received_at >= since)
    if until is not None:
        query = query.where(Notice.received_at < until)
    notices: dict[int, list[Notice]] = {}
    for notice in session.exec(query.order_by(col(Notice.id))):
        assert notice.flagger_id is not None  # the query's condition
        notices.setdefault(notice.flagger_id, []).append(notice)
    figures: list[FlaggerFigures] = []
    for flagger in session.exec(select(TrustedFlagger).order_by(col(TrustedFlagger.name))):
        assert flagger.id is not None  # read from the database
        mine = notices.get(flagger.id, [])
        decided = [n for n in mine if n.status == NoticeStatus.DECIDED and n.decided_at]
        upheld = sum(1 for n in decided if n.outcome == UPHELD)
        hours = [
            (n.decided_at - n.received_at).total_seconds() / 3600
            for n in decided
            if n.decided_at is not None
        ]
        by_category: dict[str, int] = {}
        for n in mine:
            by_category[n.category] = by_category.get(n.category, 0) + 1
        figures.append(
            {
                "flagger_id": flagger.id,
                "name": flagger.name,
                "member_state": flagger.member_state,
                "status": flagger.status,
                "notices": len(mine),
                "prioritised": sum(1 for n in mine if n.source == "trusted_flagger"),
                "decided": len(decided),
                "upheld": upheld,
                "share_upheld": round(upheld / len(decided), 4) if decided else None,
                "median_hours_to_decision": round(statistics.median(hours), 2) if hours else None,
                "by_category": by_category,
            }
        )
    return figures
