"""Certify once per repo (`certifications.scope: repo`, shipped): a certification covers later
revisions of the same repo until a statement's version changes, and a repo can be certified
before its first push, through the API and the portal."""

from __future__ import annotations

import json

import pytest

from hostguard.platform.tokens import make_portal_token
from tests.conftest import extract_csrf


@pytest.fixture
def use_scope(policy_with):
    """use_scope("revision") -> the shipped policy with that `certifications.scope`, in force."""
    return lambda scope: policy_with({"  scope: repo\n": f"  scope: {scope}\n"})


TRAINING_DATA = {"id": "no-csam-training-data", "version": 1, "accepted": True}


def certify(client, operator, **overrides):
    body = {
        "uploader_id": "u-1",
        "repo_id": "alice/model",
        "signed_name": "Alice Example",
        "statements": [TRAINING_DATA],
        **overrides,
    }
    return client.post("/api/v1/certifications", headers=operator, json=body)


def codes(body: dict) -> list[str]:
    return [r["code"] for r in body["reasons"]]


def test_a_certified_revision_covers_later_revisions_of_the_repo(checker, client, operator):
    checker(visibility="private", revision="a" * 40)
    assert certify(client, operator, revision="a" * 40).status_code == 201
    _, body = checker(visibility="private", revision="b" * 40)
    assert body["decision"] == "allow" and codes(body) == []
    # u-1's certification covers u-1's uploads only, not another uploader's to the same repo
    _, other = checker(visibility="private", revision="b" * 40, uploader="u-2")
    assert codes(other) == ["certification_required"]


def test_a_repo_certified_before_any_check_is_allowed_at_its_first_check(
    checker, client, operator, cli, tmp_path
):
    response = certify(client, operator)  # no revision: the repo, before its first push
    assert response.status_code == 201, response.get_data(as_text=True)
    claims = response.get_json()["receipt"]["receipt"]
    assert claims["revision"] == "*" and claims["scope"] == "repo"
    assert claims["repo"] == "alice/model" and claims["uploader"] == "u-1"
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(response.get_json()["receipt"]))
    result = cli("certification", "verify", str(path))
    assert result.exit_code == 0, result.stderr
    assert "valid receipt" in result.output and "alice/model" in result.output

    status, body = checker(visibility="private", revision="c" * 40)
    assert status == 200 and body["decision"] == "allow", body
    assert not [s for s in body["required_steps"] if s["type"] == "certification"]
    # "*" says the same as leaving the revision out
    assert certify(client, operator, revision="*", repo_id="alice/other").status_code == 201


def test_under_revision_scope_a_certification_needs_a_revision(client, operator, use_scope):
    use_scope("revision")
    for revision in (None, "*"):
        response = certify(client, operator, **({"revision": revision} if revision else {}))
        assert response.status_code == 422
        error = response.get_json()["error"]
        assert error["code"] == "revision_required" and "name the revision" in error["message"]
    assert certify(client, operator, revision="a" * 40).status_code == 201


def test_the_portal_certifies_a_repo_from_a_link_without_a_revision(
    checker, client, runtime, operator, use_scope
):
    token = make_portal_token(
        runtime,
        "u-1",
        purpose="certification",
        extra={"repo": "alice/model", "rt": "model", "vis": "private"},
    )
    checker(visibility="private", revision="d" * 40)  # alice/model and u-1 are known
    url = f"/portal/certifications?token={token}"
    page = client.get(url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    assert "every upload to it, including the first" in html
    answer = client.post(
        url,
        data={
            "csrf_token": extract_csrf(html),
            "token": token,
            "no-csam-training-data__version": "1",
            "no-csam-training-data__accepted": "yes",
            "signed_name": "Alice Example",
        },
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert "Your signed receipt" in answer.get_data(as_text=True)
    _, body = checker(visibility="private", revision="e" * 40)
    assert body["decision"] == "allow"

    use_scope("revision")  # a link without a revision cannot be used: say why
    refused = client.get(url)
    assert refused.status_code == 422
    assert "names no revision" in refused.get_data(as_text=True)


def test_hostguard_issues_a_certify_before_first_push_link_that_the_portal_accepts(
    checker, client, operator, use_scope
):
    """A platform asks hostguard for the link (no revision, uploader and repo never seen)."""
    issued = client.post(
        "/api/v1/portal-links",
        headers=operator,
        json={"uploader_id": "u-9", "repo_id": "nina/first", "visibility": "private"},
    )
    assert issued.status_code == 200, issued.get_data(as_text=True)
    url = issued.get_json()["url"]
    assert "/portal/certifications?token=" in url
    path = url[url.index("/portal/") :]
    page = client.get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    answer = client.post(
        path,
        data={
            "csrf_token": extract_csrf(html),
            "no-csam-training-data__version": "1",
            "no-csam-training-data__accepted": "yes",
            "signed_name": "Nina Example",
        },
    )
    assert "Your signed receipt" in answer.get_data(as_text=True)
    _, body = checker(visibility="private", revision="f" * 40, uploader="u-9", repo="nina/first")
    assert body["decision"] == "allow"
    kyu = client.post(
        "/api/v1/portal-links",
        headers=operator,
        json={"uploader_id": "u-9", "repo_id": "nina/first", "purpose": "kyu"},
    ).get_json()["url"]
    assert client.get(kyu[kyu.index("/portal/") :]).status_code == 200

    use_scope("revision")  # per-revision certification: no such link, and the answer says why
    refused = client.post(
        "/api/v1/portal-links",
        headers=operator,
        json={"uploader_id": "u-9", "repo_id": "nina/first"},
    )
    assert refused.status_code == 422
    assert refused.get_json()["error"]["code"] == "revision_required"
