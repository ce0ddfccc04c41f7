"""The Hugging Face webhook: the real huggingface_hub client reads a fake Hub, quarantines, discusses."""

from __future__ import annotations

import io
import json

import numpy as np
from PIL import Image
from sqlmodel import select

import hostguard.registry  # noqa: F401  (registers every job handler, as the worker does)
from hostguard.cases.models import Case, CaseEvidence
from hostguard.jobs.service import run_due
from hostguard.platform.models import ModelRepo
from hostguard.uploads.models import UploadCheck

SECRET = "hub-webhook-secret-123"


def _image(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    img = Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).resize((256, 256))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _event(repo: str, sha: str, webhook_id: str = "wh-1") -> dict:
    return {
        "event": {"action": "update", "scope": "repo.content"},
        "repo": {
            "type": "model",
            "name": repo,
            "id": "abc",
            "private": False,
            "headSha": sha,
            "owner": {"id": "own-1"},
            "url": {"web": "x", "api": "y"},
            "newField": [1],
        },
        "updatedRefs": [{"ref": "refs/heads/main", "oldSha": None, "newSha": sha}],
        "webhook": {"id": webhook_id, "version": 3},
    }


def _configure(runtime, fake_hub):
    runtime.settings.hf_webhook_secret = SECRET
    runtime.settings.hf_endpoint = fake_hub.url
    runtime.settings.hf_token = "hf_test_token"
    runtime.settings.actioner = "huggingface"


def _post(client, data, secret=SECRET):
    return client.post("/hooks/huggingface", json=data, headers={"X-Webhook-Secret": secret})


def test_non_compliant_repo_is_quarantined_discussed_and_a_case_opened(client, runtime, fake_hub):
    _configure(runtime, fake_hub)
    sha = fake_hub.commit(
        "alice/pixels",
        {
            "README.md": b"---\nlicense: mit\n---\n# Pixels\n",
            "model.safetensors": b"\0" * 128,
            "samples/one.png": _image(1),
        },
    )
    response = _post(client, _event("alice/pixels", sha))
    assert response.status_code == 202 and response.get_json()["status"] == "queued"
    assert _post(client, _event("alice/pixels", sha)).get_json()["status"] == "duplicate"  # replay
    run_due(runtime.engine, runtime=runtime)

    repo = fake_hub.repos["alice/pixels"]
    assert repo.private is True  # quarantined through HfApi.update_repo_settings
    assert len(repo.discussions) == 1
    discussion = repo.discussions[0]
    assert (
        "verified identity" in discussion["description"] and "/portal/" in discussion["description"]
    )
    assert any(
        r.startswith("GET /alice/pixels/resolve/") for r in fake_hub.requests
    )  # sample image read
    with runtime.session() as s:
        check = s.exec(select(UploadCheck)).one()
        assert (
            check.revision == sha
            and check.decision == "hold"
            and check.source == "huggingface_webhook"
        )
        assert check.image_count == 1 and check.file_count == 3
        assert s.exec(select(ModelRepo)).one().status == "quarantined"
        case = s.exec(select(Case)).one()
        assert case.source == "upload_check" and case.category == "other"
        evidence = s.exec(select(CaseEvidence).where(CaseEvidence.case_id == case.id)).one()
        assert evidence.details["sample_image_urls"] == [
            f"{fake_hub.url}/alice/pixels/resolve/{sha}/samples/one.png"
        ]
        assert evidence.details["matched_image_urls"] == []


def test_matched_sample_image_takes_the_list_category_and_is_never_listed_for_display(
    client, runtime, fake_hub, cli, tmp_path
):
    _configure(runtime, fake_hub)
    flagged, benign = _image(7), _image(8)
    (tmp_path / "flagged.png").write_bytes(flagged)
    hashed = json.loads(
        cli("hash", "--algorithm", "pdq", str(tmp_path / "flagged.png")).output.splitlines()[0]
    )
    (tmp_path / "list.txt").write_text(hashed["hash"] + "\n")
    imported = cli(
        "hashlist",
        "import",
        "ncii-partner",
        str(tmp_path / "list.txt"),
        "--algorithm",
        "pdq",
        "--category",
        "ncii",
        "--action",
        "block",
    )
    assert imported.exit_code == 0, imported.output
    sha = fake_hub.commit(
        "bob/faces", {"README.md": b"# Faces\n", "samples/a.png": flagged, "samples/b.png": benign}
    )
    assert _post(client, _event("bob/faces", sha)).status_code == 202
    run_due(runtime.engine, runtime=runtime)
    with runtime.session() as s:
        case = s.exec(select(Case)).one()
        assert case.category == "non_consensual_intimate_imagery"
        details = [
            e.details
            for e in s.exec(select(CaseEvidence).where(CaseEvidence.kind == "upload_check"))
        ]
        assert details[0]["matched_image_urls"] == [
            f"{fake_hub.url}/bob/faces/resolve/{sha}/samples/a.png"
        ]
        assert details[0]["sample_image_urls"] == [
            f"{fake_hub.url}/bob/faces/resolve/{sha}/samples/b.png"
        ]


