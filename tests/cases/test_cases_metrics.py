"""Moderators' decisions are counted in /metrics by outcome, once committed and never when rolled back."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

import hostguard.cases.decisions as decisions

from .conftest import TAKE_DOWN

NOTICE = {
    "items": ["alice/face-model"],
    "category": "hate",
    "explanation": "Generates hateful imagery.",
    "notifier": {"name": "Nora", "email": "nora@example.org"},
    "good_faith": True,
}


def moderation(outcome: str) -> float:
    return (
        REGISTRY.get_sample_value(
            "hostguard_decisions_total", {"check": "moderation", "outcome": outcome}
        )
        or 0.0
    )


def test_decisions_over_the_api_are_counted_by_outcome(app, client, api_headers, make_user):
    mod, _ = make_user("moderator")
    headers = api_headers("moderator", user=mod)
    before = {o: moderation(o) for o in ("take_down", "no_action")}
    for outcome, repo in (("take_down", "alice/face-model"), ("no_action", "bob/other-model")):
        case_id = client.post("/api/v1/notices", json={**NOTICE, "items": [repo]}).get_json()[
            "case_ids"
        ][0]
        assert client.post(f"/api/v1/cases/{case_id}/claim", headers=headers).status_code == 200
        decided = client.post(
            f"/api/v1/cases/{case_id}/decision",
            headers=headers,
            json={**TAKE_DOWN, "action": outcome},
        )
        assert decided.status_code == 201, decided.get_json()
    assert {o: moderation(o) - before[o] for o in before} == {"take_down": 1, "no_action": 1}
    text = client.get("/metrics").get_data(as_text=True)
    assert 'hostguard_decisions_total{check="moderation",outcome="take_down"}' in text
    assert 'hostguard_decisions_total{check="moderation",outcome="no_action"}' in text


def test_a_decision_rolled_back_is_not_counted(app, client, api_headers, make_user, monkeypatch):
    mod, _ = make_user("moderator")
    headers = api_headers("moderator", user=mod)
    case_id = client.post("/api/v1/notices", json=NOTICE).get_json()["case_ids"][0]
    client.post(f"/api/v1/cases/{case_id}/claim", headers=headers)
    before = moderation("take_down")

    def fail(*_args, **_kwargs):  # after the decision row has been flushed
        raise RuntimeError("late failure")

    monkeypatch.setattr(decisions, "_update_orders_after_decision", fail)
    app.config.update(PROPAGATE_EXCEPTIONS=False)
    assert (
        client.post(
            f"/api/v1/cases/{case_id}/decision", json=TAKE_DOWN, headers=headers
        ).status_code
        == 500
    )
    assert moderation("take_down") == before
    monkeypatch.undo()
    assert (
        client.post(
            f"/api/v1/cases/{case_id}/decision", json=TAKE_DOWN, headers=headers
        ).status_code
        == 201
    )
    assert moderation("take_down") == before + 1


def test_decisions_made_outside_the_web_are_counted_once_committed(
    runtime, decided, notice, people
):
    from hostguard.instruments import count_moderation_decisions

    count_moderation_decisions()  # what a CLI or worker process calls; idempotent
    _, (case,) = notice()
    before = moderation("restrict")
    decided(case, people("moderator"), action="restrict", restrict_mode="label")
    assert moderation("restrict") == pytest.approx(before + 1)
