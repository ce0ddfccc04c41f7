"""The case JSON API: exact shapes, errors people can act on, and the moderator flow."""

from __future__ import annotations

import pytest

from tests.cases.test_trusted_flaggers import flagger_headers

NOTICE = {
    "items": ["alice/face-model"],
    "category": "hate",
    "explanation": "Generates hateful imagery.",
    "notifier": {"name": "Nora", "email": "nora@example.org"},
    "good_faith": True,
}
DECISION = {
    "action": "take_down",
    "ground": "illegal_content",
    "ground_reference": "StGB § 130",
    "category": "hate",
    "explanation": "Incites hatred.",
}


def test_public_notice_then_decision_over_the_api(client, api_headers, make_user):
    created = client.post("/api/v1/notices", json=NOTICE)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert set(body) == {"notice_id", "case_ids"} and len(body["case_ids"]) == 1
    case_id = body["case_ids"][0]
    mod, _ = make_user("moderator")
    headers = api_headers("moderator", user=mod)
    listed = client.get("/api/v1/cases", headers=headers).get_json()
    assert (
        listed["items"][0]["id"] == case_id and listed["items"][0]["repo_id"] == "alice/face-model"
    )
    assert "next_cursor" in listed
    unclaimed = client.post(f"/api/v1/cases/{case_id}/decision", json=DECISION, headers=headers)
    assert unclaimed.status_code == 409 and unclaimed.get_json()["error"]["code"] == "not_claimed"
    assert (
        client.post(f"/api/v1/cases/{case_id}/claim", headers=headers).get_json()["assigned_to"]
        == mod.id
    )
    other = api_headers("moderator")
    held = client.post(f"/api/v1/cases/{case_id}/claim", headers=other)
    assert held.status_code == 409 and held.get_json()["error"]["code"] == "claimed_by_other"
    missing = client.post(
        f"/api/v1/cases/{case_id}/decision", json={**DECISION, "ground": None}, headers=headers
    )
    assert missing.status_code == 422 and missing.get_json()["error"]["code"] == "missing_ground"
    decided = client.post(f"/api/v1/cases/{case_id}/decision", json=DECISION, headers=headers)
    assert decided.status_code == 201, decided.get_json()
    out = decided.get_json()
    assert out["decision"]["action"] == "take_down" and out["case"]["status"] == "decided"
    assert out["statement_of_reasons"]["tdb"]["decision_visibility"] == [
        "DECISION_VISIBILITY_CONTENT_REMOVED"
    ]
    detail = client.get(f"/api/v1/cases/{case_id}", headers=headers).get_json()
    assert detail["notices"][0]["anonymous"] is False
    assert "nora@example.org" not in str(detail)  # notifier contact never leaves through the API


@pytest.mark.parametrize(
    "change,status,code",
    [
        ({"items": ["not a model id"]}, 422, "invalid_model_id"),
        ({"explanation": "x" * 6000}, 413, "too_large"),
        ({"items": [f"o/m{i}" for i in range(30)]}, 413, "too_large"),
        ({"category": "spam"}, 422, "invalid_category"),
        ({"good_faith": False}, 422, "missing_good_faith"),
        ({"notifier": None}, 422, "missing_contact"),
    ],
)
def test_bad_notices_get_clear_errors(client, change, status, code):
    response = client.post("/api/v1/notices", json={**NOTICE, **change})
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == code and error["message"]


def test_anonymous_csam_notice_and_trusted_flagger_lane(client, runtime, api_headers):
    anon = client.post(
        "/api/v1/notices", json={**NOTICE, "category": "child_sexual_abuse", "notifier": None}
    )
    assert anon.status_code == 201
    tf = client.post(
        "/api/v1/notices",
        json={**NOTICE, "items": ["x/y"], "notifier": None},
        headers=flagger_headers(runtime, areas=["hate"]),
    )
    assert tf.status_code == 201, tf.get_json()
    mod = api_headers("moderator")
    items = client.get("/api/v1/cases?source=trusted_flagger", headers=mod).get_json()["items"]
    assert [i["id"] for i in items] == tf.get_json()["case_ids"]


