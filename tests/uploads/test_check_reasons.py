"""The rarer reason codes, and what opens a case: hold and record matches, watermark holds, evidence."""

from __future__ import annotations

import base64
from datetime import timedelta

from sqlmodel import select

from hostguard.cases.models import Case, CaseEvidence
from hostguard.db.types import utcnow
from hostguard.uploads.models import KyuSubmission, UploadCheck
from tests.uploads.test_check_api import certify_all, codes, textured_png


def _list_with(
    runtime, image: bytes, *, name: str, category: str, action: str | None = None
) -> str:
    from hostguard.hashing.service import import_list, scan_images

    with runtime.session() as s:
        pdq = scan_images(session=s, runtime=runtime, images=[("x.png", image)])[0].hashes["pdq"]
        import_list(
            session=s,
            actor="test",
            name=name,
            data=pdq + "\n",
            algorithm="pdq",
            category=category,
            action=action,
        )
    return pdq


def _evidence(runtime, kind: str) -> list[CaseEvidence]:
    with runtime.session() as s:
        return list(s.exec(select(CaseEvidence).where(CaseEvidence.kind == kind)).all())


def test_expired_identity_verification_holds(checker, submit_kyu, cli, runtime):
    checker()
    assert submit_kyu().status_code == 201
    assert cli("kyu", "verify", "1").exit_code == 0
    with runtime.session() as s:
        s.exec(select(KyuSubmission)).one().expires_at = utcnow() - timedelta(days=1)
    _, body = checker()
    assert body["decision"] == "hold"
    assert codes(body)[0] == "kyu_expired"
    assert body["required_steps"][0]["type"] == "kyu"


def test_unreadable_sample_image_holds(checker):
    _, body = checker(images=[("samples/broken.png", b"this is not a picture at all")])
    assert body["decision"] == "hold"
    assert "image_unreadable" in codes(body)
    assert body["matches"] == []


def test_a_match_in_a_hold_category_holds_and_opens_one_case(checker, runtime):
    image = textured_png(11)
    # a review list: a block list would block whatever the category (test_check_list_actions)
    pdq = _list_with(runtime, image, name="extremism", category="terrorism", action="review")
    _, body = checker(images=[("samples/a.png", image)])
    assert body["decision"] == "hold" and "hash_match" in codes(body)
    assert pdq not in str(body)
    _, again = checker(images=[("samples/a.png", image)])
    assert again == body
    with runtime.session() as s:
        case = s.exec(select(Case)).one()
        assert case.source == "hash_match" and case.category == "terrorism"
    assert len(_evidence(runtime, "hash_match")) == 1


def test_a_match_in_a_record_category_is_allowed_but_opens_a_case(
    checker, client, operator, runtime, policy_with
):
    policy_with(
        {
            "  default:\n    action: hold": "  spam:\n    action: record\n  default:\n    action: hold"
        }
    )
    image = textured_png(12)
    _list_with(runtime, image, name="spam-list", category="spam", action="review")
    checker(visibility="private")
    certify_all(client, operator, method="other")
    _, body = checker(visibility="private", images=[("samples/a.png", image)])
    assert body["decision"] == "allow", body
    assert "hash_match" not in codes(body)
    assert body["matches"][0]["list"] == "spam-list"
    checker(visibility="private", images=[("samples/a.png", image)])  # a retry opens nothing more
    evidence = _evidence(runtime, "hash_match")
    assert len(evidence) == 1
    assert evidence[0].details["matches"][0]["category"] == "spam"
    with runtime.session() as s:
        assert s.exec(select(Case)).one().source == "hash_match"


def test_watermark_not_found_hold_opens_one_case_for_review(checker, client, operator, runtime):
    checker(visibility="private")
    assert certify_all(client, operator, method="c2pa").status_code == 201
    images = [("samples/a.png", textured_png(4))]
    _, body = checker(visibility="private", images=images)
    assert codes(body) == ["watermark_not_found"]
    _, again = checker(visibility="private", images=images)
    assert again == body
    evidence = _evidence(runtime, "watermark_review")
    assert len(evidence) == 1
    assert evidence[0].source == "upload_check" and evidence[0].ref == f"check:{body['check_id']}"
    assert evidence[0].details["reasons"] == ["watermark_not_found"]
    assert evidence[0].details["watermark"]["result"] == "not_found"


def test_watermark_inconclusive_holds_when_the_policy_says_so(
    checker, client, operator, runtime, policy_with
):
    policy_with({"  inconclusive: record": "  inconclusive: hold"})
    checker(visibility="private")
    certify_all(client, operator, method="other")
    _, body = checker(visibility="private", images=[("samples/a.png", textured_png(5))])
    assert body["decision"] == "hold"
    assert codes(body) == ["watermark_inconclusive"]
    assert body["watermark"]["result"] == "inconclusive"
    checker(visibility="private", images=[("samples/a.png", textured_png(5))])
    assert [e.details["reasons"] for e in _evidence(runtime, "watermark_review")] == [
        ["watermark_inconclusive"]
    ]


def test_csam_match_evidence_carries_the_uploaded_files_digests(checker, runtime):
    """The hotline/NCMEC package needs the file's own hashes; the answer and check never show them."""
    import hashlib

    from hostguard.workflows.evidence import report_package

    image, other = textured_png(13), textured_png(14)
    pdq = _list_with(runtime, image, name="csam-list", category="csam")
    _, body = checker(images=[("samples/hit.png", image), ("samples/ok.png", other)])
    assert body["decision"] == "block"
    sha256 = hashlib.sha256(image).hexdigest()
    assert sha256 not in str(body) and pdq not in str(body)
    with runtime.session() as s:
        check = s.exec(select(UploadCheck)).one()
        assert (
            sha256 not in str(check.matches)
            and pdq not in str(check.matches)
            and pdq not in str(check.answer)
        )
        case = s.exec(select(Case)).one()
        assert case.legal_hold_until is not None
        package = report_package(session=s, case_id=case.id, actor="test")
    (details,) = [e["details"] for e in package["evidence"] if e["kind"] == "hash_match"]
    assert [m["path"] for m in details["matches"]] == ["samples/hit.png"]
    assert (
        "file" not in details["matches"][0]
    )  # digests sit apart, under one key pages can leave out
    digests = details["file_digests"]["samples/hit.png"]
    assert digests["sha256"] == sha256
    assert digests["md5"] == hashlib.md5(image).hexdigest()
    assert digests["pdq"] == pdq  # the upload's own PDQ hash (here equal to the entry we listed)
    assert list(details["file_digests"]) == ["samples/hit.png"]
    text = str(package)
    assert hashlib.sha256(other).hexdigest() not in text  # only matched files are described
    assert base64.b64encode(image).decode()[:40] not in text  # never the image itself
