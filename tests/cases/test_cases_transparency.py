"""Transparency-report arithmetic against figures worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hostguard.cases.transparency import (
    AppealRow,
    DecisionRow,
    NoticeRow,
    OrderRow,
    median,
    report_rows,
    transparency_report,
)

T = datetime(2026, 1, 1, tzinfo=UTC)


def h(n: float) -> datetime:
    return T + timedelta(hours=n)


def build():
    notices = [
        NoticeRow("hate", "notice", h(0)),
        NoticeRow("hate", "trusted_flagger", h(1)),
        NoticeRow("fraud", "notice", h(2)),
        NoticeRow("child_sexual_abuse", "trusted_flagger", h(3)),
    ]
    orders = [
        OrderRow("terrorism", "DE", h(0), h(1), h(5)),  # ack 1h, effect 5h
        OrderRow("hate", "FR", h(0), h(3), h(10)),  # ack 3h, effect 10h
        OrderRow("hate", "FR", h(0), h(2), None),
    ]  # ack 2h, no effect yet
    decisions = [
        DecisionRow("take_down", "illegal_content", "hate", "notice", h(0), h(10), False),  # 10h
        DecisionRow("restrict", "terms_of_service", "fraud", "notice", h(0), h(4), False),  # 4h
        DecisionRow(
            "report", "illegal_content", "child_sexual_abuse", "hash_match", h(0), h(1), True
        ),  # 1h
        DecisionRow(
            "take_down", "illegal_content", "hate", "trusted_flagger", h(0), h(7), False
        ),  # 7h
        DecisionRow("no_action", "terms_of_service", "hate", "notice", h(0), h(20), False),
        DecisionRow("escalate", "illegal_content", "hate", "notice", h(0), h(2), False),
    ]
    appeals = [
        AppealRow(h(0), h(6), True),
        AppealRow(h(0), h(2), False),
        AppealRow(h(0), None, False),
    ]
    return transparency_report(
        since=T,
        until=h(100),
        notices=notices,
        orders=orders,
        decisions=decisions,
        appeals=appeals,
        suspensions=["illegal_content", "illegal_content", "unfounded_notices"],
    )


def test_figures_match_hand_computation():
    r = build()
    assert r["notices"] == {
        "total": 4,
        "by_category": {"child_sexual_abuse": 1, "fraud": 1, "hate": 2},
        "by_source": {"notice": 2, "trusted_flagger": 2},
        "trusted_flagger_share": 0.5,
    }
    assert r["orders"]["total"] == 3
    assert r["orders"]["by_member_state"] == {"DE": 1, "FR": 2}
    assert r["orders"]["median_hours_to_acknowledge"] == 2.0  # 1, 2, 3
    assert r["orders"]["median_hours_to_effect"] == 7.5  # 5, 10
    a = r["actions"]
    assert a["total"] == 4 and a["decisions"] == 5  # escalation is not a final decision
    assert a["by_ground"] == {"illegal_content": 3, "terms_of_service": 1}
    assert a["by_action"] == {"report": 1, "restrict": 1, "take_down": 2}
    assert a["own_initiative"] == 1
    assert a["automated_share"] == 0.2  # 1 of 5 final decisions
    assert a["median_hours_to_action"] == 5.5  # 1, 4, 7, 10
    assert r["appeals"] == {"total": 3, "decided": 2, "reversed": 1, "median_hours_to_decide": 4.0}
    assert r["suspensions"] == {
        "illegal_content": 2,
        "unfounded_notices": 1,
        "unfounded_complaints": 0,
    }


def test_empty_period_has_no_medians_not_zeroes():
    r = transparency_report(
        since=T, until=h(1), notices=[], orders=[], decisions=[], appeals=[], suspensions=[]
    )
    assert r["orders"]["median_hours_to_acknowledge"] is None
    assert r["notices"]["trusted_flagger_share"] is None
    assert median([]) is None


def test_csv_rows_are_flat():
    rows = dict(report_rows(build()))
    assert rows["notices.by_category.hate"] == "2"
    assert rows["orders.median_hours_to_effect"] == "7.5"
    assert rows["orders.by_category.terrorism"] == "1"