def test_compliant_repo_is_left_alone(client, runtime, fake_hub, api_headers):
    _configure(runtime, fake_hub)
    sha = fake_hub.commit("bob/clean", {"model.safetensors": b"\1" * 64})
    operator = api_headers("operator")
    # the uploader is known, verified and certified for this revision (private: no KYU needed)
    fake_hub.repos["bob/clean"].private = True
    client.post(
        "/api/v1/uploads/check",
        headers=operator,
        json={
            "uploader": {"id": "bob"},
            "repo": {"id": "bob/clean", "revision": sha, "visibility": "private"},
        },
    )
    assert (
        client.post(
            "/api/v1/certifications",
            headers=operator,
            json={
                "uploader_id": "bob",
                "repo_id": "bob/clean",
                "revision": sha,
                "signed_name": "Bob B",
                "statements": [{"id": "no-csam-training-data", "version": 1, "accepted": True}],
            },
        ).status_code
        == 201
    )
    assert _post(client, _event("bob/clean", sha)).status_code == 202
    run_due(runtime.engine, runtime=runtime)
    assert fake_hub.repos["bob/clean"].discussions == []
    with runtime.session() as s:
        checks = s.exec(
            select(UploadCheck).where(UploadCheck.source == "huggingface_webhook")
        ).all()
        assert [c.decision for c in checks] == ["allow"]
        assert s.exec(select(Case)).all() == []


