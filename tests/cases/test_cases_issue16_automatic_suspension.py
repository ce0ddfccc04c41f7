"""Issue 16, defect 1: a third strike's suspension is a decision the uploader is told about, that
the Transparency Database receives and that the uploader can appeal."""

from __future__ import annotations

import json

from sqlmodel import select

from hostguard.cases.appeals import file_appeal
from hostguard.cases.models import Notification, StatementOfReasons
from hostguard.jobs.models import Job
from hostguard.platform.models import Uploader, UploaderStatus
from hostguard.workflows.decisions import decide_appeal


def _three_strikes(db, notice, people, owned_repo, decided):
    moderator = people("moderator")
    cases = []
    for n in range(3):
        _, uploader = owned_repo(repo_id=f"alice/model-{n}")
        _, (case,) = notice(items=(f"alice/model-{n}",), email=f"n{n}@example.org")
        decided(case, moderator)
        cases.append(case)
    return uploader, cases


def test_the_third_strike_suspension_is_in_the_statement_the_message_and_the_export(
    db, runtime, notice, people, owned_repo, decided, cli
):
    uploader, cases = _three_strikes(db, notice, people, owned_repo, decided)
    db.expire_all()
    suspended = db.get(Uploader, uploader.id)
    assert suspended.status == UploaderStatus.SUSPENDED and suspended.suspended_until
    until = suspended.suspended_until
    third = db.exec(
        select(StatementOfReasons).where(StatementOfReasons.case_id == cases[2].id)
    ).one()
    assert third.tdb["decision_account"] == "DECISION_ACCOUNT_SUSPENDED"
    assert third.tdb["end_date_account_restriction"] == until.date().isoformat()
    assert third.tdb["automated_decision"] == "AUTOMATED_DECISION_PARTIALLY"
    assert f"account is also suspended until {until:%d %B %Y}" in third.text
    assert "appealing this decision contests it too" in third.text
    for earlier in cases[:2]:  # the strikes before it suspended nobody
        sor = db.exec(
            select(StatementOfReasons).where(StatementOfReasons.case_id == earlier.id)
        ).one()
        assert "decision_account" not in sor.tdb
    told = db.exec(
        select(Notification).where(
            Notification.recipient == "uploader:u-alice",
            Notification.kind == "uploader_suspension",
        )
    ).one()
    assert f"until {until:%d %B %Y}" in told.body and told.email_enc is not None
    statement_text = db.exec(
        select(Notification).where(
            Notification.case_id == cases[2].id, Notification.kind == "uploader_statement"
        )
    ).one()
    assert "account is also suspended" in statement_text.body
    db.commit()
    result = cli("export", "statements")
    assert result.exit_code == 0, result.output
    exported = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert [s.get("decision_account") for s in exported] == [
        None,
        None,
        "DECISION_ACCOUNT_SUSPENDED",
    ]


def test_the_uploader_appeals_the_decision_and_the_suspension_is_lifted(
    db, runtime, notice, people, owned_repo, decided
):
    uploader, cases = _three_strikes(db, notice, people, owned_repo, decided)
    appeal = file_appeal(
        policy=runtime.policy,
        session=db,
        case_id=cases[2].id,
        appellant="uploader",
        reason="The third model is a research artefact, not illegal content.",
        actor="uploader:u-alice",
    )
    db.commit()
    senior = people("senior_moderator")
    decide_appeal(
        session=db,
        runtime=runtime,
        appeal_id=appeal.id,
        user=senior,
        actor=senior.actor,
        outcome="overturned",
        explanation="The model is a research artefact.",
    )
    db.commit()
    db.expire_all()
    again = db.get(Uploader, uploader.id)
    assert again.status == UploaderStatus.WARNED and again.strikes == 2
    assert again.suspended_until is None
    reinstate = [
        j
        for j in db.exec(select(Job).where(Job.kind == "platform.action"))
        if j.payload["kind"] == "reinstate_uploader"
    ]
    assert reinstate, "the platform is told to reinstate the account"
