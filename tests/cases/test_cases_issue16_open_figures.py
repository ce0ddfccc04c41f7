"""Issue 16, the dashboard's queue now: the open cases' figures (`case_open_figures`) kept in
step with every change of an open case equal a recount of the cases, after claims, releases,
take-overs, escalations, decisions, merges, a reopening appeal and a rollback; the dashboard's
depth and overdue counts read from them equal a count of the cases themselves."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, time, timedelta

from sqlmodel import Session, col, func, select

from hostguard.cases.appeals import file_appeal
from hostguard.cases.claims import claim_case, release_case, take_over_case
from hostguard.cases.dashboard import team_dashboard
from hostguard.cases.decisions import DecisionInput
from hostguard.cases.merge import merge_cases
from hostguard.cases.models import OPEN_STATUSES, Case, CaseStatus
from hostguard.cases.rollup import NO_DEADLINE, counted_open, rebuild, stored
from hostguard.db.types import utcnow
from hostguard.errors import Conflict
from hostguard.workflows.decisions import decide, decide_appeal
from tests.cases.conftest import TAKE_DOWN


def in_step(db) -> dict:
    conn = db.connection()
    kept = stored(conn, "case_open_figures")
    assert kept == counted_open(conn)
    return kept


def unassigned(kept: dict) -> int:
    return sum(v[1] for v in kept.values())


def test_open_figures_equal_a_recount_after_every_change_of_an_open_case(
    db, runtime, notice, people, decided
):
    policy = runtime.policy
    mod, senior, other = (
        people("moderator"),
        people("senior_moderator"),
        people("senior_moderator", 2),
    )
    _, (c1,) = notice(items=("alice/face-model",))
    n2, (c2,) = notice(items=("bob/model",), category="fraud", email="two@example.org")
    _, (c3,) = notice(items=("carol/model",), email="three@example.org")
    kept = in_step(db)
    assert sum(v[0] for v in kept.values()) == 3 == unassigned(kept)
    assert {(k[0], k[2]) for k in kept} == {("open", "hate"), ("open", "fraud")}

    # a claim (a plain UPDATE, no flush) takes one case out of the unassigned ...
    claim_case(session=db, case_id=c1.id, user=mod, actor=mod.actor, policy=policy)
    db.commit()
    assert unassigned(in_step(db)) == 2
    claim_case(session=db, case_id=c1.id, user=mod, actor=mod.actor, policy=policy)  # again
    db.commit()
    assert unassigned(in_step(db)) == 2
    # ... a release puts it back, a take-over of a claimed case changes nothing
    release_case(session=db, case_id=c1.id, user=mod, actor=mod.actor)
    db.commit()
    assert unassigned(in_step(db)) == 3
    claim_case(session=db, case_id=c1.id, user=mod, actor=mod.actor, policy=policy)
    take_over_case(
        session=db, case_id=c1.id, user=senior, actor=senior.actor, policy=policy, reason="x"
    )
    db.commit()
    assert unassigned(in_step(db)) == 2

    # an escalation moves the case to the senior queue
    claim_case(session=db, case_id=c3.id, user=mod, actor=mod.actor, policy=policy)
    decide(
        policy=policy,
        session=db,
        runtime=runtime,
        case_id=c3.id,
        user=mod,
        actor=mod.actor,
        data=DecisionInput(
            action="escalate",
            ground="illegal_content",
            ground_reference="StGB § 130",
            category="hate",
            explanation="Needs a senior look.",
            escalate_to="senior",
        ),
    )
    db.commit()
    kept = in_step(db)
    assert {k[:2] for k in kept} >= {("escalated", "senior")}

    # a decision of no action closes one; the notifier's appeal overturning it reopens it
    decided(
        c2,
        mod,
        category="fraud",
        action="no_action",
        ground="terms_of_service",
        ground_reference="Terms §3",
        explanation="Allowed.",
    )
    kept = in_step(db)
    assert sum(v[0] for v in kept.values()) == 2
    appeal = file_appeal(
        policy=policy,
        session=db,
        case_id=c2.id,
        appellant="notifier",
        notice_id=n2.id,
        reason="It is a scam generator.",
        actor="public",
    )
    db.commit()
    decide_appeal(
        session=db,
        runtime=runtime,
        appeal_id=appeal.id,
        user=other,
        actor=other.actor,
        outcome="overturned",
        explanation="The notice was right.",
    )
    db.commit()
    assert db.get(Case, c2.id).status == CaseStatus.OPEN
    assert sum(v[0] for v in in_step(db).values()) == 3

    # a duplicate merged into the decided case leaves the open cases
    decided(c1, senior)
    _, (c4,) = notice(items=("alice/face-model",), email="four@example.org")
    assert c4.id != c1.id and sum(v[0] for v in in_step(db).values()) == 3
    merge_cases(
        session=db,
        runtime=runtime,
        into=c1.id,
        case_ids=[c4.id],
        user=senior,
        actor=senior.actor,
        policy=policy,
        reason="same model",
    )
    db.commit()
    assert db.get(Case, c4.id).status == CaseStatus.MERGED
    before = in_step(db)
    assert sum(v[0] for v in before.values()) == 2

    # a rolled-back change leaves the figures as they were; a rebuild comes to the same rows
    case = db.get(Case, c2.id)
    case.status, case.decided_at = CaseStatus.DECIDED, utcnow()
    db.flush()
    db.rollback()
    assert in_step(db) == before
    rebuild(db.connection(), "case_open_figures")
    db.commit()
    assert in_step(db) == before


def test_overdue_and_depth_read_from_the_figures_equal_a_count_of_the_cases(db, notice):
    today = datetime.combine(utcnow().date(), time(), tzinfo=UTC)
    deadlines = [
        today - timedelta(days=3),  # overdue since days
        today + timedelta(hours=2),  # today, early
        today + timedelta(hours=20),  # today, late
        today + timedelta(days=2),  # not yet
        None,  # no deadline
    ]
    for i, deadline in enumerate(deadlines):
        _, (c,) = notice(items=(f"user{i}/model",), email=f"n{i}@example.org")
        case = db.get(Case, c.id)
        case.deadline_at = deadline
        case.category = "fraud" if i % 2 else "hate"
    db.commit()
    kept = in_step(db)
    assert NO_DEADLINE in {k[3] for k in kept}

    for until in (
        today - timedelta(days=4),
        today + timedelta(hours=1),
        today + timedelta(hours=3),
        today + timedelta(hours=21),
        today + timedelta(days=3),
    ):
        board = team_dashboard(db, until=until, days=7)
        counted = dict(
            db.exec(
                select(Case.category, func.count())
                .where(
                    col(Case.status).in_(OPEN_STATUSES),
                    col(Case.deadline_at) < until,
                )
                .group_by(Case.category)
            ).all()
        )
        assert board.overdue == counted, until
        assert board.open_cases == 5
        assert board.depth_by_category() == {"hate": 3, "fraud": 2}
    assert team_dashboard(db, until=today + timedelta(hours=3), days=7).overdue_now == 2


def test_concurrent_claims_and_a_decision_keep_the_figures_in_step(runtime, notice, people):
    # two moderators race for each of three cases while a fourth case is decided: every
    # transaction takes the case's row before the audit chain, so none deadlocks, and the
    # figures equal a recount
    policy = runtime.policy
    cases = [notice(items=(f"race/model-{i}",), email=f"r{i}@example.org")[1][0] for i in range(4)]
    moderators = [people("moderator", i) for i in range(6)]
    decider = people("senior_moderator")
    with Session(runtime.engine) as session:
        claim_case(
            session=session, case_id=cases[3].id, user=decider, actor=decider.actor, policy=policy
        )
        session.commit()
    barrier = threading.Barrier(len(moderators) + 1)
    results: list[str] = []

    def claim(user, case_id):
        with Session(runtime.engine) as session:
            barrier.wait()
            try:
                claim_case(
                    session=session, case_id=case_id, user=user, actor=user.actor, policy=policy
                )
                session.commit()
                results.append("won")
            except Conflict:
                session.rollback()
                results.append("lost")

    def decide_fourth():
        with Session(runtime.engine) as session:
            barrier.wait()
            decide(
                policy=policy,
                session=session,
                runtime=runtime,
                case_id=cases[3].id,
                user=decider,
                actor=decider.actor,
                data=DecisionInput(**TAKE_DOWN),
            )
            session.commit()
            results.append("decided")

    threads = [
        threading.Thread(target=claim, args=(m, cases[i // 2].id)) for i, m in enumerate(moderators)
    ] + [threading.Thread(target=decide_fourth)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == ["decided"] + ["lost"] * 3 + ["won"] * 3
    with Session(runtime.engine) as session:
        kept = in_step(session)
    assert sum(v[0] for v in kept.values()) == 3 and unassigned(kept) == 0
