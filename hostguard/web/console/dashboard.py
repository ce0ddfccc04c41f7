"""Routes of the console surface for the team dashboard: the queue now and the period's figures."""

from __future__ import annotations

from flask import render_template, request

from hostguard.accounts.models import AUDIT_READERS, CASE_WORKERS
from hostguard.cases.dashboard import team_dashboard
from hostguard.cases.sampling import sampling_agreement
from hostguard.web.access import db, staff_route
from hostguard.web.charts import bar_chart, line_chart
from hostguard.web.console import bp, labels

PERIODS = (7, 30, 90)


@staff_route(bp, "/dashboard", roles=CASE_WORKERS | AUDIT_READERS)
def dashboard():
    """Depth by queue and category, overdue now, deadlines met, time to decision, throughput."""
    days = request.args.get("days", type=int) or 30
    if days not in PERIODS:
        days = 30
    board = team_dashboard(db(), days=days)
    charts = {
        "queues": bar_chart(list(board.depth_by_queue().items()), title="Open cases by queue"),
        "categories": bar_chart(
            list(board.depth_by_category().items()), title="Open cases by category"
        ),
        "overdue": bar_chart(list(board.overdue.items()), title="Overdue cases by category"),
        "deadlines": bar_chart(
            [(r.source.replace("_", " "), 100 * (r.share or 0)) for r in board.deadlines],
            title="Share decided within the deadline, by source",
            unit=" %",
            maximum=100,
        ),
        "per_day": line_chart(board.per_day, title=f"Decisions per day, last {days} days"),
        "moderators": bar_chart(
            [(m.moderator, m.decisions) for m in board.moderators[:15]],
            title="Decisions per moderator",
        ),
    }
    agreement = sampling_agreement(db(), days=days)
    emails = labels.emails_for(db(), agreement.by_moderator)
    charts["agreement"] = bar_chart(
        [
            (category.replace("_", " "), 100 * agreeing / reviewed)
            for category, (reviewed, agreeing) in sorted(agreement.by_category.items())
        ],
        title="Second reviews agreeing with the first decision, by category",
        unit=" %",
        maximum=100,
    )
    return render_template(
        "console/dashboard.html",
        board=board,
        charts=charts,
        days=days,
        periods=PERIODS,
        agreement=agreement,
        agreement_emails=emails,
    )
