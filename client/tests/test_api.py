"""The operator's path through the real API with the client: typed answers and typed errors."""

from __future__ import annotations

import pytest

from hostguard_client import (
    AuthenticationRequired,
    HostguardClient,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from tests.conftest import png, statements_for

FILES = [{"path": "model.safetensors", "size": 10, "sha256": "a" * 64}]


def test_a_new_uploader_is_held_with_the_steps_to_send_them_to(hg, names):
    result = hg.check_upload(
        uploader_id=names["uploader"],
        repo_id=names["repo"],
        revision=names["revision"],
        files=FILES,
        username="alice",
        email="alice@example.org",
    )
    assert result.held and not result.allowed and not result.blocked
    assert result.reason_codes == ["kyu_required", "certification_required"]
    assert all(r.message for r in result.reasons)
    kyu, certification = result.required_steps
    assert kyu.type == "kyu" and "/portal/kyu?token=" in kyu.url
    assert certification.type == "certification" and certification.statements
    assert result.policy["id"] == "default" and result.matches == []
    again = hg.check_upload(
        uploader_id=names["uploader"],
        repo_id=names["repo"],
        revision=names["revision"],
        files=FILES,
        username="alice",
        email="alice@example.org",
    )
    assert again.check_id == result.check_id  # the same content is the same check


def test_a_repo_certified_before_its_first_push_is_not_held_for_certification(hg, names):
    """The shipped policy certifies once per repo: no revision names the repo itself."""
    cert = hg.certify(
        uploader_id=names["uploader"],
        repo_id=names["repo"],
        statements=[{"id": "no-csam-training-data", "version": 1, "accepted": True}],
        signed_name="Alice Example-Person",
    )
    assert cert.receipt["receipt"]["revision"] == "*"
    first = hg.check_upload(
        uploader_id=names["uploader"],
        repo_id=names["repo"],
        revision=names["revision"],
        files=FILES,
        visibility="private",
    )
    assert first.allowed and first.reason_codes == []


def test_kyu_and_certification_move_the_check_on_and_show_on_the_uploader(hg, names):
    ids = dict(uploader_id=names["uploader"], repo_id=names["repo"], revision=names["revision"])
    first = hg.check_upload(**ids, files=FILES)
    submission = hg.submit_kyu(
        names["uploader"],
        legal_name="Alice Example-Person",
        address="1 Quiet Street, Springfield",
        country="DE",
        date_of_birth="1990-04-30",
        id_document=png(),
        filename="id.png",
        content_type="image/png",
    )
    assert submission.status == "pending_review" and submission.kyu_id > 0
    step = next(s for s in first.required_steps if s.type == "certification")
    cert = hg.certify(
        uploader_id=names["uploader"],
        repo_id=names["repo"],
        revision=names["revision"],
        statements=statements_for(step),
        signed_name="Alice Example-Person",
    )
    assert cert.receipt["receipt"]["repo"] == names["repo"]
    assert "hostguard_certification:" in cert.model_card_yaml
    after = hg.check_upload(**ids, files=FILES)
    assert after.reason_codes == ["kyu_pending"]  # only the identity review is left
    uploader = hg.get_uploader(names["uploader"])
    assert uploader.kyu_status == "pending_review" and uploader.status == "active"
    assert [c.certification_id for c in uploader.certifications] == [cert.certification_id]
    assert "Alice Example-Person" not in str(uploader.raw)  # no personal data comes back


def test_api_errors_arrive_as_typed_exceptions_with_the_api_code(hg, server, names):
    with pytest.raises(NotFound) as missing:
        hg.get_uploader(f"nobody-{names['uploader']}")
    assert missing.value.status_code == 404 and missing.value.code == "uploader_not_found"
    assert "nobody-" in missing.value.message
    with pytest.raises(ValidationFailed) as invalid:
        hg.check_upload(uploader_id=names["uploader"], repo_id="x", revision="r")
    assert invalid.value.status_code == 422 and "repo" in invalid.value.message
    with HostguardClient(server.url, api_key="hg_not-a-key") as stranger:
        with pytest.raises(AuthenticationRequired):
            stranger.get_uploader(names["uploader"])
    with pytest.raises(PermissionDenied):
        hg.claim_case(1)  # an operator key does not act on cases


def test_scan_answers_per_image_without_hashes(hg):
    results = hg.scan([("sample-1.png", png(seed=1)), ("sample-2.png", png(seed=2))])
    assert [r.path for r in results] == ["sample-1.png", "sample-2.png"]
    assert not any(r.matched for r in results) and all(r.error is None for r in results)


def test_a_notice_opens_a_case_a_moderator_decides(hg, moderator, names):
    hg.check_upload(
        uploader_id=names["uploader"], repo_id=names["repo"], revision=names["revision"]
    )
    notice = hg.submit_notice(
        items=[names["repo"]],
        category="hate",
        explanation="Generates hateful imagery.",
        notifier_name="Nora",
        notifier_email="nora@example.org",
        good_faith=True,
    )
    assert notice.notice_id > 0 and len(notice.case_ids) == 1
    case_id = notice.case_ids[0]
    assert moderator.claim_case(case_id)["id"] == case_id
    decided = moderator.decide_case(
        case_id,
        action="take_down",
        ground="terms_of_service",
        ground_reference="Terms § 4",
        category="hate",
        explanation="Generates hateful imagery.",
    )
    assert decided["decision"]["action"] == "take_down" and decided["case"]["status"] == "decided"


def test_every_route_the_client_calls_is_in_the_openapi_document(hg):
    paths = set(hg.openapi()["paths"])
    for path in (
        "/api/v1/uploads/check",
        "/api/v1/uploaders/{uploader_id}/kyu",
        "/api/v1/uploaders/{uploader_id}",
        "/api/v1/certifications",
        "/api/v1/keys",
        "/api/v1/scan",
        "/api/v1/notices",
        "/api/v1/cases/{case_id}/claim",
        "/api/v1/cases/{case_id}/decision",
    ):
        assert path in paths, path


def test_a_match_says_whether_the_sample_was_an_image_or_a_video():
    """hostguard names a matched sample's kind; answers from before it did read as images."""
    from hostguard_client.models import CheckResult

    match = {
        "path": "samples/clip.mp4",
        "list": "known-videos",
        "algorithm": "vpdq",
        "distance": 0,
        "threshold": 20,
        "category": "csam",
        "list_action": "block",
    }
    result = CheckResult.from_json(
        {
            "check_id": "c1",
            "decision": "block",
            "matches": [{**match, "kind": "video"}, {**match, "path": "old.png"}],
        }
    )
    assert [(m.path, m.kind) for m in result.matches] == [
        ("samples/clip.mp4", "video"),
        ("old.png", "image"),
    ]
