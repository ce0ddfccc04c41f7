"""Issue 16, defect 8: suspensions end, suspended notifiers are told, reversed strikes and
overturning appeals read right, and the notice rate limit says "try again later" once."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from hostguard.cases.appeals import file_appeal
from hostguard.cases.misuse import _apply_notifier_misuse
from hostguard.cases.models import Decision, Notification, Notifier, StatementOfReasons
from hostguard.db.types import utcnow
from hostguard.jobs.models import Job
from hostguard.platform.models import Uploader, UploaderStatus
from hostguard.workflows.decisions import decide_appeal

WHO = {"name": "Nora Notifiersdottir", "email": "nora.n@mail.example"}


def _overturn(db, runtime, case, senior, explanation):
    appeal = file_appeal(
        policy=runtime.policy,
        session=db,
        case_id=case.id,
        appellant="uploader",
        reason="It is satire.",
        actor="uploader:u-alice",
    )
    db.commit()
    decide_appeal(
        session=db,
        runtime=runtime,
        appeal_id=appeal.id,
        user=senior,
        actor=senior.actor,
        outcome="overturned",
        explanation=explanation,
    )
    db.commit()


def test_a_suspension_without_an_end_date_gets_one_from_the_policy(
    db, runtime, notice, people, owned_repo, decided
):
    owned_repo()
    _, (case,) = notice()
    d = decided(case, people("moderator"), action="suspend_uploader")
    days = runtime.policy.misuse.uploader_suspension_days
    end = db.get(Decision, d.id).end_date
    assert end is not None
    assert abs(end - (utcnow() + timedelta(days=days))) < timedelta(minutes=5)
    sor = db.exec(select(StatementOfReasons).where(StatementOfReasons.case_id == case.id)).one()
    assert f"until {end:%d %B %Y}" in sor.text
    assert "indefinite" not in sor.text


def test_a_suspended_notifier_is_told_until_when_and_why(db, runtime, notice):
    n, (case,) = notice()
    notifier = db.get(Notifier, n.notifier_id)
    notifier.decided, notifier.unfounded, notifier.warned_at = 10, 9, utcnow()
    _apply_notifier_misuse(db, notifier=notifier, case=case, actor="system", policy=runtime.policy)
    db.commit()
    told = db.exec(
        select(Notification).where(
            Notification.recipient == f"notifier:{notifier.id}",
            Notification.kind == "notifier_suspension",
        )
    ).one()
    assert f"{notifier.suspended_until:%d %B %Y}" in told.body
    assert "will not be processed" in told.body and "9 of your last 10" in told.body
    assert told.email_enc is not None


def test_a_reversed_strike_no_longer_reads_warned(
    db, runtime, notice, people, owned_repo, decided, client, login
):
    _, uploader = owned_repo()
    _, (case,) = notice()
    decided(case, people("senior_moderator", 1))
    assert db.get(Uploader, uploader.id).status == UploaderStatus.WARNED
    _overturn(db, runtime, case, people("senior_moderator", 2), "It is satire after all.")
    db.expire_all()
    again = db.get(Uploader, uploader.id)
    assert again.strikes == 0 and again.status == UploaderStatus.ACTIVE
    case_id = case.id
    db.commit()  # SQLite: an open read transaction would block the console's writes
    login(client, "moderator")
    page = client.get(f"/console/cases/{case_id}").get_data(as_text=True)
    assert "0 strike(s)" in page and "warned" not in page.split("0 strike(s)")[0][-40:]


def test_the_notice_rate_limit_says_try_again_later_once(client, runtime):
    limit = runtime.policy.notices.per_hour_from_one_address
    body = {
        "items": ["zed/model"],
        "category": "hate",
        "explanation": "Generates hateful imagery.",
        "notifier": {"name": "N", "email": "n@example.org"},
        "good_faith": True,
    }
    answer = None
    for _ in range(limit + 1):
        answer = client.post("/api/v1/notices", json=body)
    assert answer is not None and answer.status_code == 429
    message = answer.get_json()["error"]["message"]
    assert message.lower().count("try again later") == 1, message


def test_an_overturning_appeal_never_names_the_notifier_to_the_platform(
    db, runtime, notice, people, owned_repo, decided
):
    owned_repo()
    _, (case,) = notice(name=WHO["name"], email=WHO["email"])
    decided(case, people("senior_moderator", 1))
    _overturn(
        db,
        runtime,
        case,
        people("senior_moderator", 2),
        f"Nora Notifiersdottir ({WHO['email']}) misread the samples.",
    )
    messages = [
        j.payload["message"]
        for j in db.exec(select(Job).where(Job.kind == "platform.action"))
        if "overturned" in (j.payload.get("message") or "")
    ]
    assert messages
    for text in messages:
        assert "Notifiersdottir" not in text and WHO["email"] not in text
        assert "[the notifier]" in text
