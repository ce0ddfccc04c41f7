"""Hotline reports of child sexual abuse material: the package a CyberTipline / INHOPE report
needs, the filing recorded on the case, the year of preservation, its extension, the signed
preservation webhook the platform receives, and the uploader's identity for the legal role only,
every view logged.

The "material" is a benign generated image whose PDQ hash is put on a list of the
child_sexual_abuse category, so an upload check with it matches as known material would.
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from sqlmodel import select
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

import hostguard.registry  # noqa: F401  (registers the webhook delivery job, as the worker does)
from hostguard.audit.models import AuditRecord
from hostguard.cases.models import Case, CaseEvidence
from hostguard.db.types import utcnow
from hostguard.jobs.service import run_due
from hostguard.platform.service import get_or_create_uploader
from hostguard.platform.webhooks import verify_signature
from hostguard.uploads import kyu as kyu_service
from hostguard.uploads.models import PersonalDataAccess
from hostguard.workflows.evidence import extend_preservation, file_hotline_report
from hostguard.workflows.retention import sweep_records
from tests.hashing.images import encode, make_image
from tests.hashing.test_scanning import import_pdq, listed
from tests.uploads.conftest import KYU_FORM, check_body, png
from tests.web.test_pages_a11y import assert_accessible

SECRET = "preservation-secret"
UPLOADER_IP = "203.0.113.77"


class Receiver:
    """The platform's webhook endpoint on 127.0.0.1, keeping what it received."""

    def __init__(self):
        self.received: list[dict] = []

        @Request.application
        def app(request):
            self.received.append({"headers": dict(request.headers), "body": request.get_data()})
            return Response("ok")

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hostguard"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver(runtime):
    r = Receiver()
    runtime.settings.webhook_url, runtime.settings.webhook_secret = r.url, SECRET
    yield r
    r.server.shutdown()


def _matched_case(client, runtime, api_headers, *, ip: str | None = UPLOADER_IP) -> int:
    """A verified uploader's upload check whose sample image is on a child_sexual_abuse list."""
    image = make_image(41, (400, 300))
    import_pdq(runtime, "csam-demo-list", [listed(image)], category="child_sexual_abuse")
    with runtime.session() as s:
        uploader = get_or_create_uploader(s, platform_id="u-hot", username="hot", keys=runtime.keys)
        s.flush()
        sub = kyu_service.submit_kyu(
            session=s,
            runtime=runtime,
            actor="uploader:u-hot",
            uploader=uploader,
            policy=runtime.policy,
            document=png(),
            **KYU_FORM,
        )
        s.flush()
        kyu_service.verify_kyu(session=s, actor="user:1", kyu_id=sub.id, policy=runtime.policy)
    body = check_body(
        uploader="u-hot",
        repo="hot/model",
        images=[("samples/cat.png", encode(image, "PNG"))],
    )
    if ip:
        body["uploader"]["ip"] = ip
    answer = client.post("/api/v1/uploads/check", json=body, headers=api_headers("operator"))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["matches"], answer.get_json()
    with runtime.session() as s:
        case = s.exec(select(Case).where(Case.category == "child_sexual_abuse")).one()
        return case.id


def _deliveries(receiver) -> list[dict]:
    """The signed case.preservation deliveries' data (the signature checked as a receiver does)."""
    out = []
    for r in receiver.received:
        h = r["headers"]
        assert verify_signature(
            SECRET,
            timestamp=h["X-Hostguard-Timestamp"],
            body=r["body"],
            signature=h["X-Hostguard-Signature"],
        )
        body = json.loads(r["body"])
        if body["event"] == "case.preservation":
            out.append(body["data"])
    return out


