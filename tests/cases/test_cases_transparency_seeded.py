"""`hostguard report transparency` on a database seeded through the domain functions, checked by hand.

The clock of the case workflow is set before each step, so every time the report measures
(order received, acknowledged, given effect; appeal filed and decided) is known.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from hostguard.cases.appeals import file_appeal
from hostguard.cases.orders import OrderInput, acknowledge_order, receive_order
from hostguard.db.types import utcnow
from hostguard.workflows.decisions import decide_appeal

# the modules of the case workflow that read the clock
WORKFLOW_MODULES = (
    "intake",
    "orders",
    "claims",
    "decisions",
    "appeals",
    "misuse",
    "queue",
    "evidence",
)


@pytest.fixture
def clock(monkeypatch):
    """clock(hours) moves the workflow's clock to T0 + hours (T0: thirty days ago, on the hour)."""
    t0 = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(days=30)
    now = {"at": t0}
    for module in WORKFLOW_MODULES:
        monkeypatch.setattr(f"hostguard.cases.{module}.utcnow", lambda: now["at"])

    def move(hours: float):
        now["at"] = t0 + timedelta(hours=hours)
        return now["at"]

    return move


def order(db, runtime, reference: str, member_state: str, repo_id: str):
    o, (case,) = receive_order(
        policy=runtime.policy,
        session=db,
        runtime=runtime,
        actor="apikey:7",
        data=OrderInput(
            authority="Authority",
            member_state=member_state,
            reference=reference,
            legal_basis="DSA Art. 9",
            category="terrorism",
            items=[repo_id],
        ),
    )
    db.commit()
    return o, case


TAKE_DOWN = dict(
    action="take_down",
    ground="illegal_content",
    ground_reference="TCO Regulation Art. 3",
    category="terrorism",
    explanation="Terrorist content.",
)
NO_ACTION = dict(
    action="no_action",
    ground="terms_of_service",
    ground_reference="Terms §3",
    category="hate",
    explanation="Nothing wrong.",
    notices_unfounded=True,
)


def test_orders_appeals_and_suspensions_match_hand_figures(
    db, runtime, clock, cli, people, decided, notice, owned_repo
):
    mod, senior = people("moderator"), people("senior_moderator")

    # Orders: o1 acknowledged after 2 h, effect after 5 h; o2 never acknowledged by hand, so the
    # decision 8 h after receipt acknowledges it and gives effect; o3 acknowledged after 4 h, open.
    clock(0)
    o1, case1 = order(db, runtime, "O-1", "DE", "ord/one")
    clock(1)
    o2, case2 = order(db, runtime, "O-2", "FR", "ord/two")
    clock(2)
    o3, _ = order(db, runtime, "O-3", "DE", "ord/three")
    acknowledge_order(session=db, order_id=o1.id, actor="user:legal")
    db.commit()
    clock(5)
    decided(case1, mod, **TAKE_DOWN)
    clock(6)
    acknowledge_order(session=db, order_id=o3.id, actor="user:legal")
    db.commit()
    clock(9)
    decided(case2, mod, **TAKE_DOWN)
    # acknowledge: 2, 8, 4 h -> median 4; effect: 5, 8 h -> median 6.5

    # Appeals: against case1, filed at 10 h, overturned at 34 h (24 h); against case2, filed at
    # 11 h, upheld at 23 h (12 h); against case3, filed at 13 h and still open.
    _, (case3,) = notice(items=["pub/three"], client="198.51.100.30", email="p3@example.org")
    clock(12)
    decided(
        case3,
        mod,
        action="restrict",
        ground="terms_of_service",
        ground_reference="Terms §4",
        category="hate",
        explanation="Needs a gate.",
    )
    appeals = {}
    for hours, case in ((10, case1), (11, case2), (13, case3)):
        clock(hours)
        appeals[case.id] = file_appeal(
            policy=runtime.policy,
            session=db,
            case_id=case.id,
            appellant="uploader",
            reason="Wrong.",
            actor="uploader:x",
        )
        db.commit()
    clock(23)
    decide_appeal(
        session=db,
        runtime=runtime,
        appeal_id=appeals[case2.id].id,
        user=senior,
        actor=senior.actor,
        outcome="upheld",
        explanation="Right decision.",
    )
    db.commit()
    clock(34)
    decide_appeal(
        session=db,
        runtime=runtime,
        appeal_id=appeals[case1.id].id,
        user=senior,
        actor=senior.actor,
        outcome="overturned",
        explanation="Research context.",
    )
    db.commit()

    # Suspensions: an uploader suspended for illegal content; a notifier whose six notices were
    # all manifestly unfounded is warned (5th) and then suspended (6th).
    clock(40)
    owned_repo(repo_id="dave/model", platform_id="u-dave", username="dave")
    _, (case4,) = notice(items=["dave/model"], client="198.51.100.40", email="p4@example.org")
    decided(case4, mod, **{**TAKE_DOWN, "action": "suspend_uploader"})
    for i in range(6):
        clock(41 + i)
        _, (case,) = notice(
            items=[f"noise/m{i}"], email="noisy@example.org", client=f"203.0.113.{i}"
        )
        decided(case, mod, **NO_ACTION)

    result = cli("report", "transparency", "--since", "2000-01-01")
    assert result.exit_code == 0, result.stderr
    figures = json.loads(result.output)
    assert figures["orders"] == {
        "total": 3,
        "by_category": {"terrorism": 3},
        "by_member_state": {"DE": 2, "FR": 1},
        "median_hours_to_acknowledge": 4.0,
        "median_hours_to_effect": 6.5,
    }
    assert figures["appeals"] == {
        "total": 3,
        "decided": 2,
        "reversed": 1,
        "median_hours_to_decide": 18.0,
    }
    assert figures["suspensions"] == {
        "illegal_content": 1,
        "unfounded_notices": 1,
        "unfounded_complaints": 0,
    }
    # decisions: 2 order take-downs, 1 restriction, 1 suspension, 6 no action
    assert figures["actions"]["decisions"] == 10 and figures["actions"]["total"] == 4
    assert figures["notices"]["total"] == 8
    csv_out = cli("report", "transparency", "--since", "2000-01-01", "--format", "csv").output
    assert "orders.median_hours_to_effect,6.5" in csv_out and "appeals.reversed,1" in csv_out
    assert "suspensions.unfounded_notices,1" in csv_out
