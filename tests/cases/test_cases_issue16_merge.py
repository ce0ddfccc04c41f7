"""Issue 16: merging duplicate cases about one model in bulk: the surviving case keeps every
notice, each notifier is told of the decision, the duplicates close as merged (audited), and a
refused merge leaves every case untouched."""

from __future__ import annotations

from sqlmodel import select

from hostguard.audit.models import AuditRecord
from hostguard.cases.models import Case, CaseEvidence, Notice, NoticeItem, Notification

HATE = "This model generates hate imagery aimed at a protected group."


def _bulk(client, headers, **body):
    return client.post("/api/v1/cases/bulk", json={"action": "merge", **body}, headers=headers)


def test_new_notices_about_a_decided_model_merge_into_its_case_and_are_told_the_decision(
    db, client, api_headers, notice, owned_repo, people, decided
):
    owned_repo()
    senior = people("senior_moderator")
    _, (first,) = notice(explanation=HATE)
    decided(first, senior)  # taken down
    n2, (second,) = notice(explanation=HATE, email="second@example.org", client="198.51.100.2")
    n3, (third,) = notice(explanation=HATE, email="third@example.org", client="198.51.100.3")
    assert second.id == third.id != first.id  # one new open case for the decided model
    headers = api_headers("moderator", user=senior)
    answer = _bulk(client, headers, case_ids=[first.id, second.id], into=first.id, reason="dupes")
    assert answer.status_code == 200, answer.get_json()
    db.expire_all()
    merged = db.get(Case, second.id)
    assert (merged.status, merged.merged_into) == ("merged", first.id)
    items = db.exec(select(NoticeItem).where(NoticeItem.case_id == first.id)).all()
    assert {i.notice_id for i in items} == {n2.id - 1, n2.id, n3.id}
    assert db.exec(select(CaseEvidence).where(CaseEvidence.case_id == second.id)).all() == []
    for n in (n2, n3):
        told = db.exec(
            select(Notification).where(
                Notification.recipient == f"notice:{n.id}", Notification.kind == "notifier_decision"
            )
        ).one()
        assert "We acted against this model" in told.body
        assert db.get(Notice, n.id).status == "decided"
    actions = {
        (r.action, r.subject)
        for r in db.exec(
            select(AuditRecord).where(AuditRecord.action.in_(["case.merge", "case.merged"]))
        )
    }
    assert actions == {("case.merge", f"case:{first.id}"), ("case.merged", f"case:{second.id}")}
    db.commit()  # SQLite: the test's read transaction would hold the write lock
    detail = client.get(f"/api/v1/cases/{second.id}", headers=headers).get_json()
    assert detail["merged_into"] == first.id


def test_merged_into_an_open_case_every_notifier_gets_the_decision(
    db, client, api_headers, notice, owned_repo, people, decided
):
    owned_repo()
    n1, (case,) = notice(explanation=HATE)
    n2, _ = notice(explanation=HATE, email="b@example.org", client="198.51.100.7")
    # a duplicate case for the same model holding the second notice (as one opened in a race)
    stray = Case(repo_pk=case.repo_pk, category="hate", source="notice", queue="general")
    db.add(stray)
    db.flush()
    item = db.exec(select(NoticeItem).where(NoticeItem.notice_id == n2.id)).one()
    item.case_id = stray.id
    db.commit()
    moderator = people("moderator")
    headers = api_headers("moderator", user=moderator)
    answer = _bulk(client, headers, case_ids=[case.id, stray.id], into=case.id)
    assert answer.status_code == 200, answer.get_json()
    decided(db.get(Case, case.id), moderator)
    for n in (n1, n2):
        told = db.exec(
            select(Notification).where(
                Notification.recipient == f"notice:{n.id}", Notification.kind == "notifier_decision"
            )
        ).all()
        assert len(told) == 1


def test_a_refused_merge_leaves_every_case_untouched(
    db, client, api_headers, notice, owned_repo, people, decided, make_user
):
    owned_repo()
    senior = people("senior_moderator")
    _, (first,) = notice(explanation=HATE)
    decided(first, senior)
    _, (second,) = notice(explanation=HATE, email="x@example.org", client="198.51.100.4")
    _, (elsewhere,) = notice(items=("bob/other",), explanation=HATE, client="198.51.100.5")
    headers = api_headers("moderator", user=senior)
    answer = _bulk(client, headers, case_ids=[first.id, second.id, elsewhere.id], into=first.id)
    assert answer.status_code == 409
    error = answer.get_json()["error"]
    assert error["code"] == "not_mergeable"
    assert f"case {elsewhere.id} is about another model" in error["message"]
    db.expire_all()
    assert db.get(Case, second.id).status == "open"
    assert db.exec(select(NoticeItem).where(NoticeItem.case_id == second.id)).all()
    ids = [first.id, second.id]
    db.commit()
    missing = _bulk(client, headers, case_ids=ids)
    assert (
        missing.status_code == 422
        and "which of the selected cases to keep" in missing.get_json()["error"]["message"]
    )
