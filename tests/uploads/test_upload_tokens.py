"""Upload tokens: the platform mints one for an uploader and a repo; it checks and certifies for
them only, and nothing else; an expired token is refused as unauthenticated."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import select

from hostguard.accounts.models import UploadToken
from hostguard.db.types import utcnow
from tests.uploads.conftest import check_body

TRAINING_DATA = {"id": "no-csam-training-data", "version": 1, "accepted": True}


def mint(client, operator, **overrides):
    body = {"uploader_id": "u-1", "repo_id": "alice/model", **overrides}
    return client.post("/api/v1/upload-tokens", headers=operator, json=body)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_checks_and_certifies_for_its_uploader_and_repo(client, operator, db):
    minted = mint(client, operator)
    assert minted.status_code == 201, minted.get_data(as_text=True)
    answer = minted.get_json()
    assert answer["token"].startswith("hgu_") and answer["repo_id"] == "alice/model"
    token = bearer(answer["token"])
    body = check_body(visibility="private")
    response = client.post("/api/v1/uploads/check", headers=token, json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    check = response.get_json()
    assert check["decision"] == "hold"
    assert (
        client.get(f"/api/v1/uploads/checks/{check['check_id']}", headers=token).status_code == 200
    )
    certified = client.post(
        "/api/v1/certifications",
        headers=token,
        json={
            "uploader_id": "u-1",
            "repo_id": "alice/model",
            "statements": [TRAINING_DATA],
            "signed_name": "Alice Example",
        },
    )
    assert certified.status_code == 201, certified.get_data(as_text=True)
    again = client.post("/api/v1/uploads/check", headers=token, json=body).get_json()
    assert again["decision"] == "allow"
    # only the hash is stored
    stored = db.exec(select(UploadToken)).one()
    assert answer["token"] not in (stored.token_hash, stored.prefix)


def test_a_token_refuses_another_uploader_repo_or_endpoint(client, operator):
    token = bearer(mint(client, operator).get_json()["token"])
    for body in (
        check_body(uploader="u-2", visibility="private"),
        check_body(repo="alice/other", visibility="private"),
    ):
        response = client.post("/api/v1/uploads/check", headers=token, json=body)
        assert response.status_code == 403, response.get_data(as_text=True)
        assert response.get_json()["error"]["code"] == "upload_token_scope"
    certified = client.post(
        "/api/v1/certifications",
        headers=token,
        json={
            "uploader_id": "u-2",
            "repo_id": "alice/model",
            "statements": [TRAINING_DATA],
            "signed_name": "Mallory",
        },
    )
    assert certified.status_code == 403
    # a check of another uploader, read with the token
    other = client.post(
        "/api/v1/uploads/check", headers=operator, json=check_body(uploader="u-2")
    ).get_json()
    assert (
        client.get(f"/api/v1/uploads/checks/{other['check_id']}", headers=token).status_code == 403
    )
    # every other route refuses a token, even ones an operator key may call
    assert client.get("/api/v1/uploaders/u-1", headers=token).status_code == 403
    assert mint(client, token).status_code == 403


def test_an_expired_token_is_401_and_a_forged_one_too(client, operator, db):
    token = bearer(mint(client, operator, ttl_seconds=60).get_json()["token"])
    stored = db.exec(select(UploadToken)).one()
    stored.expires_at = utcnow() - timedelta(seconds=1)
    db.add(stored)
    db.commit()
    response = client.post("/api/v1/uploads/check", headers=token, json=check_body())
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "upload_token_expired"
    forged = client.post(
        "/api/v1/uploads/check", headers=bearer("hgu_00000000_forged"), json=check_body()
    )
    assert forged.status_code == 401
    assert forged.get_json()["error"]["code"] == "invalid_upload_token"


def test_the_lifetime_comes_from_the_settings(client, operator, runtime):
    runtime.settings.upload_token_ttl = 120
    runtime.settings.upload_token_max_ttl = 600
    answer = mint(client, operator).get_json()
    left = (datetime.fromisoformat(answer["expires_at"]) - utcnow()).total_seconds()
    assert 100 < left <= 120
    too_long = mint(client, operator, ttl_seconds=601)
    assert too_long.status_code == 422
    assert too_long.get_json()["error"]["code"] == "invalid_ttl"


def test_only_an_operator_key_mints_tokens(client, api_headers):
    assert mint(client, {}).status_code == 401
    assert mint(client, api_headers("authority")).status_code == 403
