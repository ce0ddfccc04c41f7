"""Transparency reports (DSA Art. 15 and 24), read from the case tables."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from hostguard.cases.models import (
    Appeal,
    AuthorityOrder,
    Case,
    Decision,
    Notice,
    Sanction,
)
from hostguard.cases.statements.transparency_database import AUTOMATED_SOURCES
from hostguard.cases.transparency import (
    AppealRow,
    DecisionRow,
    NoticeRow,
    OrderRow,
    TransparencyReport,
    transparency_report,
)


def transparency_from_db(
    session: Session, *, since: datetime, until: datetime
) -> TransparencyReport:
    """Figures for notices, orders, decisions and appeals received or taken in [since, until)."""
    notices = [
        NoticeRow(n.category, n.source, n.received_at)
        for n in session.exec(
            select(Notice).where(Notice.received_at >= since, Notice.received_at < until)
        )
    ]
    orders = [
        OrderRow(
            o.category, o.member_state or "unknown", o.received_at, o.acknowledged_at, o.effect_at
        )
        for o in session.exec(
            select(AuthorityOrder).where(
                AuthorityOrder.received_at >= since, AuthorityOrder.received_at < until
            )
        )
    ]
    decisions = []
    for d, case in session.exec(
        select(Decision, Case)
        .join(Case, col(Case.id) == Decision.case_id)
        .where(Decision.decided_at >= since, Decision.decided_at < until)
    ):
        decisions.append(
            DecisionRow(
                d.action,
                d.ground,
                d.category,
                case.source,
                case.opened_at,
                d.decided_at,
                d.automated or case.source in AUTOMATED_SOURCES,
            )
        )
    appeals = [
        AppealRow(a.filed_at, a.decided_at, a.outcome == "overturned")
        for a in session.exec(
            select(Appeal).where(Appeal.filed_at >= since, Appeal.filed_at < until)
        )
    ]
    suspensions = [
        s.reason
        for s in session.exec(
            select(Sanction).where(
                Sanction.action == "suspend", Sanction.at >= since, Sanction.at < until
            )
        )
    ]
    return transparency_report(
        since=since,
        until=until,
        notices=notices,
        orders=orders,
        decisions=decisions,
        appeals=appeals,
        suspensions=suspensions,
    )