def test_webhook_secret_and_payload_errors(client, runtime, fake_hub):
    assert _post(client, _event("a/b", "1" * 40)).status_code == 503  # not configured yet
    _configure(runtime, fake_hub)
    response = _post(client, _event("a/b", "1" * 40), secret="wrong")
    assert (
        response.status_code == 401
        and response.get_json()["error"]["code"] == "invalid_webhook_secret"
    )
    response = client.post(
        "/hooks/huggingface",
        data="{nope",
        headers={"X-Webhook-Secret": SECRET, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    ignored = {
        "event": {"action": "create", "scope": "discussion"},
        "repo": {"type": "model", "name": "a/b"},
    }
    assert _post(client, ignored).get_json()["status"] == "ignored"
    assert (
        _post(client, {**_event("a/b", "1" * 40), "repo": {"name": "nonsense"}}).status_code == 422
    )


def test_unknown_repo_on_the_hub_is_skipped_not_retried(client, runtime, fake_hub):
    _configure(runtime, fake_hub)
    assert _post(client, _event("ghost/repo", "2" * 40)).status_code == 202
    run_due(runtime.engine, runtime=runtime)
    from hostguard.jobs.models import Job

    with runtime.session() as s:
        job = s.exec(select(Job).where(Job.kind == "integrations.hf_check")).one()
        assert job.status == "done" and job.payload["result"] == {"skipped": "not found on the Hub"}


def _per_revision(runtime, tmp_path) -> None:
    """A policy under which a certification covers only its revision (`certifications.scope:
    revision`): what the receipt tests below are about. The shipped `repo` scope is tested in
    `test_under_the_shipped_repo_scope_a_certification_covers_later_pushes`."""
    path = tmp_path / "per-revision.yaml"
    path.write_text("id: per-revision\nversion: 1\ncertifications:\n  scope: revision\n")
    runtime.settings.policy_file = path
    assert runtime.policy.certifications.scope == "revision"


def test_receipt_in_the_model_card_counts_for_the_commit_that_added_it(
    client, runtime, fake_hub, api_headers, tmp_path
):
    _configure(runtime, fake_hub)
    _per_revision(runtime, tmp_path)
    operator = api_headers("operator")
    first = fake_hub.commit("dana/card", {"model.safetensors": b"\2" * 64})
    fake_hub.repos["dana/card"].private = True
    client.post(
        "/api/v1/uploads/check",
        headers=operator,
        json={
            "uploader": {"id": "dana"},
            "repo": {"id": "dana/card", "revision": first, "visibility": "private"},
        },
    )
    signed = client.post(
        "/api/v1/certifications",
        headers=operator,
        json={
            "uploader_id": "dana",
            "repo_id": "dana/card",
            "revision": first,
            "signed_name": "Dana D",
            "statements": [{"id": "no-csam-training-data", "version": 1, "accepted": True}],
        },
    ).get_json()
    card = "---\nlicense: mit\n" + signed["model_card_yaml"] + "---\n# Card\n"
    second = fake_hub.commit("dana/card", {"README.md": card.encode()})
    assert _post(client, _event("dana/card", second)).status_code == 202
    run_due(runtime.engine, runtime=runtime)
    assert fake_hub.repos["dana/card"].discussions == []
    with runtime.session() as s:
        check = s.exec(select(UploadCheck).where(UploadCheck.revision == second)).one()
        assert check.decision == "allow"
    # a tampered receipt does not count
    forged = card.replace(f"revision: {first}", "revision: " + "0" * 40)
    assert forged != card
    third = fake_hub.commit("dana/card", {"README.md": forged.encode()})
    _post(client, _event("dana/card", third))
    run_due(runtime.engine, runtime=runtime)
    with runtime.session() as s:
        assert (
            s.exec(select(UploadCheck).where(UploadCheck.revision == third)).one().decision
            == "hold"
        )


def test_gated_quarantine_mode_gates_instead_of_hiding(client, runtime, fake_hub):
    _configure(runtime, fake_hub)
    runtime.settings.hf_quarantine = "gated"
    sha = fake_hub.commit("carol/gate", {"README.md": b"# Gate\n", "samples/one.png": _image(3)})
    assert _post(client, _event("carol/gate", sha)).status_code == 202
    run_due(runtime.engine, runtime=runtime)
    repo = fake_hub.repos["carol/gate"]
    assert repo.gated == "manual" and repo.private is False
    assert "made gated" in repo.discussions[0]["description"]


def test_sample_image_larger_than_the_limit_is_never_downloaded(client, runtime, fake_hub):
    _configure(runtime, fake_hub)
    small, big = _image(3), _image(4) + b"\0" * 4096
    runtime.settings.max_image_bytes = len(small) + 1024
    sha = fake_hub.commit(
        "alice/big",
        {"model.safetensors": b"\0" * 128, "samples/small.png": small, "samples/big.png": big},
    )
    assert _post(client, _event("alice/big", sha)).status_code == 202
    run_due(runtime.engine, runtime=runtime)

    downloads = [r for r in fake_hub.requests if "/resolve/" in r]
    assert any(r.endswith("/samples/small.png") for r in downloads)
    assert not any(r.endswith("/samples/big.png") for r in downloads), downloads
    with runtime.session() as s:
        check = s.exec(select(UploadCheck)).one()
        assert check.image_count == 1 and check.file_count == 3


def _config_event(repo: str, sha: str, *, private: bool, webhook_id: str = "wh-1") -> dict:
    return {
        "event": {"action": "update", "scope": "repo.config"},
        "repo": {"type": "model", "name": repo, "id": "abc", "private": private, "headSha": sha},
        "updatedConfig": {"private": private},
        "webhook": {"id": webhook_id, "version": 3},
    }


def _certify_private(client, operator, uploader: str, repo: str, sha: str) -> None:
    client.post(
        "/api/v1/uploads/check",
        headers=operator,
        json={
            "uploader": {"id": uploader},
            "repo": {"id": repo, "revision": sha, "visibility": "private"},
        },
    )
    assert (
        client.post(
            "/api/v1/certifications",
            headers=operator,
            json={
                "uploader_id": uploader,
                "repo_id": repo,
                "revision": sha,
                "signed_name": "Erin E",
                "statements": [{"id": "no-csam-training-data", "version": 1, "accepted": True}],
            },
        ).status_code
        == 201
    )


def test_making_a_checked_private_repo_public_is_checked_again(
    client, runtime, fake_hub, api_headers
):
    _configure(runtime, fake_hub)
    sha = fake_hub.commit("erin/vis", {"model.safetensors": b"\3" * 64})
    fake_hub.repos["erin/vis"].private = True
    _certify_private(client, api_headers("operator"), "erin", "erin/vis", sha)
    assert _post(client, _event("erin/vis", sha)).get_json()["status"] == "queued"
    run_due(runtime.engine, runtime=runtime)
    assert fake_hub.repos["erin/vis"].discussions == []

    fake_hub.repos["erin/vis"].private = False  # the uploader makes the same revision public
    response = _post(client, _config_event("erin/vis", sha, private=False))
    assert response.get_json()["status"] == "queued"
    assert (
        _post(client, _config_event("erin/vis", sha, private=False)).get_json()["status"]
        == "duplicate"
    )
    run_due(runtime.engine, runtime=runtime)
    repo = fake_hub.repos["erin/vis"]
    assert repo.private is True and len(repo.discussions) == 1
    with runtime.session() as s:
        checks = s.exec(
            select(UploadCheck)
            .where(UploadCheck.source == "huggingface_webhook")
            .order_by(UploadCheck.id)
        ).all()
        assert [(c.visibility, c.decision) for c in checks] == [
            ("private", "allow"),
            ("public", "hold"),
        ]
        assert [r["code"] for r in checks[1].reasons] == ["kyu_required", "certification_required"]

    # the uploader flips it public once more: checked (and quarantined) again, not dropped
    repo.private = False
    assert (
        _post(client, _config_event("erin/vis", sha, private=False)).get_json()["status"]
        == "queued"
    )
    run_due(runtime.engine, runtime=runtime)
    assert repo.private is True and len(repo.discussions) == 2


def test_a_receipt_for_one_revision_does_not_cover_later_changed_files(
    client, runtime, fake_hub, api_headers, tmp_path
):
    _configure(runtime, fake_hub)
    _per_revision(runtime, tmp_path)
    operator = api_headers("operator")
    first = fake_hub.commit("gus/card", {"model.safetensors": b"\4" * 64})
    fake_hub.repos["gus/card"].private = True
    client.post(
        "/api/v1/uploads/check",
        headers=operator,
        json={
            "uploader": {"id": "gus"},
            "repo": {"id": "gus/card", "revision": first, "visibility": "private"},
        },
    )
    signed = client.post(
        "/api/v1/certifications",
        headers=operator,
        json={
            "uploader_id": "gus",
            "repo_id": "gus/card",
            "revision": first,
            "signed_name": "Gus G",
            "statements": [{"id": "no-csam-training-data", "version": 1, "accepted": True}],
        },
    )
    card = "---\n" + signed.get_json()["model_card_yaml"] + "---\n# Card\n"
    # the card is added together with new weights: the receipt names `first`, whose files differ
    changed = fake_hub.commit(
        "gus/card", {"README.md": card.encode(), "model.safetensors": b"\5" * 64}
    )
    assert _post(client, _event("gus/card", changed)).status_code == 202
    run_due(runtime.engine, runtime=runtime)
    with runtime.session() as s:
        check = s.exec(select(UploadCheck).where(UploadCheck.revision == changed)).one()
        assert check.decision == "hold"
        assert [r["code"] for r in check.reasons] == ["certification_required"]


def test_quarantine_is_lifted_when_the_uploader_finishes_the_steps(
    client, runtime, fake_hub, api_headers, cli
):
    _configure(runtime, fake_hub)
    operator = api_headers("operator")
    sha = fake_hub.commit("fay/rel", {"model.safetensors": b"\6" * 64})
    repo = fake_hub.repos["fay/rel"]
    repo.gated = "auto"  # public but gated by the uploader: that is what must come back
    assert _post(client, _event("fay/rel", sha)).status_code == 202
    run_due(runtime.engine, runtime=runtime)
    assert repo.private is True and len(repo.discussions) == 1  # quarantined
    with runtime.session() as s:
        assert s.exec(select(ModelRepo)).one().status == "quarantined"

    # the uploader verifies their identity and certifies this very revision (no new push)
    from tests.uploads.conftest import KYU_FORM, png

    form = {**KYU_FORM, "id_document": (io.BytesIO(png()), "id.png")}
    assert (
        client.post(
            "/api/v1/uploaders/fay/kyu",
            data=form,
            headers=operator,
            content_type="multipart/form-data",
        ).status_code
        == 201
    )
    assert cli("kyu", "verify", "1").exit_code == 0
    assert (
        client.post(
            "/api/v1/certifications",
            headers=operator,
            json={
                "uploader_id": "fay",
                "repo_id": "fay/rel",
                "revision": sha,
                "signed_name": "Fay F",
                "statements": [
                    {"id": "no-csam-training-data", "version": 1, "accepted": True},
                    {
                        "id": "output-watermark",
                        "version": 1,
                        "accepted": True,
                        "fields": {"method": "other", "description": "a stamp"},
                    },
                ],
            },
        ).status_code
        == 201
    )
    run_due(runtime.engine, runtime=runtime)  # the re-check, then the restore it queues
    run_due(runtime.engine, runtime=runtime)
    assert repo.private is False and repo.gated == "auto"  # as the uploader had it, not more public
    assert len(repo.discussions) == 2 and "passes" in repo.discussions[1]["description"]
    with runtime.session() as s:
        assert s.exec(select(ModelRepo)).one().status == "active"
        checks = s.exec(
            select(UploadCheck).where(UploadCheck.source == "huggingface_webhook")
        ).all()
        assert [(c.visibility, c.decision) for c in checks] == [("gated", "allow")]
        from hostguard.jobs.models import Job

        restore = [
            j
            for j in s.exec(select(Job).where(Job.kind == "platform.action")).all()
            if j.payload["kind"] == "restore"
        ]
        assert len(restore) == 1
        assert restore[0].payload["extra"]["prior"] == {"private": False, "gated": "auto"}


def test_a_passing_older_revision_does_not_lift_a_quarantine_the_head_needs(
    client, runtime, fake_hub, api_headers, cli, tmp_path
):
    """Only a pass of what the repo serves now lifts the quarantine (replays, old re-checks do not)."""
    _per_revision(runtime, tmp_path)
    from tests.uploads.conftest import KYU_FORM, png

    _configure(runtime, fake_hub)
    operator = api_headers("operator")
    older = fake_hub.commit("gus/two", {"model.safetensors": b"\1" * 64})
    head = fake_hub.commit("gus/two", {"model.safetensors": b"\2" * 64})
    assert _post(client, _event("gus/two", head)).status_code == 202
    run_due(runtime.engine, runtime=runtime)
    repo = fake_hub.repos["gus/two"]
    assert repo.private is True  # the head is quarantined
    form = {**KYU_FORM, "id_document": (io.BytesIO(png()), "id.png")}
    assert (
        client.post(
            "/api/v1/uploaders/gus/kyu",
            data=form,
            headers=operator,
            content_type="multipart/form-data",
        ).status_code
        == 201
    )
    assert cli("kyu", "verify", "1").exit_code == 0
    statements = [
        {"id": "no-csam-training-data", "version": 1, "accepted": True},
        {
            "id": "output-watermark",
            "version": 1,
            "accepted": True,
            "fields": {"method": "other", "description": "a stamp"},
        },
    ]
    assert (
        client.post(
            "/api/v1/certifications",
            headers=operator,
            json={
                "uploader_id": "gus",
                "repo_id": "gus/two",
                "revision": older,
                "signed_name": "Gus G",
                "statements": statements,
            },
        ).status_code
        == 201
    )
    assert _post(client, _event("gus/two", older, webhook_id="wh-replay")).status_code == 202
    run_due(runtime.engine, runtime=runtime)
    run_due(runtime.engine, runtime=runtime)
    with runtime.session() as s:
        checks = {
            c.revision: c.decision
            for c in s.exec(select(UploadCheck).where(UploadCheck.source == "huggingface_webhook"))
        }
        assert checks[older] == "allow"  # the older revision passes ...
        assert s.exec(select(ModelRepo)).one().status == "quarantined"
    assert repo.private is True  # ... but the head it serves still needs the steps

    assert (
        client.post(
            "/api/v1/certifications",
            headers=operator,
            json={
                "uploader_id": "gus",
                "repo_id": "gus/two",
                "revision": head,
                "signed_name": "Gus G",
                "statements": statements,
            },
        ).status_code
        == 201
    )
    run_due(runtime.engine, runtime=runtime)
    run_due(runtime.engine, runtime=runtime)
    assert repo.private is False  # the head passes: lifted


def test_verifying_the_uploaders_identity_checks_their_held_hub_revisions_again(
    client, runtime, fake_hub, api_headers, cli
):
    """Legal verifies the KYU submission: the quarantine lifts without another push."""
    from hostguard.jobs.models import Job
    from tests.uploads.conftest import KYU_FORM, png

    _configure(runtime, fake_hub)
    operator = api_headers("operator")
    older = fake_hub.commit("hal/new", {"model.safetensors": b"\7" * 64})
    assert _post(client, _event("hal/new", older)).status_code == 202
    run_due(runtime.engine, runtime=runtime)
    latest = fake_hub.commit("hal/new", {"model.safetensors": b"\10" * 64})
    assert _post(client, _event("hal/new", latest)).status_code == 202
    # another repo of hal's, held only for a certification: verifying the identity changes nothing there
    other = fake_hub.commit("hal/private", {"model.safetensors": b"\11" * 64})
    fake_hub.repos["hal/private"].private = True
    assert _post(client, _event("hal/private", other)).status_code == 202
    run_due(runtime.engine, runtime=runtime)
    repo = fake_hub.repos["hal/new"]
    assert repo.private is True  # quarantined

    # hal certifies the latest revision and sends their identity details; legal has not looked yet
    assert (
        client.post(
            "/api/v1/certifications",
            headers=operator,
            json={
                "uploader_id": "hal",
                "repo_id": "hal/new",
                "revision": latest,
                "signed_name": "Hal H",
                "statements": [
                    {"id": "no-csam-training-data", "version": 1, "accepted": True},
                    {
                        "id": "output-watermark",
                        "version": 1,
                        "accepted": True,
                        "fields": {"method": "other", "description": "a stamp"},
                    },
                ],
            },
        ).status_code
        == 201
    )
    form = {**KYU_FORM, "id_document": (io.BytesIO(png()), "id.png")}
    assert (
        client.post(
            "/api/v1/uploaders/hal/kyu",
            data=form,
            headers=operator,
            content_type="multipart/form-data",
        ).status_code
        == 201
    )
    run_due(
        runtime.engine, runtime=runtime
    )  # the certification's re-check: still held, kyu_pending
    run_due(runtime.engine, runtime=runtime)
    assert repo.private is True
    with runtime.session() as s:
        check = s.exec(select(UploadCheck).where(UploadCheck.revision == latest)).one()
        assert [r["code"] for r in check.reasons] == ["kyu_pending"]

    assert cli("kyu", "verify", "1").exit_code == 0
    with runtime.session() as s:
        queued = [
            j.payload
            for j in s.exec(
                select(Job).where(Job.kind == "integrations.hf_check", Job.status == "queued")
            ).all()
        ]
    assert queued == [{"repo_id": "hal/new", "revision": latest}]  # the latest revision only
    run_due(runtime.engine, runtime=runtime)  # the re-check, then the restore it queues
    run_due(runtime.engine, runtime=runtime)
    assert repo.private is False
    assert "passes" in repo.discussions[-1]["description"]
    assert fake_hub.repos["hal/private"].private is True
    with runtime.session() as s:
        assert (
            s.exec(select(ModelRepo).where(ModelRepo.repo_id == "hal/new")).one().status == "active"
        )
        assert (
            s.exec(select(UploadCheck).where(UploadCheck.revision == latest)).one().decision
            == "allow"
        )
    assert cli("kyu", "verify", "1").exit_code != 0  # verified once; nothing is queued twice


def test_under_the_shipped_repo_scope_a_certification_covers_later_pushes(
    client, runtime, fake_hub, api_headers
):
    """`certifications.scope: repo` (shipped): what the uploader signed for the first revision
    covers a later push to the Hub, which is allowed without a new certification."""
    _configure(runtime, fake_hub)
    assert runtime.policy.certifications.scope == "repo"
    operator = api_headers("operator")
    first = fake_hub.commit("hana/card", {"model.safetensors": b"\5" * 64})
    fake_hub.repos["hana/card"].private = True
    check = {
        "uploader": {"id": "hana"},
        "repo": {"id": "hana/card", "revision": first, "visibility": "private"},
    }
    assert (
        client.post("/api/v1/uploads/check", headers=operator, json=check).get_json()["decision"]
        == "hold"
    )
    signed = client.post(
        "/api/v1/certifications",
        headers=operator,
        json={
            "uploader_id": "hana",
            "repo_id": "hana/card",
            "revision": first,
            "signed_name": "Hana H",
            "statements": [{"id": "no-csam-training-data", "version": 1, "accepted": True}],
        },
    )
    assert signed.status_code == 201, signed.get_json()
    second = fake_hub.commit("hana/card", {"model.safetensors": b"\6" * 64})
    assert _post(client, _event("hana/card", second)).status_code == 202
    run_due(runtime.engine, runtime=runtime)
    with runtime.session() as s:
        later = s.exec(select(UploadCheck).where(UploadCheck.revision == second)).one()
        assert later.decision == "allow", later.reasons
