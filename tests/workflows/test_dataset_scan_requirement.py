"""A model whose card names a dataset (`datasets:` in its metadata) is held by the Hub check
until that dataset has a clean scan, when the policy asks for one; the reason names it."""

from __future__ import annotations

import yaml
from sqlmodel import select

import hostguard.registry  # noqa: F401  (the job handlers, as the worker has them)
from hostguard.datasets import service as dataset_scans
from hostguard.jobs.service import run_due
from hostguard.uploads.models import UploadCheck
from hostguard.workflows.dataset_scan import request_scan
from hostguard.workflows.hub import card_datasets, check_hub_revision
from tests.datasets import builders

CARD = b"---\nlicense: mit\ndatasets:\n- alice/faces\n---\n# a model\n"


def reasons_of(runtime, check_id: str) -> list[dict]:
    with runtime.session() as s:
        return s.exec(select(UploadCheck).where(UploadCheck.check_id == check_id)).one().reasons


def test_the_hub_check_holds_until_the_named_dataset_has_a_clean_scan(
    runtime,
    dataset_hub,
    tmp_path,
):
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        yaml.safe_dump(
            {
                "id": "scans",
                "version": 1,
                "dataset_scans": {"required_for": ["no-csam-training-data"], "max_age_days": 30},
            }
        )
    )
    runtime.settings.policy_file = policy
    built = builders.Built()
    builders.parquet_binary(tmp_path / "d.parquet", built, base=0, rows=20, listed={}, bad_row=None)
    data_rev = dataset_hub.commit_dataset(
        "alice/faces", {"data/train.parquet": (tmp_path / "d.parquet").read_bytes()}
    )
    model_rev = dataset_hub.commit("alice/model", {"README.md": CARD, "model.bin": b"w"})
    with runtime.session() as s:
        first = check_hub_revision(
            session=s, runtime=runtime, repo_id="alice/model", revision=model_rev
        )
    assert first["decision"] == "hold"
    held = {r["code"]: r["message"] for r in reasons_of(runtime, first["check_id"])}
    assert "alice/faces (not scanned)" in held["dataset_scan_missing"]
    with runtime.session() as s:
        scan = request_scan(
            session=s, actor="test", sources=[f"hf://datasets/alice/faces@{data_rev}"]
        )
        scan_id = scan.scan_id
    run_due(runtime.engine, runtime=runtime)
    with runtime.session() as s:
        assert dataset_scans.get_scan(session=s, scan_id=scan_id).status == "done"
        again = check_hub_revision(
            session=s, runtime=runtime, repo_id="alice/model", revision=model_rev
        )
    codes = [r["code"] for r in reasons_of(runtime, again["check_id"])]
    assert "dataset_scan_missing" not in codes


def test_card_datasets_reads_one_name_or_a_list():
    assert card_datasets({"datasets": "alice/faces"}) == ["alice/faces"]
    assert card_datasets({"datasets": ["a/b", "c/d"]}) == ["a/b", "c/d"]
    assert card_datasets({"license": "mit"}) == []