def test_order_api_with_deadline_and_feedback(client, api_headers, make_user):
    authority = api_headers("authority")
    order = client.post(
        "/api/v1/orders",
        headers=authority,
        json={
            "authority": "Arcom",
            "member_state": "FR",
            "reference": "ARC-1",
            "legal_basis": "Art. 9 DSA",
            "category": "terrorism",
            "items": ["t/model"],
            "territorial_scope": ["FR"],
            "deadline": "2030-01-01T10:00:00Z",
            "feedback_to": "orders@arcom.example",
        },
    )
    assert order.status_code == 201, order.get_json()
    body = order.get_json()
    assert body["order"]["deadline_at"].startswith("2030-01-01T10:00:00")
    mod, _ = make_user("moderator")
    headers = api_headers("moderator", user=mod)
    case_id = body["case_ids"][0]
    case = client.get(f"/api/v1/cases/{case_id}", headers=headers).get_json()
    assert (
        case["source"] == "order" and case["deadline_at"] < "2030-01-01"
    )  # the policy's 24 hours come first
    client.post(f"/api/v1/cases/{case_id}/claim", headers=headers)
    client.post(
        f"/api/v1/cases/{case_id}/decision",
        headers=headers,
        json={**DECISION, "category": "terrorism", "ground_reference": "Regulation (EU) 2021/784"},
    )
    fetched = client.get(f"/api/v1/orders/{body['order_id']}", headers=authority).get_json()
    assert fetched["status"] == "effect_given" and "Effect was given" in fetched["feedback"]
    assert (
        client.post("/api/v1/orders", json={}, headers=api_headers("trusted_flagger")).status_code
        == 403
    )


def test_appeal_over_the_api_overturns(client, api_headers, make_user):
    case_id = client.post("/api/v1/notices", json=NOTICE).get_json()["case_ids"][0]
    mod, _ = make_user("moderator")
    senior, _ = make_user("senior_moderator")
    mh, sh = api_headers("moderator", user=mod), api_headers("moderator", user=senior)
    client.post(f"/api/v1/cases/{case_id}/claim", headers=mh)
    client.post(f"/api/v1/cases/{case_id}/decision", json=DECISION, headers=mh)
    filed = client.post(
        f"/api/v1/cases/{case_id}/appeal",
        headers=api_headers("operator"),
        json={"appellant": "uploader", "reason": "It is a parody model."},
    )
    assert filed.status_code == 201, filed.get_json()
    appeal_id = filed.get_json()["id"]
    assert client.get("/api/v1/appeals", headers=sh).get_json()["items"][0]["id"] == appeal_id
    not_senior = client.post(
        f"/api/v1/appeals/{appeal_id}/decision",
        headers=mh,
        json={"outcome": "overturned", "explanation": "x"},
    )
    assert not_senior.status_code == 403
    done = client.post(
        f"/api/v1/appeals/{appeal_id}/decision",
        headers=sh,
        json={"outcome": "overturned", "explanation": "Parody is allowed."},
    )
    assert done.status_code == 200 and done.get_json()["outcome"] == "overturned"
    case = client.get(f"/api/v1/cases/{case_id}", headers=sh).get_json()
    assert case["decisions"][0]["reversed_by_appeal_id"] == appeal_id
    assert case["repo"]["status"] == "active"


def test_keyset_pagination_over_the_api(client, api_headers):
    for i in range(5):
        client.post(
            "/api/v1/notices",
            json={
                **NOTICE,
                "items": [f"page/m{i}"],
                "notifier": {"name": "N", "email": f"n{i}@example.org"},
            },
        )
    headers = api_headers("moderator")
    ids, cursor = [], None
    while True:
        url = "/api/v1/cases?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=headers).get_json()
        ids += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(ids, reverse=True) == ids and len(ids) == 5
    bad = client.get("/api/v1/cases?cursor=zzz", headers=headers)
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "invalid_cursor"
