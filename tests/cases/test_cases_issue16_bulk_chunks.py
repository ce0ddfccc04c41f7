"""Issue 16, bulk decisions commit every `COMMIT_EVERY` cases (on PostgreSQL one long
transaction made each case dearer than the one before): each case is still whole or untouched,
and when an unexpected error stops the action half way the answer names which cases are done."""

from __future__ import annotations

from sqlmodel import select

import hostguard.workflows.bulk as bulk
from hostguard.cases.models import Case, Decision, StatementOfReasons
from tests.cases.test_cases_issue16_bulk import _actions, _cases


def test_an_error_after_a_commit_leaves_done_cases_done_and_names_the_others(
    client, db, notice, owned_repo, api_headers, monkeypatch
):
    ids = _cases(notice, owned_repo, 5, category="terrorism")
    real_decide = bulk.decide

    def decide_until_the_database_fails(**kw):
        if kw["case_id"] == ids[3]:
            raise ConnectionError("the database went away")
        return real_decide(**kw)

    monkeypatch.setattr(bulk, "COMMIT_EVERY", 2)
    monkeypatch.setattr(bulk, "decide", decide_until_the_database_fails)
    answer = client.post(
        "/api/v1/cases/bulk",
        json={"action": "decide", "template": "terrorism_take_down", "case_ids": ids},
        headers=api_headers("moderator"),
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["done"] == ids[:2]
    assert [(r["case_id"], r["code"]) for r in body["refused"]] == [
        (case_id, "interrupted") for case_id in ids[2:]
    ]
    db.expire_all()
    for case_id in ids[:2]:
        assert db.get(Case, case_id).status == "decided"
        assert db.exec(
            select(StatementOfReasons).where(StatementOfReasons.case_id == case_id)
        ).one()
        assert "case.decide.take_down" in _actions(db, case_id)
    # the third was decided in the chunk the error rolled back: untouched, claim included
    for case_id in ids[2:]:
        case = db.get(Case, case_id)
        assert case.status == "open" and case.assigned_to is None
        assert db.exec(select(Decision).where(Decision.case_id == case_id)).first() is None
        assert not {"case.claim", "case.decide.take_down"} & set(_actions(db, case_id))
