"""Issue 17: a changed statement is named as changed; KYU and certifications before any check."""

from __future__ import annotations

import io

from sqlmodel import select

from hostguard.platform.models import ModelRepo, Uploader
from tests.uploads.conftest import KYU_FORM, png

TRAINING_TEXT = "abuse material, and that I took reasonable steps to check this."
TRAINING_V1 = "id: no-csam-training-data\n      version: 1"


def certify(client, operator, *, uploader="u-1", repo="alice/model", version=1):
    return client.post(
        "/api/v1/certifications",
        headers=operator,
        json={
            "uploader_id": uploader,
            "repo_id": repo,
            "revision": "r" * 40,
            "signed_name": "Alice Example",
            "statements": [{"id": "no-csam-training-data", "version": version, "accepted": True}],
        },
    )


def test_a_changed_statement_is_reported_as_changed_not_as_unsigned(
    checker, client, operator, policy_with
):
    checker(visibility="private")
    assert certify(client, operator).status_code == 201
    assert checker(visibility="private")[1]["decision"] == "allow"

    policy_with(
        {
            TRAINING_V1: "id: no-csam-training-data\n      version: 2",
            TRAINING_TEXT: "abuse material, and that I took careful steps to check this.",
        }
    )
    _, body = checker(visibility="private")
    assert body["decision"] == "hold"
    assert [r["code"] for r in body["reasons"]] == ["certification_outdated"]
    message = body["reasons"][0]["message"]
    assert "has changed since the uploader signed it" in message and "Training data" in message
    assert "not yet signed" not in message
    [step] = body["required_steps"]
    assert step["type"] == "certification"
    assert [(s["id"], s["version"]) for s in step["statements"]] == [("no-csam-training-data", 2)]


def test_a_changed_text_alone_is_reported_as_changed(checker, client, operator, policy_with):
    checker(visibility="private")
    assert certify(client, operator).status_code == 201
    policy_with({TRAINING_TEXT: "abuse material, and that I took careful steps to check this."})
    _, body = checker(visibility="private")
    assert [r["code"] for r in body["reasons"]] == ["certification_outdated"]


def test_changed_and_never_signed_statements_each_have_their_reason(
    checker, client, operator, policy_with
):
    checker(visibility="private")
    assert certify(client, operator).status_code == 201
    policy_with({TRAINING_TEXT: "abuse material, and that I took careful steps to check this."})
    _, body = checker(visibility="gated")
    codes = [r["code"] for r in body["reasons"]]
    assert "certification_outdated" in codes and "certification_required" in codes
    by_code = {r["code"]: r["message"] for r in body["reasons"]}
    assert "Watermarked outputs" in by_code["certification_required"]
    assert "Training data" not in by_code["certification_required"]
    assert "Training data" in by_code["certification_outdated"]


def test_kyu_can_be_submitted_for_an_uploader_no_check_has_seen(client, operator, runtime):
    form = {**KYU_FORM, "id_document": (io.BytesIO(png()), "id.png")}
    response = client.post(
        "/api/v1/uploaders/new-uploader/kyu",
        data=form,
        headers=operator,
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["status"] == "pending_review"
    with runtime.session() as session:
        assert session.exec(select(Uploader).where(Uploader.platform_id == "new-uploader")).one()


def test_kyu_for_an_unseen_uploader_validates_the_id(client, operator):
    form = {**KYU_FORM, "id_document": (io.BytesIO(png()), "id.png")}
    response = client.post(
        f"/api/v1/uploaders/{'x' * 201}/kyu",
        data=form,
        headers=operator,
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid_input"


def test_kyu_for_an_unseen_uploader_still_needs_the_operator_scope(client, api_headers):
    form = {**KYU_FORM, "id_document": (io.BytesIO(png()), "id.png")}
    response = client.post(
        "/api/v1/uploaders/new-uploader/kyu",
        data=form,
        headers=api_headers("moderator"),
        content_type="multipart/form-data",
    )
    assert response.status_code == 403


def test_a_repo_can_be_certified_before_any_check(client, operator, checker, runtime):
    response = certify(
        client, operator, uploader="fresh", repo="https://huggingface.co/fresh/model"
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["receipt"]["receipt"]["repo"] == "fresh/model"
    with runtime.session() as session:
        uploader = session.exec(select(Uploader).where(Uploader.platform_id == "fresh")).one()
        repo = session.exec(select(ModelRepo).where(ModelRepo.repo_id == "fresh/model")).one()
        assert repo.uploader_id == uploader.id
    _, body = checker(uploader="fresh", repo="fresh/model", visibility="private")
    assert body["decision"] == "allow"


def test_certifying_an_unseen_repo_validates_its_id(client, operator):
    response = certify(client, operator, uploader="fresh", repo="not a repo id")
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid_input"
