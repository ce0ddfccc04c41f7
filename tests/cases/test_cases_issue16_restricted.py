"""Issue 16, defect 3: cases of a restricted category (child sexual abuse material by default)
are claimed and decided only by the roles the policy names, in the API, the console and a
real browser; a plain moderator is refused with a message saying who may take them."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from hostguard.cases.claims import claim_case
from hostguard.cases.decisions import DecisionInput
from hostguard.cases.models import Case
from hostguard.errors import PermissionDenied
from hostguard.workflows.decisions import decide
from tests.cases.test_cases_browser import shot, sign_in

CSAM = dict(
    items=("dark/child-model",),
    category="child_sexual_abuse",
    explanation="The sample images of this model depict the sexual abuse of children.",
)
REPORT = dict(
    action="report",
    ground="illegal_content",
    ground_reference="Directive 2011/93/EU, Article 5",
    category="child_sexual_abuse",
    explanation="The samples depict child sexual abuse material.",
)


def test_a_plain_moderator_cannot_claim_a_csam_case_in_the_api(client, api_headers, notice):
    _, (case,) = notice(**CSAM)
    answer = client.post(f"/api/v1/cases/{case.id}/claim", headers=api_headers("moderator"))
    assert answer.status_code == 403
    error = answer.get_json()["error"]
    assert error["code"] == "restricted_category"
    assert "only senior moderators, legal or admins may claim and decide it" in error["message"]
    assert "child sexual abuse material" in error["message"]


def test_a_senior_moderator_claims_and_decides_it(db, runtime, notice, people, decided):
    _, (case,) = notice(**CSAM)
    decision = decided(case, people("senior_moderator"), **REPORT)
    assert decision.action == "report"


def test_a_moderator_cannot_decide_a_case_into_a_restricted_category(db, runtime, notice, people):
    _, (case,) = notice()  # hate: any moderator
    moderator = people("moderator")
    claim_case(
        session=db, case_id=case.id, user=moderator, actor=moderator.actor, policy=runtime.policy
    )
    with pytest.raises(PermissionDenied) as refused:
        decide(
            policy=runtime.policy,
            session=db,
            runtime=runtime,
            case_id=case.id,
            user=moderator,
            actor=moderator.actor,
            data=DecisionInput(**REPORT),
        )
    assert refused.value.code == "restricted_category"
    assert "escalate the case instead" in refused.value.message


def test_a_moderator_cannot_be_handed_a_restricted_case(client, api_headers, notice, make_user):
    _, (case,) = notice(**CSAM)
    senior, _ = make_user("senior_moderator")
    moderator, _ = make_user("moderator")
    headers = api_headers("moderator", user=senior)
    assert client.post(f"/api/v1/cases/{case.id}/claim", headers=headers).status_code == 200
    answer = client.post(
        f"/api/v1/cases/{case.id}/reassign", json={"user_id": moderator.id}, headers=headers
    )
    assert answer.status_code == 422
    assert "restricted category" in answer.get_json()["error"]["message"]


def test_the_console_offers_no_claim_and_refuses_one(client, db, notice, login, csrf_token):
    _, (case,) = notice(**CSAM)
    _, (other,) = notice(items=("alice/hate-model",))
    case_id, other_id = case.id, other.id
    db.commit()
    login(client, "moderator")
    queue = client.get("/console/cases").get_data(as_text=True)
    row = queue.split(f"#{case_id}</a>")[1].split("</tr>")[0]
    assert "claim-row" not in row and "restricted" in row
    other_row = queue.split(f"#{other_id}</a>")[1].split("</tr>")[0]
    assert "claim-row" in other_row
    page = client.get(f"/console/cases/{case_id}").get_data(as_text=True)
    assert 'id="claim-form"' not in page and 'id="decision-form"' not in page
    assert 'id="restricted"' in page and "restricted category" in page
    token = csrf_token(client, f"/console/cases/{other_id}")
    answer = client.post(
        f"/console/cases/{case_id}/claim", data={"csrf_token": token}, follow_redirects=True
    )
    assert "only senior moderators, legal or admins may claim" in answer.get_data(as_text=True)
    db.expire_all()
    assert db.get(Case, case_id).assigned_to is None


@pytest.mark.browser
def test_a_restricted_case_is_refused_to_a_plain_moderator_in_the_browser(
    page, live_server, make_user, notice
):
    _, (case,) = notice(**CSAM)
    moderator, password = make_user("moderator")
    senior, senior_password = make_user("senior_moderator")
    base = live_server.url
    sign_in(page, base, moderator, password)
    page.goto(f"{base}/console/cases")
    row = page.locator("tr[data-case-row]", has_text=f"#{case.id}")
    expect(row).to_contain_text("restricted")
    expect(row.get_by_role("button")).to_have_count(0)
    row.get_by_role("link", name=f"#{case.id}").click()
    expect(page.locator("#restricted")).to_contain_text(
        "only senior moderators, legal or admins may claim and decide it"
    )
    expect(page.get_by_role("button", name="Claim (c)")).to_have_count(0)
    expect(page.locator("#decision-form")).to_have_count(0)
    shot(page, "restricted-refused")

    sign_in(page, base, senior, senior_password)
    page.goto(f"{base}/console/cases/{case.id}")
    page.get_by_role("button", name="Claim (c)").click()
    expect(page.locator("body")).to_contain_text("You hold this case now")
    expect(page.locator("#decision-form")).to_be_visible()
