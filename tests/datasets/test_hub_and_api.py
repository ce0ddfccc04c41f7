"""Hub dataset repositories (the real `huggingface_hub` client against the fake Hub):
scanned from the command line and through the API's job, a case for the dataset repository
when images match, and a scan whose worker died resumed from the shards it had kept."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlmodel import select

import hostguard.registry  # noqa: F401  (the job handlers, as the worker has them)
from hostguard.cases.models import Case, CaseEvidence
from hostguard.datasets import service as scans
from hostguard.datasets.sources import file_sha256
from hostguard.jobs.models import Job
from hostguard.jobs.service import claim, run_due
from hostguard.platform.models import ModelRepo
from hostguard.workflows.dataset_scan import SCAN_JOB
from tests.conftest import cli_env
from tests.datasets import builders

REPO = "alice/faces"


def publish(dataset_hub, tmp_path) -> tuple[str, builders.Built]:
    """A dataset repo of two parquet shards (Image feature), one listed picture in each."""
    built = builders.Built()
    files = {"README.md": b"---\nlicense: mit\n---\n# faces\n"}
    for n, listed in enumerate(({17: 910_001}, {40: 910_002})):
        path = tmp_path / f"train-{n:05d}.parquet"
        builders.parquet_image_feature(
            path, built, base=n * 500, rows=60, listed=listed, bad_row=None, row_group=25
        )
        files[f"data/train-{n:05d}-of-00002.parquet"] = path.read_bytes()
    return dataset_hub.commit_dataset(REPO, files), built


def import_listed(runtime, built, category: str = "csam", action: str = "block") -> None:
    from hostguard.hashing import service as hashing

    with runtime.session() as session:
        hashing.import_list(
            session=session,
            actor="test",
            name="known",
            algorithm="pdq",
            category=category,
            action=action,
            data="\n".join(builders.listed_hash(s) for s in built.listed_seeds),
        )


def test_hub_dataset_at_a_revision_from_the_command_line(runtime, dataset_hub, tmp_path):
    from hostguard.cli import main

    oid, built = publish(dataset_hub, tmp_path)
    import_listed(runtime, built)
    env = {**cli_env(runtime), "HOSTGUARD_HF_ENDPOINT": dataset_hub.url}
    result = CliRunner().invoke(
        main,
        ["dataset", "scan", "--json", "--workers", "1", f"hf://datasets/{REPO}@{oid}"],
        env=env,
        catch_exceptions=False,
    )
    assert result.exit_code == 1, result.output
    summary = json.loads(result.stdout)
    assert summary["images"] == 120
    assert {(m["source"], m["row"], m["key"]) for m in summary["matches"]} == {
        (f"{REPO}@{oid}/data/train-00000-of-00002.parquet", 17, "img_17.png"),
        (f"{REPO}@{oid}/data/train-00001-of-00002.parquet", 40, "img_540.png"),
    }
    dataset = summary["attestation"]["attestation"]["dataset"]
    assert (dataset["repo"], dataset["revision"], dataset["shards"]) == (REPO, oid, 2)
    assert any(r.startswith(f"GET /datasets/{REPO}/resolve/{oid}/") for r in dataset_hub.requests)
    with runtime.session() as session:  # a match opens a case for the dataset repository
        repo = session.exec(select(ModelRepo).where(ModelRepo.repo_id == REPO)).one()
        assert repo.repo_type == "dataset"
        assert session.exec(select(Case).where(Case.repo_pk == repo.id)).one()


def test_api_scan_runs_as_a_job_with_progress_result_and_a_case(
    runtime, client, api_headers, dataset_hub, tmp_path
):
    oid, built = publish(dataset_hub, tmp_path)
    import_listed(runtime, built)
    headers = api_headers("operator")
    response = client.post(
        "/api/v1/datasets/scans", json={"repo": REPO, "revision": oid}, headers=headers
    )
    assert response.status_code == 202, response.get_json()
    queued = response.get_json()
    assert queued["status"] == "queued" and queued["result"] is None
    run_due(runtime.engine, runtime=runtime)  # the scan, and what its case queues
    done = client.get(f"/api/v1/datasets/scans/{queued['id']}", headers=headers).get_json()
    assert done["status"] == "done"
    assert done["progress"] == {"shards_done": 2, "shards_total": 2, "images": 120}
    assert done["revision"] == oid
    assert len(done["result"]["matches"]) == 2
    assert done["result"]["attestation"]["attestation"]["counts"]["matched"] == 2
    with runtime.session() as session:
        case = session.get(Case, done["case_id"])
        assert case is not None and case.category == "child_sexual_abuse"
        evidence = session.exec(select(CaseEvidence).where(CaseEvidence.case_id == case.id)).one()
        assert evidence.kind == "dataset_match"
        assert evidence.details["action"] == "block"
        match = evidence.details["matches"][0]
        assert set(match) == {
            "source",
            "row",
            "key",
            "list",
            "algorithm",
            "distance",
            "threshold",
            "category",
        }
        assert "bytes" not in json.dumps(evidence.details)


def platform_actions(runtime) -> list[dict]:
    with runtime.session() as session:
        jobs = session.exec(select(Job).where(Job.kind == "platform.action").order_by(Job.id))
        return [job.payload for job in jobs]


@pytest.mark.parametrize(
    ("category", "action", "kind", "status"),
    [
        ("csam", "block", "quarantine", "quarantined"),
        ("terrorism", "review", "restrict", "restricted"),  # the policy holds terrorism
    ],
)
def test_a_match_queues_the_platform_action_its_list_calls_for_on_the_dataset_repo(
    runtime, client, api_headers, dataset_hub, tmp_path, category, action, kind, status
):
    """A block hides the dataset repository (publication blocked), a hold gates it: queued
    through the platform's actioner, as a model repository's quarantine is."""
    oid, built = publish(dataset_hub, tmp_path)
    import_listed(runtime, built, category=category, action=action)
    headers = api_headers("operator")
    scan_id = client.post(
        "/api/v1/datasets/scans", json={"repo": REPO, "revision": oid}, headers=headers
    ).get_json()["id"]
    run_due(runtime.engine, runtime=runtime)
    done = client.get(f"/api/v1/datasets/scans/{scan_id}", headers=headers).get_json()
    [action] = [a for a in platform_actions(runtime) if a["kind"] == kind]
    assert (action["repo_id"], action["repo_type"], action["case_id"]) == (
        REPO,
        "dataset",
        done["case_id"],
    )
    assert action["extra"]["revision"] == oid
    assert action["result"] == {"applied": False, "actioner": "log"}  # the worker applied it
    with runtime.session() as session:
        repo = session.exec(select(ModelRepo).where(ModelRepo.repo_id == REPO)).one()
        assert repo.status == status


def test_a_clean_dataset_queues_no_platform_action(
    runtime, client, api_headers, dataset_hub, tmp_path
):
    oid, _built = publish(dataset_hub, tmp_path)
    headers = api_headers("operator")
    scan_id = client.post(
        "/api/v1/datasets/scans", json={"repo": REPO, "revision": oid}, headers=headers
    ).get_json()["id"]
    run_due(runtime.engine, runtime=runtime)
    done = client.get(f"/api/v1/datasets/scans/{scan_id}", headers=headers).get_json()
    assert done["status"] == "done" and done["case_id"] is None
    assert platform_actions(runtime) == []


def test_api_refuses_local_paths_and_needs_the_operator_scope(client, api_headers):
    operator = api_headers("operator")
    local = client.post("/api/v1/datasets/scans", json={"sources": ["/etc"]}, headers=operator)
    assert local.status_code == 422
    assert local.get_json()["error"]["code"] == "bad_source"
    empty = client.post("/api/v1/datasets/scans", json={}, headers=operator)
    assert empty.status_code == 422
    flagger = client.post(
        "/api/v1/datasets/scans", json={"repo": REPO}, headers=api_headers("trusted_flagger")
    )
    assert flagger.status_code == 403
    missing = client.get("/api/v1/datasets/scans/nope", headers=operator)
    assert missing.status_code == 404


def test_scan_whose_worker_died_resumes_from_the_shards_it_kept(
    runtime, client, api_headers, dataset_hub, tmp_path
):
    oid, built = publish(dataset_hub, tmp_path)
    import_listed(runtime, built)
    headers = api_headers("operator")
    scan_id = client.post(
        "/api/v1/datasets/scans", json={"repo": REPO, "revision": oid}, headers=headers
    ).get_json()["id"]
    # a worker took the job, kept the first shard's result, and was killed: its lease runs out
    assert claim(runtime.engine, worker="killed", kinds={SCAN_JOB}, lease=timedelta(seconds=-1))
    first = file_sha256(tmp_path / "train-00000.parquet")
    kept = {
        "source": "kept before the kill",
        "sha256": first,
        "images": 60,
        "unreadable": [],
        "matches": [],
        "error": None,
    }
    with runtime.session() as session:
        scan = scans.get_scan(session=session, scan_id=scan_id)
        scans.record_shard(session=session, scan=scan, sha256=first, result=kept)
    run_due(runtime.engine, runtime=runtime, worker="next")
    done = client.get(f"/api/v1/datasets/scans/{scan_id}", headers=headers).get_json()
    assert done["status"] == "done"
    assert done["progress"]["shards_done"] == 2
    # the first shard was not scanned again: its kept result (no match) stands
    assert [m["row"] for m in done["result"]["matches"]] == [40]
    with runtime.session() as session:
        job = session.exec(select(Job).where(Job.kind == SCAN_JOB)).one()
        assert (job.status, job.attempts, job.locked_by) == ("done", 2, None)


def test_console_shows_progress_then_counts_and_matches(
    runtime, client, api_headers, login, dataset_hub, tmp_path
):
    from tests.web.test_pages_a11y import assert_accessible

    oid, built = publish(dataset_hub, tmp_path)
    import_listed(runtime, built)
    scan_id = client.post(
        "/api/v1/datasets/scans",
        json={"repo": REPO, "revision": oid},
        headers=api_headers("operator"),
    ).get_json()["id"]
    login(client, "moderator")
    queued = client.get("/console/datasets").get_data(as_text=True)
    assert 'http-equiv="refresh"' in queued  # follows a running scan by itself
    assert "not started" in queued and REPO in queued
    run_due(runtime.engine, runtime=runtime)
    listing = client.get("/console/datasets").get_data(as_text=True)
    assert_accessible(listing, "dataset scans")
    assert 'http-equiv="refresh"' not in listing
    assert '<progress max="2" value="2"' in listing
    page = client.get(f"/console/datasets/{scan_id}").get_data(as_text=True)
    assert_accessible(page, "dataset scan")
    assert 'train-00001-of-00002.parquet</td><td class="num">40</td>' in page
    assert "hostguard certification verify" in page
    assert client.get("/console/datasets/nope").status_code == 404
