"""Issue 16, claim leases: a claim lapses after the policy's period without activity, the queue
shows who holds what since when, and a senior moderator can take a case over, audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from hostguard.audit.models import AuditRecord
from hostguard.cases.models import Case
from hostguard.db.types import utcnow
from tests.cases.test_cases_browser import shot, sign_in


def _idle(runtime, case_id: int, minutes: int) -> None:
    with runtime.session() as s:
        case = s.get(Case, case_id)
        case.claimed_at = case.claim_active_at = utcnow() - timedelta(minutes=minutes)


def _audit(db, action: str) -> list[AuditRecord]:
    db.expire_all()
    return list(db.exec(select(AuditRecord).where(AuditRecord.action == action)))


def test_a_lapsed_claim_can_be_claimed_and_the_audit_names_whose_it_was(
    client, db, runtime, notice, api_headers, make_user
):
    _, (case,) = notice()
    first, _ = make_user("moderator")
    second = api_headers("moderator", user=make_user("moderator")[0])
    assert (
        client.post(
            f"/api/v1/cases/{case.id}/claim", headers=api_headers("moderator", user=first)
        ).status_code
        == 200
    )
    _idle(runtime, case.id, 20)
    held = client.post(f"/api/v1/cases/{case.id}/claim", headers=second)
    assert held.status_code == 409  # still within the hour
    _idle(runtime, case.id, 61)
    taken = client.post(f"/api/v1/cases/{case.id}/claim", headers=second)
    assert taken.status_code == 200, taken.get_data(as_text=True)
    assert taken.get_json()["assigned_to"] != first.id
    last = _audit(db, "case.claim")[-1]
    assert last.details == {"lapsed_claim_of": first.id}


def test_a_note_by_the_holder_keeps_the_claim(client, db, runtime, notice, api_headers, make_user):
    _, (case,) = notice()
    holder = api_headers("moderator", user=make_user("moderator")[0])
    client.post(f"/api/v1/cases/{case.id}/claim", headers=holder)
    _idle(runtime, case.id, 59)
    note = client.post(
        f"/api/v1/cases/{case.id}/notes", json={"body": "Checking the card."}, headers=holder
    )
    assert note.status_code == 201
    noted_at = utcnow()
    other = api_headers("moderator", user=make_user("moderator")[0])
    assert client.post(f"/api/v1/cases/{case.id}/claim", headers=other).status_code == 409
    detail = client.get(f"/api/v1/cases/{case.id}", headers=holder).get_json()
    assert detail["claim_active_at"] >= (noted_at - timedelta(minutes=1)).isoformat()[:16]


def test_a_senior_takes_over_an_active_claim_audited_and_a_moderator_cannot(
    client, db, notice, api_headers, make_user
):
    _, (case,) = notice()
    holder, _ = make_user("moderator")
    client.post(f"/api/v1/cases/{case.id}/claim", headers=api_headers("moderator", user=holder))
    plain = api_headers("moderator", user=make_user("moderator")[0])
    refused = client.post(f"/api/v1/cases/{case.id}/take-over", json={}, headers=plain)
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "not_senior"
    senior, _ = make_user("senior_moderator")
    taken = client.post(
        f"/api/v1/cases/{case.id}/take-over",
        json={"reason": "holder is off shift"},
        headers=api_headers("moderator", user=senior),
    )
    assert taken.status_code == 200
    assert taken.get_json()["assigned_to"] == senior.id
    (record,) = _audit(db, "case.take_over")
    assert record.details == {"from": holder.id, "lapsed": False}
    assert record.reason == "holder is off shift"


def test_the_queue_shows_who_holds_what_since_when(client, db, runtime, notice, make_user, login):
    _, (held,) = notice()
    _, (lapsed,) = notice(items=("bob/other-model",), email="other@example.org")
    holder, _ = make_user("moderator", email="holder@example.org")
    for case in (held, lapsed):
        case.assigned_to, case.claimed_at = holder.id, utcnow() - timedelta(minutes=10)
        case.claim_active_at = case.claimed_at
    lapsed.claim_active_at = lapsed.claimed_at = utcnow() - timedelta(hours=3)
    since = f"{held.claimed_at:%Y-%m-%d %H:%M}"
    held_id, lapsed_id = held.id, lapsed.id
    db.commit()
    login(client, "moderator")
    html = client.get("/console/cases").get_data(as_text=True)
    held_row = html.split(f"#{held_id}</a>")[1].split("</tr>")[0]
    assert "holder@example.org" in held_row and since in held_row
    assert "lapsed" not in held_row and "claim-row" not in held_row
    lapsed_row = html.split(f"#{lapsed_id}</a>")[1].split("</tr>")[0]
    assert "lapsed" in lapsed_row and "Take over" in lapsed_row


@pytest.mark.browser
def test_a_lapsed_claim_is_taken_over_in_the_browser(
    page, live_server, runtime, make_user, notice, db
):
    _, (case,) = notice(items=("pixel/idle-model",))
    holder, _ = make_user("moderator", email="away@example.org")
    case.assigned_to = holder.id
    case.claimed_at = case.claim_active_at = utcnow() - timedelta(hours=2)
    case_id = case.id
    db.commit()
    other, password = make_user("moderator")
    base = live_server.url
    sign_in(page, base, other, password)
    page.goto(f"{base}/console/cases")
    row = page.locator("tr[data-case-row]", has_text=f"#{case_id}")
    expect(row).to_contain_text("away@example.org")
    expect(row).to_contain_text("lapsed")
    shot(page, "lease-lapsed-queue")
    row.get_by_role("button", name="Take over").click()
    expect(page.locator("body")).to_contain_text("You hold this case now")
    expect(page.locator("#case-holder")).to_contain_text("held by you")
    expect(page.locator("#decision-form")).to_be_visible()
    shot(page, "lease-taken-over")
    db.expire_all()
    claim = db.exec(select(AuditRecord).where(AuditRecord.action == "case.claim")).all()[-1]
    assert claim.details == {"lapsed_claim_of": holder.id}
