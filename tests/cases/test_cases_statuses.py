"""Case statuses: only the ones the workflow sets are offered and accepted; others get a clear error."""

from __future__ import annotations

from hostguard.cases.models import CaseStatus

from .test_cases_console import new_notice


def test_only_statuses_the_workflow_sets_exist():
    # merged: a duplicate merged into another case (bulk merge)
    assert [s.value for s in CaseStatus] == ["open", "escalated", "decided", "appealed", "merged"]


def test_an_unknown_status_is_a_clear_error_in_the_api_and_the_console(client, api_headers, login):
    new_notice(client)
    headers = api_headers("moderator")
    answer = client.get("/api/v1/cases?status=closed", headers=headers)
    assert answer.status_code == 422
    error = answer.get_json()["error"]
    assert error["code"] == "invalid_status"
    assert error["message"].lower() == (
        "unknown status 'closed'; use one of open, escalated, decided, appealed, merged, "
        "active (open, escalated or appealed) or all"
    )
    for status in ("open", "active", "all", "decided"):
        assert client.get(f"/api/v1/cases?status={status}", headers=headers).status_code == 200
    login(client, "moderator")
    queue = client.get("/console/cases").get_data(as_text=True)
    assert 'value="closed"' not in queue and 'value="decided"' in queue
    refused = client.get("/console/cases?status=closed").get_data(as_text=True)
    assert "unknown status &#39;closed&#39;" in refused.lower()