def test_hotline_report_for_a_matched_case(client, runtime, api_headers, make_user, receiver):
    case_id = _matched_case(client, runtime, api_headers)
    legal, _ = make_user("legal")
    legal_key = api_headers("moderator", legal)

    # a plain moderator is refused the package and the filing
    moderator = api_headers("moderator")
    refused = client.get(f"/api/v1/cases/{case_id}/report-package", headers=moderator)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "role_not_allowed"
    assert (
        client.post(
            f"/api/v1/cases/{case_id}/hotline-reports",
            json={"hotline": "NCMEC CyberTipline", "reference": "1"},
            headers=moderator,
        ).status_code
        == 403
    )

    # legal reads the package: what was found, where, when, by whom
    package = client.get(f"/api/v1/cases/{case_id}/report-package", headers=legal_key)
    assert package.status_code == 200, package.get_data(as_text=True)
    p = package.get_json()
    assert p["incident"]["type"] == "Child Pornography (possession, manufacture, and distribution)"
    assert set(p["incident"]["classifications"]) == {"A1", "A2", "B1", "B2"}
    (file,) = p["files"]
    assert file["path"] == "samples/cat.png" and file["lists"] == ["csam-demo-list"]
    assert file["size"] > 0 and len(file["sha256"]) == 64 and len(file["md5"]) == 32
    assert file["repo_id"] == "hot/model" and file["revision"] == "r" * 40
    assert file["uploaded_at"] and file["industry_classification"] is None
    identity = p["identity"]
    assert identity["details"]["legal_name"] == KYU_FORM["legal_name"]
    assert identity["kyu_status"] == "verified" and identity["email"] == "u-hot@example.org"
    assert [a["ip_address"] for a in identity["ip_addresses"]] == [UPLOADER_IP]
    assert "content_base64" not in package.get_data(as_text=True)

    # an admin exports it too, without the identity
    admin, _ = make_user("admin")
    as_admin = client.get(
        f"/api/v1/cases/{case_id}/report-package", headers=api_headers("moderator", admin)
    ).get_json()
    assert "withheld" in as_admin["identity"] and as_admin["identity"]["ip_address_supplied"]
    assert KYU_FORM["legal_name"] not in json.dumps(as_admin) and UPLOADER_IP not in json.dumps(
        as_admin
    )

    # legal records the filing, with the file graded
    filed = client.post(
        f"/api/v1/cases/{case_id}/hotline-reports",
        json={
            "hotline": "NCMEC CyberTipline",
            "reference": "CT-123456789",
            "media": [{"path": "samples/cat.png", "classification": "A1"}],
        },
        headers=legal_key,
    )
    assert filed.status_code == 201, filed.get_data(as_text=True)
    report = filed.get_json()
    assert report["filed_by"] == f"user:{legal.id}"
    assert report["media"] == [{"path": "samples/cat.png", "classification": "A1"}]
    with runtime.session() as s:
        case = s.get(Case, case_id)
        filed_at = utcnow()
        year = case.legal_hold_until - filed_at
        assert timedelta(days=364) < year <= timedelta(days=365)
    listing = client.get(f"/api/v1/cases/{case_id}/hotline-reports", headers=legal_key).get_json()
    assert [r["reference"] for r in listing["items"]] == ["CT-123456789"]
    again = client.get(f"/api/v1/cases/{case_id}/report-package", headers=legal_key).get_json()
    assert again["files"][0]["industry_classification"] == "A1"
    assert again["hotline_reports"][0]["hotline"] == "NCMEC CyberTipline"

    # legal extends the preservation, with a reason
    until = (utcnow() + timedelta(days=800)).date().isoformat()
    extended = client.post(
        f"/api/v1/cases/{case_id}/preservation",
        json={"until": f"{until}T00:00:00Z", "reason": "Law-enforcement request LE-42 to keep it"},
        headers=legal_key,
    )
    assert extended.status_code == 200, extended.get_data(as_text=True)
    assert extended.get_json()["preserve_until"].startswith(until)

    # the platform received both signed preservation webhooks
    run_due(runtime.engine, runtime=runtime)
    deliveries = _deliveries(receiver)
    assert [d["reason"] for d in deliveries] == ["hotline_report", "extended"]
    first = deliveries[0]
    assert first["repo_id"] == "hot/model" and first["files"] == ["samples/cat.png"]
    assert first["revisions"] == ["r" * 40] and first["uploader_platform_id"] == "u-hot"
    assert deliveries[1]["preserve_until"].startswith(until)
    assert UPLOADER_IP not in json.dumps(deliveries)

    with runtime.session() as s:
        # every view of the uploader's identity is in the personal-data access log
        views = s.exec(select(PersonalDataAccess).order_by(PersonalDataAccess.id)).all()
        assert len(views) == 2  # the two packages legal read; the admin's decrypted nothing
        assert all(v.what == "details" and f"case {case_id}" in v.reason for v in views)
        audit = s.exec(select(AuditRecord).order_by(AuditRecord.id)).all()
        ip_views = [
            r for r in audit if r.action == "personal_data.view" and r.subject == f"case:{case_id}"
        ]
        assert len(ip_views) == 2 and all("ip_address" in r.details["what"] for r in ip_views)
        (ext,) = [r for r in audit if r.action == "case.preservation_extend"]
        assert ext.reason == "Law-enforcement request LE-42 to keep it"
        assert [r.action for r in audit if r.action == "case.hotline_report"] == [
            "case.hotline_report"
        ]


