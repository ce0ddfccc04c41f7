"""Issue 16: terms-of-service decisions are no Art. 23 strikes, substantiated notice
explanations, idempotent claims by the holder."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import func, select

from hostguard.audit.models import AuditRecord
from hostguard.cases.claims import claim_case
from hostguard.cases.intake import NoticeInput, open_case, submit_notice
from hostguard.cases.models import Sanction
from hostguard.cases.reports import transparency_from_db
from hostguard.db.types import utcnow
from hostguard.errors import InvalidInput
from hostguard.platform.models import Uploader, UploaderStatus
from tests.conftest import extract_csrf

TERMS = dict(
    ground="terms_of_service",
    ground_reference="Terms of service § 4.2 (no unlabelled synthetic faces)",
)


def _case(db, runtime, repo):
    case = open_case(
        policy=runtime.policy,
        session=db,
        repo=repo,
        source="own_initiative",
        category="hate",
        actor="system",
        kind="review",
    )
    db.commit()
    return case


def _suspension_figures(db):
    now = utcnow()
    report = transparency_from_db(db, since=now - timedelta(days=1), until=now + timedelta(days=1))
    return report["suspensions"]


# Defect 2: only decisions on manifestly illegal content are Art. 23 strikes


def test_terms_of_service_restrictions_are_no_illegal_content_strikes(
    db, runtime, people, owned_repo, decided
):
    m = people("moderator")
    for i in range(3):
        repo, uploader = owned_repo(repo_id=f"alice/tos-{i}")
        decided(_case(db, runtime, repo), m, action="restrict", **TERMS)
    uploader = db.get(Uploader, uploader.id)
    assert uploader.strikes == 0 and uploader.status == UploaderStatus.ACTIVE
    assert db.exec(select(Sanction)).all() == []
    assert _suspension_figures(db)["illegal_content"] == 0


def test_a_terms_of_service_suspension_is_not_counted_as_illegal_content(
    db, runtime, people, owned_repo, decided
):
    m = people("moderator")
    repo, uploader = owned_repo(repo_id="alice/tos-suspend")
    decided(_case(db, runtime, repo), m, action="suspend_uploader", **TERMS)
    uploader = db.get(Uploader, uploader.id)
    assert uploader.status == UploaderStatus.SUSPENDED and uploader.strikes == 0
    (sanction,) = db.exec(select(Sanction)).all()
    assert (sanction.action, sanction.reason) == ("suspend", "terms_of_service")
    assert _suspension_figures(db)["illegal_content"] == 0


def test_illegal_content_decisions_still_count_as_strikes(db, runtime, people, owned_repo, decided):
    m = people("moderator")
    repo, uploader = owned_repo(repo_id="alice/illegal")
    decided(_case(db, runtime, repo), m)
    repo2, _ = owned_repo(repo_id="alice/illegal-2")
    decided(_case(db, runtime, repo2), m, action="suspend_uploader")
    uploader = db.get(Uploader, uploader.id)
    assert uploader.strikes == 2 and uploader.status == UploaderStatus.SUSPENDED
    assert _suspension_figures(db)["illegal_content"] == 1


# Defect 7: a notice's explanation must be substantiated


def _submit(db, runtime, explanation: str):
    return submit_notice(
        policy=runtime.policy,
        session=db,
        runtime=runtime,
        actor="public",
        source="notice",
        data=NoticeInput(
            items=["alice/face-model"],
            category="hate",
            explanation=explanation,
            notifier_name="Nora Notifier",
            notifier_email="nora@example.org",
            good_faith=True,
        ),
        client="203.0.113.9",
    )


def test_a_one_character_explanation_is_refused(db, runtime):
    minimum = runtime.policy.notices.min_explanation_chars
    assert minimum >= 2
    with pytest.raises(InvalidInput) as exc:
        _submit(db, runtime, "x")
    assert exc.value.code == "explanation_too_short"
    assert str(minimum) in exc.value.message
    with pytest.raises(InvalidInput):
        _submit(db, runtime, "  " + "y" * (minimum - 1) + "  ")  # spaces do not count
    notice, cases = _submit(db, runtime, "y" * minimum)
    assert notice.id is not None and len(cases) == 1


def test_the_api_answers_422_for_a_one_character_explanation(client):
    answer = client.post(
        "/api/v1/notices",
        json={
            "items": ["alice/face-model"],
            "category": "hate",
            "explanation": "x",
            "notifier": {"name": "Nora", "email": "nora@example.org"},
            "good_faith": True,
        },
    )
    assert answer.status_code == 422
    error = answer.get_json()["error"]
    assert error["code"] == "explanation_too_short" and "at least" in error["message"]


def test_the_public_form_shows_a_short_explanation_at_its_field(client):
    form = client.get("/notices/").get_data(as_text=True)
    answer = client.post(
        "/notices/",
        data={
            "csrf_token": extract_csrf(form),
            "items": "alice/face-model",
            "category": "hate",
            "explanation": "x",
            "name": "Nora",
            "email": "nora@example.org",
            "good_faith": "yes",
        },
    )
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert re.search(
        r'<textarea[^>]*name="explanation"[^>]*aria-invalid="true"', html
    ) or re.search(r'<textarea[^>]*aria-invalid="true"[^>]*name="explanation"', html), (
        "the explanation field is not marked invalid"
    )
    assert "at least 20 characters" in html


# Defect 9: a claim by the holder is idempotent


def _claims(db, case_id: int) -> int:
    return db.exec(
        select(func.count())
        .select_from(AuditRecord)
        .where(AuditRecord.action == "case.claim", AuditRecord.subject == f"case:{case_id}")
    ).one()


def test_claiming_a_case_one_holds_again_writes_no_audit_record(runtime, db, notice, people):
    _, (case,) = notice()
    m = people("moderator")
    first = claim_case(session=db, case_id=case.id, user=m, actor=m.actor, policy=runtime.policy)
    claimed_at = first.claimed_at
    db.commit()
    for _ in range(9):
        again = claim_case(
            session=db, case_id=case.id, user=m, actor=m.actor, policy=runtime.policy
        )
        assert again.assigned_to == m.id and again.claimed_at == claimed_at
    db.commit()
    assert _claims(db, case.id) == 1


def test_repeated_api_claims_answer_the_same_and_are_audited_once(
    client, db, api_headers, make_user, notice
):
    _, (case,) = notice()
    mod, _ = make_user("moderator")
    headers = api_headers("moderator", user=mod)
    answers = [client.post(f"/api/v1/cases/{case.id}/claim", headers=headers) for _ in range(10)]
    assert {a.status_code for a in answers} == {200}
    assert all(a.get_json() == answers[0].get_json() for a in answers)
    db.expire_all()
    assert _claims(db, case.id) == 1
