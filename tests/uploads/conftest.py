"""Helpers for upload tests: check bodies, generated images and ID documents."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from hostguard.policy import DEFAULT_POLICY_PATH


def png(color=(10, 120, 200), size=(96, 64)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


def check_body(
    *,
    uploader="u-1",
    repo="alice/model",
    revision="r" * 40,
    visibility="public",
    files=None,
    images=None,
) -> dict:
    body = {
        "uploader": {"id": uploader, "username": uploader, "email": f"{uploader}@example.org"},
        "repo": {"id": repo, "type": "model", "revision": revision, "visibility": visibility},
        "files": files
        if files is not None
        else [{"path": "model.safetensors", "size": 10, "sha256": "a" * 64}],
    }
    if images:
        import base64

        body["sample_images"] = [
            {"path": p, "content_base64": base64.b64encode(d).decode()} for p, d in images
        ]
    return body


KYU_FORM = {
    "legal_name": "Alice Example-Person",
    "address": "1 Quiet Street, Springfield",
    "country": "DE",
    "date_of_birth": "1990-04-30",
}


@pytest.fixture
def operator(api_headers):
    return api_headers("operator")


@pytest.fixture
def checker(client, operator):
    """checker(**check_body kwargs) -> (status, json) of POST /api/v1/uploads/check."""

    def run(**kwargs):
        response = client.post("/api/v1/uploads/check", json=check_body(**kwargs), headers=operator)
        return response.status_code, response.get_json()

    return run


@pytest.fixture
def submit_kyu(client, operator):
    def run(uploader="u-1", document=None, **overrides):
        form = {**KYU_FORM, **overrides}
        form["id_document"] = (io.BytesIO(document if document is not None else png()), "id.png")
        return client.post(
            f"/api/v1/uploaders/{uploader}/kyu",
            data=form,
            headers=operator,
            content_type="multipart/form-data",
        )

    return run


@pytest.fixture
def policy_with(runtime, tmp_path):
    """policy_with({"old text": "new text"}) -> the default policy so edited, in force for this test."""

    def use(replacements: dict[str, str]) -> Path:
        text = Path(DEFAULT_POLICY_PATH).read_text()
        for old, new in replacements.items():
            assert old in text, old
            text = text.replace(old, new)
        path = tmp_path / "policy.yaml"
        path.write_text(text)
        runtime.settings.policy_file = path
        return path

    return use
