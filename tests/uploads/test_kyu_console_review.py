"""KYU review in the console: "needs more information" keeps the submission and tells the uploader
what to add; legal redacts a submission with a reason, audited."""

from __future__ import annotations

from sqlmodel import select

from hostguard.audit.models import AuditRecord
from hostguard.platform.tokens import make_portal_token
from hostguard.uploads.kyu import reject_kyu
from hostguard.uploads.models import KyuStatus, KyuSubmission
from tests.conftest import extract_csrf


def audit(runtime, action: str) -> list[AuditRecord]:
    with runtime.session() as s:
        return list(s.exec(select(AuditRecord).where(AuditRecord.action == action)))


def test_needs_more_information_keeps_the_submission_and_tells_the_uploader(
    client, login, checker, submit_kyu, runtime
):
    checker()
    assert submit_kyu().get_json() == {"kyu_id": 1, "status": "pending_review"}
    login(client, "legal")
    page = client.get("/console/kyu/1").get_data(as_text=True)
    assert "Ask for more information" in page
    token = extract_csrf(page)

    empty = client.post("/console/kyu/1/needs-information", data={"csrf_token": token})
    assert empty.status_code == 422
    assert "tell the uploader what to add" in empty.get_data(as_text=True)

    asked = "The scan cuts off the expiry date: please send the whole page."
    done = client.post(
        "/console/kyu/1/needs-information", data={"csrf_token": token, "request": asked}
    )
    assert done.status_code == 302
    with runtime.session() as s:
        sub = s.get(KyuSubmission, 1)
        assert sub.status == KyuStatus.NEEDS_INFORMATION and sub.legal_name_enc is not None
    assert [r.reason for r in audit(runtime, "kyu.needs_information")] == [asked]

    status, answer = checker(visibility="public")
    assert "kyu_needs_information" in [r["code"] for r in answer["reasons"]]
    portal = client.get(f"/portal/kyu?token={make_portal_token(runtime, 'u-1', purpose='kyu')}")
    text = portal.get_data(as_text=True)
    assert "What to add: The scan cuts off the expiry date" in text and "<form" in text

    again = submit_kyu().get_json()
    assert again == {"kyu_id": 1, "status": "pending_review"}  # the same submission, completed
    with runtime.session() as s:
        assert len(s.exec(select(KyuSubmission)).all()) == 1


def test_legal_redacts_with_a_reason_and_it_is_audited(
    client, login, make_user, csrf_token, checker, submit_kyu, runtime
):
    checker()
    submit_kyu()
    with runtime.session() as s:
        reject_kyu(session=s, actor="user:1", kyu_id=1, reason="Document unreadable")

    login(client, "moderator")
    assert client.post("/console/kyu/1/redact", data={"reason": "x" * 10}).status_code in (400, 403)

    client.post("/console/logout", data={"csrf_token": csrf_token(client, "/console/")})
    login(client, "legal")
    token = csrf_token(client, "/console/kyu/1")
    missing = client.post("/console/kyu/1/redact", data={"csrf_token": token, "reason": " "})
    assert missing.status_code == 422
    assert "Give the reason for redacting" in missing.get_data(as_text=True)
    with runtime.session() as s:
        assert s.get(KyuSubmission, 1).status == KyuStatus.REJECTED

    reason = "Erasure request from the uploader, 2026-12-06"
    done = client.post("/console/kyu/1/redact", data={"csrf_token": token, "reason": reason})
    assert done.status_code == 302
    with runtime.session() as s:
        sub = s.get(KyuSubmission, 1)
        assert sub.status == KyuStatus.REDACTED
        assert sub.legal_name_enc is None and sub.document_ref is None
    assert [r.reason for r in audit(runtime, "kyu.redact")] == [reason]
