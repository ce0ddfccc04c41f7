"""The dashboard's daily roll-up (issue 16): kept in step in the decision's and the appeal's
transaction, it equals a recount of the case tables after decisions, appeals, reversals that
reopen a case and a new decision; and the dashboard read from it shows the figures read raw."""

from __future__ import annotations

from datetime import timedelta

from hostguard.cases.dashboard import _Period, team_dashboard
from hostguard.cases.models import Case, CaseStatus
from hostguard.cases.rollup import bucket_of, counted, rebuild, stored
from hostguard.db.types import utcnow
from tests.cases.steps import overturn_notifier_appeal, overturn_uploader_appeal


def assert_in_step(db):
    conn = db.connection()
    kept = stored(conn)
    assert kept == counted(conn)
    return kept


def test_rollup_equals_a_recount_after_decisions_appeals_and_reversals(
    db, runtime, notice, people, owned_repo, decided
):
    owned_repo()
    n1, (c1,) = notice(items=("alice/face-model",))
    n2, (c2,) = notice(items=("bob/model",), email="other@example.org")
    _, (c3,) = notice(items=("carol/model",), category="fraud", email="third@example.org")
    mod, s1, s2 = people("moderator"), people("senior_moderator", 1), people("senior_moderator", 2)
    assert assert_in_step(db) == {}

    decided(c1, s1)
    decided(c3, mod, category="fraud")
    decided(
        c2,
        mod,
        action="no_action",
        ground="terms_of_service",
        ground_reference="Terms §3",
        explanation="Allowed.",
    )
    kept = assert_in_step(db)
    cases = sum(v[0] for k, v in kept.items() if k[1] == "case")
    decisions = {k[4]: v[0] for k, v in kept.items() if k[1] == "decision"}
    assert cases == 3 == sum(v[0] for k, v in kept.items() if k[1] == "hours")
    assert {k[3] for k, v in kept.items() if k[1] == "case"} == {"hate", "fraud"}
    assert decisions == {s1.id: 1, mod.id: 2}

    # the uploader's appeal overturned: the decision is reversed (the case stays decided)
    overturn_uploader_appeal(db, runtime, c1, s2, "Satire is allowed under Terms §3.")
    kept = assert_in_step(db)
    assert [v[3] for k, v in kept.items() if k[1] == "appeal"] == [1]

    # the notifier's appeal against no action reopens the case: it leaves its decided day ...
    overturn_notifier_appeal(db, runtime, c2, n2, s1, "The notice was right.")
    assert db.get(Case, c2.id).status == CaseStatus.OPEN
    kept = assert_in_step(db)
    assert sum(v[0] for k, v in kept.items() if k[1] == "case") == 2
    assert sum(v[0] for k, v in kept.items() if k[1] == "appeal") == 2

    # ... and is counted again once decided anew
    decided(db.get(Case, c2.id), s2)
    kept = assert_in_step(db)
    assert sum(v[0] for k, v in kept.items() if k[1] == "case") == 3
    assert sum(v[0] for k, v in kept.items() if k[1] == "decision") == 4

    # a rolled-back decision leaves the roll-up as it was
    _, (c4,) = notice(items=("dave/model",), email="fourth@example.org")
    before = assert_in_step(db)
    decided_case = db.get(Case, c4.id)
    decided_case.status, decided_case.decided_at = CaseStatus.DECIDED, utcnow()
    db.flush()
    db.rollback()
    assert assert_in_step(db) == before

    # the rebuild (after rows written around the ORM) comes to the same rows
    rebuild(db.connection())
    db.commit()
    assert assert_in_step(db) == before


def test_dashboard_from_the_rollup_shows_the_raw_figures(db, runtime, notice, people, decided):
    mod, senior = people("moderator"), people("senior_moderator")
    ids = []
    for i in range(4):
        _, (c,) = notice(items=(f"user{i}/model",), email=f"n{i}@example.org")
        decided(c, mod if i % 2 else senior)
        ids.append(c.id)
    # the decisions are a few seconds old: move two of them back to whole days of the period
    for days, case_id in ((3, ids[0]), (10, ids[1])):
        c = db.get(Case, case_id)
        c.opened_at -= timedelta(days=days, hours=days)
        c.decided_at -= timedelta(days=days)
    db.commit()
    assert_in_step(db)

    until = utcnow() + timedelta(seconds=1)
    board = team_dashboard(db, until=until, days=30)
    raw = _Period()
    raw.add_raw(db, db.get_bind().dialect.name, [(until - timedelta(days=30), until)])
    assert board.decided == sum(raw.hours.values()) == 4
    assert {r.source: (r.decided, r.within) for r in board.deadlines if r.decided} == {
        s: tuple(v) for s, v in raw.deadlines.items()
    }
    assert sorted(raw.hours) == [0, 30, 100]  # 0 h, 3 h, 10 h to decision
    assert (board.median_hours, board.p90_hours) == (0.0, 10.0)
    assert sum(m.decisions for m in board.moderators) == 4


def test_buckets_are_within_five_per_cent():
    assert [bucket_of(t) for t in (0, 7, 99, 104, 105, 996, 1049, 1051, 12345)] == [
        0,
        7,
        99,
        100,
        100,
        1000,
        1000,
        1100,
        12300,
    ]
    for tenths in range(1, 20000, 7):
        assert abs(bucket_of(tenths) - tenths) <= max(0.5, 0.05 * tenths)
