"""Issue 16: a notice keeps the exact location it names and only the operator's hosts; orders
name an EU member state and a future deadline; an overdue case rises in the queue at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from hostguard.cases.intake import NoticeInput, submit_notice
from hostguard.cases.models import Case, NoticeItem
from hostguard.cases.queue import CaseFilter, list_cases
from hostguard.db.types import utcnow
from hostguard.errors import InvalidInput

NOTICE = {
    "category": "hate",
    "explanation": "Generates hateful imagery of a named group.",
    "notifier": {"name": "Nora", "email": "nora@example.org"},
    "good_faith": True,
}
ORDER = {
    "authority": "Arcom",
    "member_state": "FR",
    "reference": "ARC-16",
    "legal_basis": "Art. 9 DSA",
    "category": "terrorism",
    "items": ["t/model"],
    "territorial_scope": ["FR"],
}


@pytest.fixture
def hub_hosts(runtime):
    runtime.settings.notice_hosts = "hub.example"
    return runtime


# Defect 4: a notice keeps its exact location and only the configured hosts


def test_notice_keeps_the_url_file_and_revision_it_names(client, db, hub_hosts):
    url = "https://hub.example/acme/model/blob/main/README.md"
    created = client.post("/api/v1/notices", json={**NOTICE, "items": [url, "bob/plain"]})
    assert created.status_code == 201, created.get_json()
    items = {
        i.repo_id: i
        for i in db.exec(
            select(NoticeItem).where(NoticeItem.notice_id == created.get_json()["notice_id"])
        )
    }
    assert set(items) == {"acme/model", "bob/plain"}
    located = items["acme/model"]
    assert (located.url, located.path, located.revision) == (url, "README.md", "main")
    plain = items["bob/plain"]
    assert (plain.url, plain.path, plain.revision) == (None, None, None)


def test_notice_about_a_url_on_another_host_is_refused_naming_the_hosts(client, db, hub_hosts):
    response = client.post(
        "/api/v1/notices", json={**NOTICE, "items": ["https://www.google.com/search/foo"]}
    )
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "unsupported_host"
    assert "www.google.com" in error["message"] and "hub.example" in error["message"]
    assert db.exec(select(Case)).all() == []


def test_notice_hosts_default_to_the_hub_and_the_configured_platform(runtime, db):
    assert "huggingface.co" in runtime.settings.notice_host_set
    runtime.settings.hf_endpoint = "https://hub.internal.example:8443"
    assert "hub.internal.example" in runtime.settings.notice_host_set
    data = NoticeInput(
        items=["https://elsewhere.example/acme/model"],
        category="hate",
        explanation="Generates hateful imagery of a named group.",
        notifier_name="Nora",
        notifier_email="nora@example.org",
        good_faith=True,
    )
    with pytest.raises(InvalidInput) as caught:
        submit_notice(session=db, runtime=runtime, actor="public", data=data, policy=runtime.policy)
    assert caught.value.code == "unsupported_host"


# Defect 6: orders name an EU member state and a deadline still to come


@pytest.mark.parametrize("member_state", ["US", "GR", "XX"])
def test_order_from_outside_the_eu_is_refused(client, api_headers, member_state):
    response = client.post(
        "/api/v1/orders",
        headers=api_headers("authority"),
        json={**ORDER, "member_state": member_state},
    )
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["code"] == "invalid_member_state"


def test_order_from_greece_uses_the_eu_code(client, api_headers):
    response = client.post(
        "/api/v1/orders", headers=api_headers("authority"), json={**ORDER, "member_state": "EL"}
    )
    assert response.status_code == 201, response.get_json()


def test_order_with_a_deadline_in_the_past_is_refused(client, api_headers):
    past = (utcnow() - timedelta(hours=1)).isoformat()
    response = client.post(
        "/api/v1/orders", headers=api_headers("authority"), json={**ORDER, "deadline": past}
    )
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["code"] == "invalid_deadline"


def test_overdue_case_rises_when_the_queue_is_read_without_the_job(client, db, runtime):
    created = client.post("/api/v1/notices", json={**NOTICE, "items": ["late/model"]})
    fresh = client.post("/api/v1/notices", json={**NOTICE, "items": ["fresh/model"]})
    late_id = created.get_json()["case_ids"][0]
    fresh_id = fresh.get_json()["case_ids"][0]
    late = db.get(Case, late_id)
    before = late.priority
    late.deadline_at = utcnow() - timedelta(minutes=1)  # the deadline has just passed
    db.commit()
    rows, _ = list_cases(db, CaseFilter(), policy=runtime.policy)
    db.commit()
    assert [c.id for c in rows][:2] == [late_id, fresh_id]
    assert db.get(Case, late_id).priority >= before + runtime.policy.priorities.overdue_points