def test_filing_and_extension_errors_name_every_field(client, runtime, api_headers, make_user):
    case_id = _matched_case(client, runtime, api_headers, ip=None)
    legal, _ = make_user("legal")
    headers = api_headers("moderator", legal)
    bad = client.post(
        f"/api/v1/cases/{case_id}/hotline-reports",
        json={
            "hotline": " ",
            "reference": "",
            "media": [{"path": "samples/other.png", "classification": "C3"}],
        },
        headers=headers,
    )
    assert bad.status_code == 422
    fields = {f["field"] for f in bad.get_json()["error"]["details"]["fields"]}
    assert fields == {"hotline", "reference", "media"}
    ok = client.post(
        f"/api/v1/cases/{case_id}/hotline-reports",
        json={"hotline": "INHOPE: Internet Watch Foundation", "reference": "IWF-9"},
        headers=headers,
    )
    assert ok.status_code == 201
    duplicate = client.post(
        f"/api/v1/cases/{case_id}/hotline-reports",
        json={"hotline": "INHOPE: Internet Watch Foundation", "reference": "IWF-9"},
        headers=headers,
    )
    assert duplicate.status_code == 409
    earlier = client.post(
        f"/api/v1/cases/{case_id}/preservation",
        json={"until": "2020-01-01T00:00:00Z", "reason": "short"},
        headers=headers,
    )
    assert earlier.status_code == 422
    fields = {f["field"] for f in earlier.get_json()["error"]["details"]["fields"]}
    assert fields == {"until", "reason"}


def test_retention_keeps_what_a_hotline_report_preserves(client, runtime, api_headers):
    """The upload check behind the report outlives the category's legal hold while preserved,
    and as long as legal extends the preservation."""
    case_id = _matched_case(client, runtime, api_headers, ip=None)
    with runtime.session() as s:  # as if the case had opened 200 days ago
        s.get(Case, case_id).legal_hold_until = utcnow() + timedelta(days=165)
    with runtime.session() as s:
        file_hotline_report(
            session=s,
            runtime=runtime,
            actor="user:legal",
            case_id=case_id,
            hotline_name="NCMEC CyberTipline",
            reference="CT-1",
            policy=runtime.policy,
        )

    shipped = runtime.policy  # upload checks kept 30 days, so a month on only a hold keeps them
    policy = shipped.model_copy(
        update={"retention": shipped.retention.model_copy(update={"upload_checks_days": 30})}
    )

    def sweep(days: int) -> dict:
        with runtime.session() as s:
            return sweep_records(
                session=s,
                policy=policy,
                documents_dir=runtime.settings.documents_dir,
                now=utcnow() + timedelta(days=days),
            )

    kept = sweep(250)  # past the category's legal hold, inside the report's year
    assert kept["upload_checks"] == 0 and kept["upload_checks_kept_for_legal_hold"] == 1
    with runtime.session() as s:
        extend_preservation(
            session=s,
            runtime=runtime,
            actor="user:legal",
            case_id=case_id,
            until=utcnow() + timedelta(days=800),
            reason="Investigators asked to keep it (LE-7)",
        )
    assert sweep(400)["upload_checks"] == 0  # past the year, inside the extension
    assert sweep(900)["upload_checks"] == 1


