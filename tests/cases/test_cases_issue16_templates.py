"""Issue 16, decision templates: named per policy rule, picked with a key in the console's
decision form (the moderator edits the text before submitting) or by name in the API."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from hostguard.audit.models import AuditRecord
from hostguard.cases.models import Decision, StatementOfReasons
from tests.cases.test_cases_browser import shot, sign_in


def test_the_api_decides_with_a_template_and_what_is_given_wins(client, api_headers, notice, db):
    _, (case,) = notice(category="terrorism", explanation="This model generates propaganda.")
    headers = api_headers("moderator")
    assert client.post(f"/api/v1/cases/{case.id}/claim", headers=headers).status_code == 200
    answer = client.post(
        f"/api/v1/cases/{case.id}/decision",
        json={
            "template": "terrorism_take_down",
            "explanation": "The card links to a recruitment channel and the samples glorify attacks.",
        },
        headers=headers,
    )
    assert answer.status_code == 201, answer.get_data(as_text=True)
    decision = answer.get_json()["decision"]
    assert decision["action"] == "take_down" and decision["category"] == "terrorism"
    assert decision["ground_reference"].startswith("Regulation (EU) 2021/784")
    assert decision["explanation"].startswith("The card links to a recruitment channel")
    statement = answer.get_json()["statement_of_reasons"]
    assert "Regulation (EU) 2021/784" in statement["text"]
    db.expire_all()
    (record,) = db.exec(
        select(AuditRecord).where(AuditRecord.action == "case.decide.take_down")
    ).all()
    assert record.details["template"] == "terrorism_take_down"


def test_a_template_with_a_duration_sets_the_end_date(client, api_headers, notice, db):
    _, (case,) = notice()
    headers = api_headers("moderator")
    client.post(f"/api/v1/cases/{case.id}/claim", headers=headers)
    answer = client.post(
        f"/api/v1/cases/{case.id}/decision",
        json={"template": "undisclosed_synthetic_media"},
        headers=headers,
    )
    assert answer.status_code == 201, answer.get_data(as_text=True)
    db.expire_all()
    decision = db.exec(select(Decision)).one()
    assert decision.restrict_mode == "label" and decision.category == "hate"  # the case's own
    days = (decision.end_date - decision.decided_at).days
    assert days in (89, 90)


def test_an_unknown_template_is_named(client, api_headers, notice):
    _, (case,) = notice()
    headers = api_headers("moderator")
    client.post(f"/api/v1/cases/{case.id}/claim", headers=headers)
    answer = client.post(
        f"/api/v1/cases/{case.id}/decision", json={"template": "nope"}, headers=headers
    )
    assert answer.status_code == 422
    assert "unknown decision template 'nope'" in answer.get_json()["error"]["message"]


@pytest.mark.browser
def test_a_key_fills_the_form_and_the_moderator_edits_it(page, live_server, make_user, notice):
    _, (case,) = notice(
        items=("pixel/stolen-face",),
        category="non_consensual_intimate_imagery",
        explanation="The samples are intimate deepfakes of a real person, made without consent.",
    )
    moderator, password = make_user("moderator")
    base = live_server.url
    sign_in(page, base, moderator, password)
    page.goto(f"{base}/console/cases/{case.id}")
    page.get_by_role("button", name="Claim (c)").click()
    expect(page.locator("body")).to_contain_text("You hold this case now")
    page.locator("body").press("2")
    expect(page.get_by_label("Action", exact=True)).to_have_value("take_down")
    expect(page.get_by_label("Legal provision or terms clause")).to_have_value(
        "Directive (EU) 2024/1385, Article 5 (non-consensual sharing of intimate or manipulated material)"
    )
    explanation = page.get_by_label("Explanation (goes into")
    expect(explanation).to_be_focused()
    explanation.fill(
        "The model is built to produce intimate images of a real streamer without consent."
    )
    shot(page, "template-filled")
    page.get_by_role("button", name="Record decision").click()
    expect(page.locator("#case-status")).to_have_text("decided")
    expect(page.locator("details.statement pre")).to_contain_text(
        "intimate images of a real streamer", use_inner_text=True
    )


def test_the_console_form_lists_the_templates_with_their_keys(client, db, notice, login):
    _, (case,) = notice()
    case_id = case.id
    db.commit()
    login(client, "moderator")
    html = client.get(f"/console/cases/{case_id}").get_data(as_text=True)
    assert 'id="d-template"' in html
    assert 'data-key="2"' in html and "2 · Non-consensual intimate imagery - take down" in html


def test_a_console_decision_with_a_template_and_no_script_fills_the_blanks(
    client, db, notice, login, csrf_token
):
    _, (case,) = notice()
    case_id = case.id
    db.commit()
    login(client, "moderator")
    url = f"/console/cases/{case_id}"
    token = csrf_token(client, url)
    client.post(f"{url}/claim", data={"csrf_token": token})
    done = client.post(
        f"{url}/decision",
        data={
            "csrf_token": token,
            "template": "no_breach",
            "explanation": "The images are satire of a public figure, not hate speech.",
        },
        follow_redirects=True,
    )
    assert "Decision recorded" in done.get_data(as_text=True)
    db.expire_all()
    decision = db.exec(select(Decision)).one()
    assert decision.action == "no_action"
    assert decision.ground_reference == "Terms of service (no breach found)"
    assert decision.explanation.startswith("The images are satire")
    assert db.exec(select(StatementOfReasons)).first() is None  # no action: no statement
