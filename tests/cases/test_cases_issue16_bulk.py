"""Issue 16, bulk actions: assign, release, set priority and decide with a template on a
selection; each case gets its own statement, messages, audit record and Transparency Database
entry, and a case refused half way is left untouched while the others stay done."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlmodel import col, select

from hostguard.audit.models import AuditRecord
from hostguard.cases.models import Case, Decision, Notification, StatementOfReasons
from tests.cases.test_cases_browser import shot, sign_in


def _cases(notice, owned_repo, n: int, category="hate") -> list[int]:
    ids = []
    for i in range(n):
        owned_repo(repo_id=f"user{i}/model-{i}", platform_id=f"u-{i}", username=f"user{i}")
        _, (case,) = notice(
            items=(f"user{i}/model-{i}",), email=f"n{i}@example.org", category=category
        )
        ids.append(case.id)
    return ids


def _actions(db, case_id: int) -> list[str]:
    db.expire_all()
    return [
        r.action
        for r in db.exec(
            select(AuditRecord)
            .where(AuditRecord.subject == f"case:{case_id}")
            .order_by(col(AuditRecord.seq))
        )
    ]


def test_a_bulk_decision_gives_each_case_its_own_statement_and_leaves_the_refused_untouched(
    client, db, runtime, notice, owned_repo, api_headers, make_user, cli
):
    ids = _cases(notice, owned_repo, 4, category="terrorism")
    other = api_headers("moderator", user=make_user("moderator")[0])
    assert client.post(f"/api/v1/cases/{ids[2]}/claim", headers=other).status_code == 200
    me = api_headers("moderator")
    answer = client.post(
        "/api/v1/cases/bulk",
        json={"action": "decide", "template": "terrorism_take_down", "case_ids": ids},
        headers=me,
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["done"] == [ids[0], ids[1], ids[3]]
    assert [(r["case_id"], r["code"]) for r in body["refused"]] == [(ids[2], "claimed_by_other")]
    db.expire_all()
    for case_id in body["done"]:
        assert db.get(Case, case_id).status == "decided"
        (statement,) = db.exec(
            select(StatementOfReasons).where(StatementOfReasons.case_id == case_id)
        ).all()
        assert "Regulation (EU) 2021/784" in statement.text
        kinds = {
            n.kind for n in db.exec(select(Notification).where(Notification.case_id == case_id))
        }
        assert {"uploader_statement", "notifier_decision"} <= kinds
        assert "case.decide.take_down" in _actions(db, case_id)
    untouched = db.get(Case, ids[2])
    assert untouched.status == "open"
    assert db.exec(select(Decision).where(Decision.case_id == ids[2])).first() is None
    assert "case.decide.take_down" not in _actions(db, ids[2])
    db.commit()
    exported = cli("export", "statements")
    assert exported.exit_code == 0
    assert len([line for line in exported.output.splitlines() if line.startswith("{")]) == 3


def test_a_case_refused_after_its_claim_is_rolled_back_to_untouched(
    client, db, notice, owned_repo, api_headers
):
    """The CSAM template moves a case into a restricted category: the moderator's claim went
    through, the decision is refused, and the savepoint takes the claim back too."""
    (case_id,) = _cases(notice, owned_repo, 1)
    answer = client.post(
        "/api/v1/cases/bulk",
        json={"action": "decide", "template": "csam_report", "case_ids": [case_id]},
        headers=api_headers("moderator"),
    )
    assert answer.status_code == 200
    assert answer.get_json()["refused"][0]["code"] == "restricted_category"
    db.expire_all()
    case = db.get(Case, case_id)
    assert case.status == "open" and case.assigned_to is None
    assert "case.claim" not in _actions(db, case_id)


def test_bulk_assign_release_and_priority(client, db, notice, owned_repo, api_headers, make_user):
    ids = _cases(notice, owned_repo, 3)
    senior, _ = make_user("senior_moderator")
    worker, _ = make_user("moderator")
    headers = api_headers("moderator", user=senior)
    assigned = client.post(
        "/api/v1/cases/bulk",
        json={"action": "assign", "user_id": worker.id, "case_ids": ids, "reason": "rota"},
        headers=headers,
    ).get_json()
    assert assigned["done"] == ids
    db.expire_all()
    assert {db.get(Case, i).assigned_to for i in ids} == {worker.id}
    db.commit()  # SQLite: an open read transaction would block the API's writes
    priority = client.post(
        "/api/v1/cases/bulk",
        json={"action": "set_priority", "priority": 5000, "case_ids": ids[:2]},
        headers=headers,
    ).get_json()
    assert priority["done"] == ids[:2]
    released = client.post(
        "/api/v1/cases/bulk", json={"action": "release", "case_ids": ids}, headers=headers
    ).get_json()
    assert released["done"] == ids
    db.expire_all()
    assert [db.get(Case, i).priority for i in ids[:2]] == [5000, 5000]
    assert {db.get(Case, i).assigned_to for i in ids} == {None}
    assert _actions(db, ids[0])[-3:] == ["case.reassign", "case.priority", "case.release"]


def test_a_bulk_request_missing_what_it_needs_is_refused_whole(client, api_headers, notice):
    _, (case,) = notice()
    answer = client.post(
        "/api/v1/cases/bulk",
        json={"action": "assign", "case_ids": [case.id]},
        headers=api_headers("moderator"),
    )
    assert answer.status_code == 422
    assert "choose who gets the cases" in answer.get_json()["error"]["message"]


@pytest.mark.browser
def test_a_bulk_decision_with_a_template_in_the_browser(
    page, live_server, make_user, notice, owned_repo, db
):
    ids = _cases(notice, owned_repo, 3, category="terrorism")
    moderator, password = make_user("moderator")
    base = live_server.url
    sign_in(page, base, moderator, password)
    page.goto(f"{base}/console/cases")
    for case_id in ids[:2]:
        page.get_by_label(f"Select case {case_id}", exact=True).check()
    page.get_by_label("With the selected cases").select_option("decide")
    page.get_by_label("Template", exact=True).select_option("terrorism_take_down")
    shot(page, "bulk-selected")
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.locator("body")).to_contain_text(
        f"2 case(s) decided, each with its statement of reasons and messages: #{ids[0]}, #{ids[1]}."
    )
    shot(page, "bulk-done")
    db.expire_all()
    assert [db.get(Case, i).status for i in ids] == ["decided", "decided", "open"]