def test_uploader_ip_is_kept_only_with_a_case_that_needs_it(client, runtime, api_headers):
    """The optional uploader.ip of the check body: encrypted on child sexual abuse cases only."""
    image = make_image(43, (400, 300))
    import_pdq(runtime, "hate-list", [listed(image)], category="hate")
    operator = api_headers("operator")
    for repo, images in (("plain/model", None), ("hate/model", [("s.png", encode(image, "PNG"))])):
        body = check_body(uploader="u-ip", repo=repo, images=images)
        body["uploader"]["ip"] = UPLOADER_IP
        assert client.post("/api/v1/uploads/check", json=body, headers=operator).status_code == 200
    bad = check_body(uploader="u-ip", repo="bad/ip")
    bad["uploader"]["ip"] = "not an address"
    refused = client.post("/api/v1/uploads/check", json=bad, headers=operator)
    assert refused.status_code == 422 and "ip" in refused.get_json()["error"]["message"]
    with runtime.session() as s:
        evidence = s.exec(select(CaseEvidence)).all()
        assert evidence and all(e.uploader_ip_enc is None for e in evidence)
    case_id = _matched_case(client, runtime, api_headers)
    with runtime.session() as s:
        (held,) = [
            e
            for e in s.exec(select(CaseEvidence).where(CaseEvidence.case_id == case_id)).all()
            if e.uploader_ip_enc
        ]
        assert UPLOADER_IP.encode() not in held.uploader_ip_enc
        assert runtime.keys.decrypt_str(held.uploader_ip_enc) == UPLOADER_IP


def test_console_case_page_records_filings_for_legal(
    client, runtime, api_headers, login, csrf_token
):
    case_id = _matched_case(client, runtime, api_headers, ip=None)
    page_url = f"/console/cases/{case_id}"
    login(client, "moderator")
    assert "Hotline reports" not in client.get(page_url).get_data(as_text=True)
    refused = client.post(
        f"{page_url}/hotline-reports",
        data={"hotline": "NCMEC", "reference": "1", "csrf_token": csrf_token(client, page_url)},
    )
    assert refused.status_code == 403

    login(client, "legal")
    page = client.get(page_url).get_data(as_text=True)
    assert_accessible(page, "case page with the hotline section")
    assert "Hotline reports" in page and "No report filed yet." in page
    assert "samples/cat.png" in page  # the file to grade, never the image
    token = csrf_token(client, page_url)
    bad = client.post(
        f"{page_url}/hotline-reports",
        data={"hotline": "", "reference": "", "files": "1", "path_0": "samples/cat.png",
              "classification_0": "Z9", "csrf_token": token},
    )  # fmt: skip
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert_accessible(text, "refused hotline filing")
    assert text.count('aria-invalid="true"') >= 2 and "report number" in text
    good = client.post(
        f"{page_url}/hotline-reports",
        data={"hotline": "NCMEC CyberTipline", "reference": "CT-777", "files": "1",
              "path_0": "samples/cat.png", "classification_0": "B2", "csrf_token": token},
    )  # fmt: skip
    assert good.status_code == 303, good.get_data(as_text=True)[:500]
    page = client.get(page_url).get_data(as_text=True)
    assert "CT-777" in page and "samples/cat.png: B2" in page and "Hotline report recorded" in page
    extend = client.post(
        f"{page_url}/preservation",
        data={"until": "2099-01-01", "reason": "Police asked us to keep it", "csrf_token": token},
    )
    assert extend.status_code == 303
    assert "2099-01-01" in client.get(page_url).get_data(as_text=True)


def test_preservation_extended_on_the_command_line(cli, client, runtime, api_headers):
    case_id = _matched_case(client, runtime, api_headers, ip=None)
    short = cli("cases", "preserve", str(case_id), "--until", "2099-01-01", "--reason", "LE")
    assert short.exit_code == 2 and "reason" in short.output
    done = cli(
        "cases", "preserve", str(case_id), "--until", "2099-01-01",
        "--reason", "Court order 2026/88 to keep it",
    )  # fmt: skip
    assert done.exit_code == 0 and "2099-01-01" in done.output
    with runtime.session() as s:
        assert s.get(Case, case_id).legal_hold_until.year == 2099
        (record,) = [
            r for r in s.exec(select(AuditRecord)) if r.action == "case.preservation_extend"
        ]
        assert record.reason == "Court order 2026/88 to keep it" and record.actor.startswith("cli")
    earlier = cli("cases", "preserve", str(case_id), "--until", "2098-01-01", "--reason", "x" * 20)
    assert earlier.exit_code == 2 and "already preserved until 2099-01-01" in earlier.output
