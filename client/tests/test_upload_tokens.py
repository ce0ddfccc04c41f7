"""An uploader's tool with the upload token the platform minted: it checks and certifies for that
uploader and repo only, and a certify-before-first-push link the platform asks hostguard for."""

from __future__ import annotations

import pytest

from hostguard_client import HostguardClient, PermissionDenied

FILES = [{"path": "model.safetensors", "size": 10, "sha256": "a" * 64}]


def test_an_upload_token_checks_its_repo_only(hg, server, names, monkeypatch):
    minted = hg.create_upload_token(uploader_id=names["uploader"], repo_id=names["repo"])
    assert minted.token.startswith("hgu_") and minted.repo_id == names["repo"]
    monkeypatch.setenv("HOSTGUARD_UPLOAD_TOKEN", minted.token)
    with HostguardClient(server.url, backoff=0.05) as uploader_tool:  # token from the environment
        result = uploader_tool.check_upload(
            uploader_id=names["uploader"],
            repo_id=names["repo"],
            revision=names["revision"],
            files=FILES,
            visibility="private",
        )
        assert result.held and uploader_tool.get_check(result.check_id).check_id == result.check_id
        with pytest.raises(PermissionDenied):
            uploader_tool.check_upload(
                uploader_id=names["uploader"],
                repo_id=names["repo"] + "-other",
                revision=names["revision"],
                files=FILES,
            )
        with pytest.raises(PermissionDenied):
            uploader_tool.get_uploader(names["uploader"])


def test_a_certify_link_for_a_repo_before_its_first_push(hg, names):
    url = hg.certify_link(uploader_id=names["uploader"], repo_id=names["repo"])
    assert "/portal/certifications?token=" in url
