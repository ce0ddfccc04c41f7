"""Console review of KYU submissions: legal only, personal data behind a reason, every view audited."""

from __future__ import annotations

from sqlmodel import select

from hostguard.audit.models import AuditRecord
from hostguard.uploads.models import KyuSubmission, PersonalDataAccess
from tests.uploads.conftest import KYU_FORM


def test_legal_reviews_with_audited_views(checker, submit_kyu, client, login, csrf_token, runtime):
    checker()
    submit_kyu()
    user = login(client, "legal")
    listing = client.get("/console/kyu").get_data(as_text=True)
    assert "u-1" in listing and KYU_FORM["legal_name"] not in listing
    page = client.get("/console/kyu/1").get_data(as_text=True)
    assert KYU_FORM["legal_name"] not in page and "Why do you need to see it?" in page
    token = csrf_token(client, "/console/kyu/1")
    response = client.post("/console/kyu/1/view", data={"reason": "", "csrf_token": token})
    assert response.status_code == 422 and KYU_FORM["legal_name"] not in response.get_data(
        as_text=True
    )
    response = client.post(
        "/console/kyu/1/view",
        data={"reason": "checking the name matches the ID", "csrf_token": token},
    )
    html = response.get_data(as_text=True)
    assert (
        response.status_code == 200
        and KYU_FORM["legal_name"] in html
        and "data:image/png;base64," in html
    )
    assert response.headers["Cache-Control"] == "no-store"
    with runtime.session() as s:
        log = s.exec(select(PersonalDataAccess)).all()
        assert {(a.actor, a.what) for a in log} == {
            (user.actor, "details"),
            (user.actor, "document"),
        }
        assert (
            s.exec(select(AuditRecord).where(AuditRecord.action == "personal_data.view"))
            .first()
            .reason
            == "checking the name matches the ID"
        )
    response = client.post("/console/kyu/1/reject", data={"reason": "", "csrf_token": token})
    assert response.status_code == 422
    response = client.post("/console/kyu/1/verify", data={"csrf_token": token})
    assert response.status_code == 302
    with runtime.session() as s:
        assert s.get(KyuSubmission, 1).status == "verified"


def test_other_roles_cannot_open_kyu_pages(checker, submit_kyu, client, login):
    checker()
    submit_kyu()
    login(client, "admin")
    assert client.get("/console/kyu").status_code == 403
    assert client.get("/console/kyu/1").status_code == 403


def test_pdf_documents_download_with_an_audited_reason(
    checker, submit_kyu, client, login, csrf_token, runtime
):
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    checker()
    submit_kyu(document=pdf)
    login(client, "legal")
    token = csrf_token(client, "/console/kyu/1")
    html = client.post(
        "/console/kyu/1/view", data={"reason": "checking the document", "csrf_token": token}
    ).get_data(as_text=True)
    assert "Download the ID document (application/pdf)" in html
    response = client.post(
        "/console/kyu/1/document", data={"reason": "checking the document", "csrf_token": token}
    )
    assert response.status_code == 200 and response.data == pdf
    assert "attachment" in response.headers["Content-Disposition"]
    assert (
        client.post("/console/kyu/1/document", data={"reason": "", "csrf_token": token}).status_code
        == 422
    )
    with runtime.session() as s:
        assert [a.what for a in s.exec(select(PersonalDataAccess)).all()] == ["details", "document"]
