"""The notice-and-action workflow on a real database: intake, claims, decisions, appeals, misuse."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from hostguard.audit.models import AuditRecord
from hostguard.audit.service import verify
from hostguard.cases.appeals import file_appeal
from hostguard.cases.claims import (
    add_note,
    claim_case,
    link_cases,
    linked_case_ids,
    reassign_case,
    release_case,
)
from hostguard.cases.decisions import DecisionInput
from hostguard.cases.intake import NoticeInput, RateLimited, open_case, submit_notice
from hostguard.cases.models import (
    Appeal,
    Case,
    CaseEvidence,
    CaseStatus,
    Decision,
    Notice,
    Notification,
    Sanction,
    StatementOfReasons,
)
from hostguard.cases.orders import OrderInput, receive_order
from hostguard.cases.queue import CaseFilter, list_cases
from hostguard.cases.statements.transparency_database import validate_tdb_statement
from hostguard.db.types import utcnow
from hostguard.errors import Conflict, InvalidInput, PermissionDenied, TooLarge
from hostguard.jobs.models import Job
from hostguard.platform.models import ModelRepo, RepoStatus, Uploader, UploaderStatus
from hostguard.platform.service import get_or_create_repo
from hostguard.workflows.decisions import decide, decide_appeal
from hostguard.workflows.evidence import report_package


def jobs(db, kind):
    return list(db.exec(select(Job).where(Job.kind == kind).order_by(Job.id)))


def test_notice_about_an_unseen_model_opens_a_case_with_encrypted_contact(db, runtime, notice):
    n, cases = notice(items=["https://huggingface.co/newcomer/old-model", "bob/other"])
    assert [c.status for c in cases] == ["open", "open"]
    repos = {r.repo_id for r in db.exec(select(ModelRepo))}
    assert repos == {"newcomer/old-model", "bob/other"}
    stored = db.get(Notice, n.id)
    assert b"notifier@example.org" not in stored.email_enc
    assert runtime.keys.decrypt(stored.email_enc) == b"notifier@example.org"
    assert runtime.keys.decrypt(stored.name_enc) == b"Nora Notifier"
    receipt = db.exec(select(Notification).where(Notification.kind == "notice_receipt")).one()
    assert receipt.recipient == f"notice:{n.id}" and "received your notice" in receipt.body
    assert jobs(db, "cases.notify")
    assert cases[0].deadline_at is not None
    # a second notice on the same model joins its open case
    _, again = notice(items=["bob/other"], email="other@example.org")
    assert again[0].id == cases[1].id
    assert len(list(db.exec(select(CaseEvidence).where(CaseEvidence.case_id == cases[1].id)))) == 2


@pytest.mark.parametrize(
    "change,error,code",
    [
        ({"items": ["not a model"]}, InvalidInput, "invalid_model_id"),
        ({"items": []}, InvalidInput, "no_items"),
        ({"items": [f"o/m{i}" for i in range(21)]}, TooLarge, "too_large"),
        ({"explanation": "x" * 5001}, TooLarge, "too_large"),
        ({"explanation": "bad"}, InvalidInput, "explanation_too_short"),
        ({"category": "spam"}, InvalidInput, "invalid_category"),
        ({"good_faith": False}, InvalidInput, "missing_good_faith"),
        ({"notifier_email": None}, InvalidInput, "missing_contact"),
        ({"notifier_email": "nope"}, InvalidInput, "invalid_email"),
    ],
)
def test_bad_notices_are_refused_with_clear_errors(db, runtime, change, error, code):
    data = dict(
        items=["a/b"],
        category="hate",
        explanation="This model generates hate imagery.",
        notifier_name="N",
        notifier_email="n@example.org",
        good_faith=True,
    )
    data.update(change)
    with pytest.raises(error) as exc:
        submit_notice(
            policy=runtime.policy,
            session=db,
            runtime=runtime,
            actor="public",
            data=NoticeInput(**data),
        )
    assert exc.value.code == code


def test_csam_notices_may_be_anonymous(db, runtime):
    n, cases = submit_notice(
        policy=runtime.policy,
        session=db,
        runtime=runtime,
        actor="public",
        data=NoticeInput(
            items=["x/y"],
            category="child_sexual_abuse",
            explanation="abuse material in samples",
            good_faith=True,
        ),
    )
    assert n.email_enc is None and n.notifier_id is None
    assert cases[0].legal_hold_until is not None
    assert not db.exec(select(Notification)).all()  # nobody to send a receipt to


def test_flood_from_one_address_is_cut_off_and_ranks_below_trusted_flaggers(db, runtime, notice):
    for i in range(10):
        notice(items=[f"flood/m{i}"], email=f"f{i}@example.org")
    with pytest.raises(RateLimited):
        notice(items=["flood/m99"], email="f99@example.org")
    _, tf = notice(items=["tf/model"], source="trusted_flagger", email=None, name=None, client=None)
    page, _ = list_cases(db, CaseFilter(), limit=1)
    assert page[0].id == tf[0].id


def test_claims_are_exclusive_release_and_reassign(runtime, db, notice, people):
    _, (case,) = notice()
    m1, m2 = people("moderator", 1), people("moderator", 2)
    claim_case(session=db, case_id=case.id, user=m1, actor=m1.actor, policy=runtime.policy)
    with pytest.raises(Conflict) as exc:
        claim_case(session=db, case_id=case.id, user=m2, actor=m2.actor, policy=runtime.policy)
    assert exc.value.code == "claimed_by_other"
    claim_case(
        session=db, case_id=case.id, user=m1, actor=m1.actor, policy=runtime.policy
    )  # idempotent for the holder
    with pytest.raises(Conflict):
        release_case(session=db, case_id=case.id, user=m2, actor=m2.actor)
    reassign_case(
        session=db,
        case_id=case.id,
        to_user_id=m2.id,
        user=m1,
        actor=m1.actor,
        policy=runtime.policy,
    )
    assert db.get(Case, case.id).assigned_to == m2.id
    release_case(session=db, case_id=case.id, user=m2, actor=m2.actor)
    assert db.get(Case, case.id).assigned_to is None
    claim_case(session=db, case_id=case.id, user=m1, actor=m1.actor, policy=runtime.policy)
    db.commit()


def test_notes_and_links(db, notice, people):
    _, (a, b) = notice(items=["a/one", "b/two"])
    m = people("moderator")
    add_note(session=db, case_id=a.id, body="Same uploader as b/two", actor=m.actor)
    link_cases(session=db, case_id=a.id, other_case_id=b.id, actor=m.actor, reason="same uploader")
    link_cases(session=db, case_id=b.id, other_case_id=a.id, actor=m.actor)  # no duplicate
    assert linked_case_ids(db, a.id) == [b.id] and linked_case_ids(db, b.id) == [a.id]
    with pytest.raises(InvalidInput):
        add_note(session=db, case_id=a.id, body="  ", actor=m.actor)


def test_decision_needs_a_claim_and_every_part(db, runtime, notice, people):
    _, (case,) = notice()
    m = people("moderator")
    good = dict(
        action="take_down",
        ground="illegal_content",
        ground_reference="StGB § 130",
        category="hate",
        explanation="Incites hatred.",
    )
    with pytest.raises(Conflict) as exc:
        decide(
            policy=runtime.policy,
            session=db,
            runtime=runtime,
            case_id=case.id,
            user=m,
            actor=m.actor,
            data=DecisionInput(**good),
        )
    assert exc.value.code == "not_claimed"
    claim_case(session=db, case_id=case.id, user=m, actor=m.actor, policy=runtime.policy)
    for missing, code in [
        ("ground", "missing_ground"),
        ("ground_reference", "missing_ground_reference"),
        ("category", "missing_category"),
        ("explanation", "missing_explanation"),
    ]:
        with pytest.raises(InvalidInput) as exc:
            decide(
                policy=runtime.policy,
                session=db,
                runtime=runtime,
                case_id=case.id,
                user=m,
                actor=m.actor,
                data=DecisionInput(**{**good, missing: None}),
            )
        assert exc.value.code == code
    with pytest.raises(InvalidInput) as exc:
        decide(
            policy=runtime.policy,
            session=db,
            runtime=runtime,
            case_id=case.id,
            user=m,
            actor=m.actor,
            data=DecisionInput(**{**good, "action": "delete"}),
        )
    assert exc.value.code == "invalid_action"


def test_take_down_runs_everything_in_one_transaction(
    db, runtime, notice, people, owned_repo, decided
):
    repo, uploader = owned_repo()
    n, (case,) = notice()
    m = people("moderator")
    d = decided(case, m)
    case = db.get(Case, case.id)
    assert case.status == CaseStatus.DECIDED and case.assigned_to is None
    assert db.get(ModelRepo, repo.id).status == RepoStatus.TAKEN_DOWN
    actions = [j.payload for j in jobs(db, "platform.action")]
    assert [(a["kind"], a["repo_id"]) for a in actions] == [("take_down", "alice/face-model")]
    sor = db.exec(select(StatementOfReasons).where(StatementOfReasons.decision_id == d.id)).one()
    assert validate_tdb_statement(sor.tdb) == []
    assert sor.tdb["source_type"] == "SOURCE_ARTICLE_16" and sor.puid == f"hostguard-sor-{d.id}"
    assert "alice" not in str(sor.tdb).lower()  # the uploader's name is personal data
    assert (
        "Legal ground relied on: StGB § 130" in sor.text
        and "appeal this decision until" in sor.text
    )
    kinds = {(x.kind, x.recipient) for x in db.exec(select(Notification))}
    assert ("notifier_decision", f"notice:{n.id}") in kinds
    assert ("uploader_statement", "uploader:u-alice") in kinds
    assert db.get(Notice, n.id).outcome == "founded"
    assert db.get(Uploader, uploader.id).strikes == 1
    assert db.get(Uploader, uploader.id).status == UploaderStatus.WARNED
    actions = {r.action for r in db.exec(select(AuditRecord))}
    assert {
        "case.claim",
        "case.decide.take_down",
        "case.statement_of_reasons",
        "uploader.strike",
    } <= actions
    assert verify(db).ok


def test_escalation_goes_to_senior(db, runtime, notice, people, decided):
    _, (case,) = notice()
    m, senior = people("moderator"), people("senior_moderator")
    decided(case, m, action="escalate", escalate_to="senior")
    case = db.get(Case, case.id)
    assert case.status == CaseStatus.ESCALATED and case.assigned_to is None
    with pytest.raises(PermissionDenied):
        claim_case(session=db, case_id=case.id, user=m, actor=m.actor, policy=runtime.policy)
    decided(
        case,
        senior,
        action="restrict",
        restrict_mode="label",
        ground="terms_of_service",
        ground_reference="Terms §4.2",
    )
    assert db.get(Case, case.id).status == CaseStatus.DECIDED


def test_appeal_overturned_by_a_different_senior_reverses_the_action(
    db, runtime, notice, people, owned_repo, decided
):
    repo, uploader = owned_repo()
    _, (case,) = notice()
    s1, s2, mod = people("senior_moderator", 1), people("senior_moderator", 2), people("moderator")
    decision = decided(case, s1)
    appeal = file_appeal(
        policy=runtime.policy,
        session=db,
        case_id=case.id,
        appellant="uploader",
        reason="It is satire.",
        actor="uploader:u-alice",
    )
    db.commit()
    assert db.get(Case, case.id).status == CaseStatus.APPEALED
    with pytest.raises(PermissionDenied) as exc:
        decide_appeal(
            session=db,
            runtime=runtime,
            appeal_id=appeal.id,
            user=s1,
            actor=s1.actor,
            outcome="overturned",
            explanation="x",
        )
    assert exc.value.code == "own_decision"
    with pytest.raises(PermissionDenied):
        decide_appeal(
            session=db,
            runtime=runtime,
            appeal_id=appeal.id,
            user=mod,
            actor="user:x",
            outcome="overturned",
            explanation="x",
        )
    decide_appeal(
        session=db,
        runtime=runtime,
        appeal_id=appeal.id,
        user=s2,
        actor=s2.actor,
        outcome="overturned",
        explanation="Satire is allowed under Terms §3.",
    )
    db.commit()
    assert db.get(Decision, decision.id).reversed_at is not None
    assert db.get(ModelRepo, repo.id).status == RepoStatus.ACTIVE
    assert db.get(Uploader, uploader.id).strikes == 0
    assert [j.payload["kind"] for j in jobs(db, "platform.action")] == ["take_down", "restore"]
    assert db.get(Appeal, appeal.id).outcome == "overturned"
    assert (
        db.exec(select(Notification).where(Notification.kind == "appeal_outcome")).one().recipient
        == "uploader:u-alice"
    )


def test_notifier_appeal_against_no_action_reopens_the_case(db, runtime, notice, people, decided):
    n, (case,) = notice()
    m, senior = people("moderator"), people("senior_moderator")
    decided(
        case,
        m,
        action="no_action",
        ground="terms_of_service",
        ground_reference="Terms §3",
        explanation="Allowed.",
    )
    with pytest.raises(Conflict):  # the uploader has nothing to appeal
        file_appeal(
            policy=runtime.policy,
            session=db,
            case_id=case.id,
            appellant="uploader",
            reason="?",
            actor="x",
        )
    appeal = file_appeal(
        policy=runtime.policy,
        session=db,
        case_id=case.id,
        appellant="notifier",
        notice_id=n.id,
        reason="It clearly incites hatred.",
        actor="public",
    )
    decide_appeal(
        session=db,
        runtime=runtime,
        appeal_id=appeal.id,
        user=senior,
        actor=senior.actor,
        outcome="overturned",
        explanation="The notice was right.",
    )
    db.commit()
    assert db.get(Case, case.id).status == CaseStatus.OPEN


def test_new_notices_join_the_case_not_under_appeal(db, runtime, notice, people, decided):
    first, (appealed,) = notice()
    m = people("moderator")
    decided(
        appealed,
        m,
        action="no_action",
        ground="terms_of_service",
        ground_reference="Terms §3",
        explanation="Allowed.",
    )
    _, (newer,) = notice(client="203.0.113.10")  # after the decision: a case of its own
    assert newer.id != appealed.id
    file_appeal(
        policy=runtime.policy,
        session=db,
        case_id=appealed.id,
        appellant="notifier",
        notice_id=first.id,
        reason="It clearly incites hatred.",
        actor="public",
    )
    db.commit()
    assert db.get(Case, appealed.id).status == CaseStatus.APPEALED

    third, (joined,) = notice(client="203.0.113.11")
    assert joined.id == newer.id

    def evidence_refs(case_id):
        return {e.ref for e in db.exec(select(CaseEvidence).where(CaseEvidence.case_id == case_id))}

    assert f"notice:{third.id}" in evidence_refs(newer.id)
    assert f"notice:{third.id}" not in evidence_refs(appealed.id)
    # once the newer case is decided, the appealed case is the model's only active one
    decided(
        newer,
        m,
        action="no_action",
        ground="terms_of_service",
        ground_reference="Terms §3",
        explanation="Allowed.",
    )
    _, (last,) = notice(client="203.0.113.12")
    assert last.id == appealed.id


def test_appeal_window_is_six_months(db, runtime, notice, people, decided):
    _, (case,) = notice()
    decided(case, people("moderator"))
    late = utcnow() + timedelta(days=190)
    with pytest.raises(Conflict) as exc:
        file_appeal(
            policy=runtime.policy,
            session=db,
            case_id=case.id,
            appellant="uploader",
            reason="late",
            actor="x",
            now=late,
        )
    assert exc.value.code == "appeal_window_closed"
    file_appeal(
        policy=runtime.policy,
        session=db,
        case_id=case.id,
        appellant="uploader",
        reason="in time",
        actor="x",
        now=utcnow() + timedelta(days=170),
    )


def test_order_deadline_effect_and_feedback(db, runtime, people, decided):
    deadline = utcnow() + timedelta(hours=2)
    order, (case,) = receive_order(
        policy=runtime.policy,
        session=db,
        runtime=runtime,
        actor="apikey:1",
        data=OrderInput(
            authority="Arcom",
            member_state="FR",
            reference="ARC-2026-17",
            legal_basis="Art. 9 DSA; LCEN art. 6",
            category="terrorism",
            items=["x/terror-model"],
            territorial_scope=["fr"],
            deadline_at=deadline,
            feedback_to="orders@arcom.example",
        ),
    )
    db.commit()
    assert case.deadline_at == deadline and case.source == "order"
    decided(
        case, people("moderator"), category="terrorism", ground_reference="Regulation (EU) 2021/784"
    )
    db.refresh(order)
    assert order.status == "effect_given" and order.acknowledged_at and order.effect_at
    assert "ARC-2026-17" in order.feedback and "Effect was given on" in order.feedback
    fb = db.exec(select(Notification).where(Notification.kind == "order_feedback")).one()
    assert runtime.keys.decrypt(fb.email_enc) == b"orders@arcom.example"
    sor = db.exec(select(StatementOfReasons)).one()
    assert sor.tdb["source_type"] == "SOURCE_TYPE_OTHER_NOTIFICATION"


def test_strikes_warn_then_suspend_the_uploader(db, runtime, people, owned_repo, decided):
    m = people("moderator")
    for i in range(3):
        repo, uploader = owned_repo(repo_id=f"alice/model-{i}")
        case = open_case(
            policy=runtime.policy,
            session=db,
            repo=repo,
            source="own_initiative",
            category="hate",
            actor="system",
            kind="review",
        )
        db.commit()
        decided(case, m)
    uploader = db.get(Uploader, uploader.id)
    assert uploader.strikes == 3 and uploader.status == UploaderStatus.SUSPENDED
    assert [s.action for s in db.exec(select(Sanction).order_by(Sanction.id))] == [
        "warn",
        "suspend",
    ]
    assert "suspend_uploader" in [j.payload["kind"] for j in jobs(db, "platform.action")]


def test_unfounded_notifier_is_warned_then_suspended(db, runtime, notice, people, decided):
    m = people("moderator")
    for i in range(6):
        _, (case,) = notice(items=[f"v/m{i}"], email="noisy@example.org", client=f"198.51.100.{i}")
        decided(
            case,
            m,
            action="no_action",
            notices_unfounded=True,
            ground="terms_of_service",
            ground_reference="Terms §3",
            explanation="Nothing wrong.",
        )
    assert [s.action for s in db.exec(select(Sanction))] == ["warn", "suspend"]
    with pytest.raises(PermissionDenied) as exc:
        notice(items=["v/again"], email="noisy@example.org", client="198.51.100.99")
    assert exc.value.code == "notifier_suspended"


def test_csam_report_package_and_legal_hold(db, runtime, people, owned_repo, decided):
    repo, _ = owned_repo()
    case = open_case(
        policy=runtime.policy,
        session=db,
        repo=repo,
        source="hash_match",
        category="csam",
        actor="system",
        kind="hash_match",
        automated=True,
        details={"list": "demo-list", "distance": 4},
    )
    db.commit()
    assert case.category == "child_sexual_abuse" and case.legal_hold_until > utcnow() + timedelta(
        days=360
    )
    decided(
        case,
        people("legal"),
        action="report",
        category="child_sexual_abuse",
        ground_reference="18 U.S.C. 2258A",
        explanation="Matched known material.",
    )
    package = report_package(session=db, case_id=case.id, actor="user:1")
    assert package["evidence"][0]["details"] == {"list": "demo-list", "distance": 4}
    assert package["uploader"]["platform_id"] == "u-alice"
    assert package["decisions"][0]["action"] == "report"
    sor = db.exec(select(StatementOfReasons)).one()
    assert sor.tdb["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_DISABLED"]
    assert sor.tdb["automated_detection"] == "Yes"


def test_keyset_pagination_walks_the_queue_in_priority_order(db, runtime):
    for i in range(7):
        repo = get_or_create_repo(db, repo_id=f"p/m{i}")
        open_case(
            policy=runtime.policy,
            session=db,
            repo=repo,
            source="notice" if i % 2 else "trusted_flagger",
            category="child_sexual_abuse" if i == 5 else "hate",
            actor="system",
            kind="notice",
        )
    db.commit()
    seen, cursor = [], None
    while True:
        page, cursor = list_cases(db, CaseFilter(), limit=3, cursor=cursor)
        seen.extend(page)
        if not cursor:
            break
    assert len(seen) == 7 and len({c.id for c in seen}) == 7
    keys = [(c.priority, c.id) for c in seen]
    assert keys == sorted(keys, reverse=True)
    assert seen[0].category == "child_sexual_abuse"
    newest, _ = list_cases(db, CaseFilter(), sort="newest", limit=2)
    assert newest[0].id > newest[1].id
    with pytest.raises(InvalidInput):
        list_cases(db, CaseFilter(), cursor="garbage")
