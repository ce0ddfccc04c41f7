"""Issue 16: a notifier's automatic suspension (Art. 23(2), too many manifestly unfounded
notices) is a decision like an uploader's: a statement of reasons, a message carrying it and an
appeal link, a Transparency-Database-style record, an end date, and an appeal a senior
moderator rules on (lifting it lets the notifier's notices through again)."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlmodel import select

from hostguard.cases.models import Notification, Notifier, NotifierStatus, Sanction
from hostguard.db.types import utcnow

UNFOUNDED = dict(
    action="no_action",
    ground="terms_of_service",
    ground_reference="Terms of service (no breach found)",
    explanation="We found neither illegal content nor a breach of our terms.",
    notices_unfounded=True,
)


def _suspend(db, notice, people, decided):
    """Five unfounded notices from one address: a warning, then the sixth suspends."""
    moderator = people("moderator")
    for n in range(6):
        _, (case,) = notice(
            items=(f"bob/model-{n}",), email="spam@example.org", client=f"203.0.113.{n}"
        )
        decided(case, moderator, **UNFOUNDED)
    notifier = db.exec(select(Notifier)).one()
    return notifier


def test_the_suspension_has_a_statement_a_record_an_end_date_and_an_appeal_link(
    db, runtime, notice, people, decided
):
    notifier = _suspend(db, notice, people, decided)
    assert notifier.status == NotifierStatus.SUSPENDED
    days = runtime.policy.misuse.notifier_suspension_days
    until = notifier.suspended_until
    assert until is not None and abs(until - (utcnow() + timedelta(days=days))) < timedelta(
        minutes=5
    )
    sanction = db.exec(
        select(Sanction).where(
            Sanction.subject == f"notifier:{notifier.id}", Sanction.action == "suspend"
        )
    ).one()
    assert sanction.statement is not None
    assert "Statement of reasons" in sanction.statement
    assert f"until {until:%d %B %Y}" in sanction.statement
    assert "Article 23(2)" in sanction.statement and "Article 20" in sanction.statement
    assert "out-of-court dispute settlement" in sanction.statement
    assert sanction.tdb["decision_account"] == "DECISION_ACCOUNT_SUSPENDED"
    assert sanction.tdb["end_date_account_restriction"] == until.date().isoformat()
    assert sanction.tdb["automated_decision"] == "AUTOMATED_DECISION_FULLY"
    assert "spam@example.org" not in str(sanction.tdb)  # no personal data in the record
    told = db.exec(select(Notification).where(Notification.kind == "notifier_suspension")).one()
    assert sanction.statement in told.body and told.email_enc is not None
    assert "/notices/suspension-appeal?token=" in told.body


def test_the_notifier_appeals_and_a_senior_moderator_lifts_the_suspension(
    db, runtime, notice, people, decided, client, login, csrf_token
):
    notifier = _suspend(db, notice, people, decided)
    told = db.exec(select(Notification).where(Notification.kind == "notifier_suspension")).one()
    link = re.search(r"(/notices/suspension-appeal\?token=\S+)", told.body).group(1)
    notifier_id = notifier.id
    db.commit()
    form = client.get(link)
    assert form.status_code == 200 and "Statement of reasons" in form.get_data(as_text=True)
    token = link.split("token=")[1]
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.get_data(as_text=True)).group(1)
    empty = client.post(
        "/notices/suspension-appeal", data={"csrf_token": csrf, "token": token, "reason": " "}
    )
    assert empty.status_code == 422 and "Say why the suspension is wrong" in empty.get_data(
        as_text=True
    )
    filed = client.post(
        "/notices/suspension-appeal",
        data={"csrf_token": csrf, "token": token, "reason": "Those models really were illegal."},
    )
    assert filed.status_code == 200 and "Appeal received" in filed.get_data(as_text=True)
    again = client.post(
        "/notices/suspension-appeal",
        data={"csrf_token": csrf, "token": token, "reason": "Once more."},
    )
    assert again.status_code == 422 and "already been appealed" in again.get_data(as_text=True)

    login(client, "senior_moderator")
    page = client.get("/console/appeals").get_data(as_text=True)
    assert "Those models really were illegal." in page
    appeal_id = re.search(r"/console/suspension-appeals/(\d+)/decision", page).group(1)
    answer = client.post(
        f"/console/suspension-appeals/{appeal_id}/decision",
        data={
            "csrf_token": csrf_token(client, "/console/appeals"),
            "outcome": "lift",
            "explanation": "Two of the notices were founded after all.",
        },
        follow_redirects=True,
    )
    assert f"Suspension appeal {appeal_id} decided" in answer.get_data(as_text=True)
    db.expire_all()
    lifted = db.get(Notifier, notifier_id)
    assert lifted.status == NotifierStatus.WARNED and lifted.suspended_until is None
    outcome = db.exec(
        select(Notification).where(Notification.kind == "suspension_appeal_outcome")
    ).one()
    assert "suspension lifted" in outcome.subject.lower() and "founded after all" in outcome.body
    db.commit()
    accepted = client.post(
        "/api/v1/notices",
        json={
            "items": ["bob/another"],
            "category": "hate",
            "explanation": "This model generates hate imagery against a group.",
            "notifier": {"name": "Nora Notifier", "email": "spam@example.org"},
            "good_faith": True,
        },
    )
    assert accepted.status_code == 201, accepted.get_json()
