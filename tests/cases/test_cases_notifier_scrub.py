"""The notifier's name and e-mail never reach the uploader; the moderator is warned before deciding."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlmodel import col, select

from hostguard.audit.models import AuditRecord
from hostguard.cases.models import Decision, Notification, StatementOfReasons
from hostguard.jobs.models import Job

WHO = {"name": "Nora Notifiersdottir", "email": "nora.n@mail.example"}
NAMING = (
    f"As nora notifiersdottir ({WHO['email'].upper()}) showed, the samples incite hatred; "
    "Ms Notifiersdottir attached three examples. Noranotifiersdottir is someone else."
)


def _uploader_texts(db, case_id: int) -> list[str]:
    sor = db.exec(select(StatementOfReasons).where(StatementOfReasons.case_id == case_id)).one()
    to_uploader = db.exec(
        select(Notification).where(
            Notification.case_id == case_id, Notification.kind == "uploader_statement"
        )
    ).one()
    actions = db.exec(select(Job).where(Job.kind == "platform.action")).all()
    assert actions
    return [sor.text, to_uploader.body, *(j.payload["message"] for j in actions)]


def test_the_uploader_never_reads_the_notifiers_name_or_address(
    db, notice, people, decided, owned_repo
):
    owned_repo(repo_id="zed/model", platform_id="u-zed", username="zed")
    _, (case,) = notice(items=["zed/model"], name=WHO["name"], email=WHO["email"])
    d = decided(case, people("moderator"), explanation=NAMING)
    for text in _uploader_texts(db, case.id):
        lowered = text.lower()
        assert "nora notifiersdottir" not in lowered and "nora.n@mail.example" not in lowered
        assert "Ms Notifiersdottir" not in text
        assert (
            "As [the notifier] ([the notifier]) showed, the samples incite hatred; "
            "Ms [the notifier] attached three examples. Noranotifiersdottir is someone else."
        ) in text
    # staff keep the full text: the case record and the audit trail
    assert db.get(Decision, d.id).explanation == NAMING
    audit = db.exec(
        select(AuditRecord).where(col(AuditRecord.action) == "case.decide.take_down")
    ).one()
    assert audit.reason == NAMING


def test_an_explanation_without_the_notifier_is_sent_as_written(db, notice, people, decided):
    _, (case,) = notice(items=["zed/model"], name=WHO["name"], email=WHO["email"])
    decided(
        case,
        people("moderator"),
        explanation="Noras and Notifiersdottirs are not named here: it incites hatred.",
    )
    sor = db.exec(select(StatementOfReasons).where(StatementOfReasons.case_id == case.id)).one()
    assert "Noras and Notifiersdottirs are not named here: it incites hatred." in sor.text


def _api_notice(client) -> int:
    answer = client.post(
        "/api/v1/notices",
        json={
            "items": ["zed/model"],
            "category": "hate",
            "explanation": "Generates hateful imagery.",
            "notifier": WHO,
            "good_faith": True,
        },
    )
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["case_ids"][0]


DECISION = {
    "action": "take_down",
    "ground": "illegal_content",
    "ground_reference": "StGB § 130",
    "category": "hate",
}


def test_the_api_accepts_and_reports_the_scrubbing(client, api_headers, make_user):
    case_id = _api_notice(client)
    mod, _ = make_user("moderator")
    headers = api_headers("moderator", user=mod)
    assert client.post(f"/api/v1/cases/{case_id}/claim", headers=headers).status_code == 200
    answer = client.post(
        f"/api/v1/cases/{case_id}/decision",
        json={**DECISION, "explanation": NAMING},
        headers=headers,
    )
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    (warning,) = body["warnings"]
    assert warning["code"] == "notifier_named"
    assert "[the notifier]" in warning["message"] and "uploader" in warning["message"]
    assert body["decision"]["explanation"] == NAMING  # staff read the full text
    assert "Notifiersdottir" not in body["statement_of_reasons"]["text"]


def test_the_api_answers_no_warnings_for_a_clean_explanation(client, api_headers, make_user):
    case_id = _api_notice(client)
    mod, _ = make_user("moderator")
    headers = api_headers("moderator", user=mod)
    client.post(f"/api/v1/cases/{case_id}/claim", headers=headers)
    answer = client.post(
        f"/api/v1/cases/{case_id}/decision",
        json={**DECISION, "explanation": "The samples incite hatred."},
        headers=headers,
    )
    assert answer.status_code == 201 and answer.get_json()["warnings"] == []


def test_the_console_warns_and_asks_for_confirmation(client, login, csrf_token, db):
    case_id = _api_notice(client)
    login(client, "moderator")
    token = csrf_token(client, f"/console/cases/{case_id}")
    client.post(f"/console/cases/{case_id}/claim", data={"csrf_token": token})
    form = {"csrf_token": token, **DECISION, "explanation": NAMING}
    # a second problem is shown together with the warning
    first = client.post(f"/console/cases/{case_id}/decision", data={**form, "ground": ""})
    page = first.get_data(as_text=True)
    assert first.status_code == 422
    assert "Choose a ground" in page and "names the notifier" in page
    assert 'name="notifier_named_ok"' in page and "[the notifier]" in page
    db.expire_all()
    assert db.exec(select(Decision)).first() is None
    db.commit()
    warned = client.post(f"/console/cases/{case_id}/decision", data=form)
    assert warned.status_code == 422 and "names the notifier" in warned.get_data(as_text=True)
    db.expire_all()
    assert db.exec(select(Decision)).first() is None
    db.commit()
    done = client.post(
        f"/console/cases/{case_id}/decision",
        data={**form, "notifier_named_ok": "yes"},
        follow_redirects=True,
    )
    assert "Decision recorded" in done.get_data(as_text=True)
    db.expire_all()
    sor = db.exec(select(StatementOfReasons)).one()
    assert "Notifiersdottir" not in sor.text
    db.commit()


def test_the_console_does_not_warn_for_a_clean_explanation(client, login, csrf_token, db):
    case_id = _api_notice(client)
    login(client, "moderator")
    token = csrf_token(client, f"/console/cases/{case_id}")
    client.post(f"/console/cases/{case_id}/claim", data={"csrf_token": token})
    done = client.post(
        f"/console/cases/{case_id}/decision",
        data={"csrf_token": token, **DECISION, "explanation": "Incites hatred."},
        follow_redirects=True,
    )
    assert "Decision recorded" in done.get_data(as_text=True)


@pytest.mark.browser
def test_the_console_warning_in_a_browser(page, live_server, make_user, notice):
    from .test_cases_browser import sign_in

    base = live_server.url
    _, (case,) = notice(items=["zed/model"], name=WHO["name"], email=WHO["email"])
    moderator, password = make_user("moderator")
    sign_in(page, base, moderator, password)
    page.goto(f"{base}/console/cases/{case.id}")
    page.get_by_role("button", name="Claim (c)").click()
    page.get_by_label("Action", exact=True).select_option("take_down")
    page.get_by_label("Ground", exact=True).select_option("illegal_content")
    page.get_by_label("Legal provision or terms clause").fill("StGB § 130")
    page.get_by_label("Explanation (goes into").fill(NAMING)
    page.get_by_role("button", name="Record decision").click()
    expect(page.locator("#form-error")).to_contain_text("names the notifier")
    expect(page.get_by_label("Explanation (goes into")).to_have_value(NAMING)
    page.get_by_label("Send it anyway").check()
    page.get_by_role("button", name="Record decision").click()
    expect(page.locator("body")).to_contain_text("Decision recorded")
    statement = page.locator("details.statement pre")
    expect(statement).to_contain_text("As [the notifier] ([the notifier])", use_inner_text=True)
    expect(statement).not_to_contain_text("Notifiersdottir", use_inner_text=True)
