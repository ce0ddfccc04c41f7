"""Datasets generated once per session, and a hash list of the images hidden in them."""

from __future__ import annotations

import pytest

from hostguard.hashing import service as hashing
from tests.datasets import builders

LISTED = 900_000  # seeds of listed pictures, far from the ordinary ones


@pytest.fixture(scope="session")
def mixed_dataset(tmp_path_factory):
    """About 1,000 images: parquet (Image feature and binary), two tar shards, a folder;
    five listed pictures hidden among them and one unreadable image per shard."""
    root = tmp_path_factory.mktemp("mixed")
    built = builders.Built()
    builders.parquet_image_feature(
        root / "train-00000.parquet",
        built,
        base=0,
        rows=300,
        listed={17: LISTED + 1, 250: LISTED + 2},
        bad_row=101,
    )
    builders.parquet_binary(
        root / "extra.parquet", built, base=1000, rows=200, listed={123: LISTED + 3}, bad_row=5
    )
    builders.webdataset(
        root / "shard-000000.tar", built, base=2000, rows=200, listed={42: LISTED + 4}, bad_row=7
    )
    builders.webdataset(
        root / "shard-000001.tar", built, base=3000, rows=200, listed={}, bad_row=199
    )
    builders.folder(root / "loose", built, base=4000, count=100, listed={77: LISTED + 5}, bad=3)
    return built


@pytest.fixture
def listed(runtime, mixed_dataset):
    """The hash list (PDQ, csam) holding the hidden pictures' plain PDQ hashes."""
    with runtime.session() as session:
        hashing.import_list(
            session=session,
            actor="test",
            name="known-csam",
            data="\n".join(builders.listed_hash(s) for s in mixed_dataset.listed_seeds),
            algorithm="pdq",
            category="csam",
        )
    return mixed_dataset


@pytest.fixture
def dataset_hub(monkeypatch, runtime):
    """The fake Hub on 127.0.0.1 with the dataset-repository endpoints the real client calls
    (`dataset_info`, `hf_hub_download(repo_type="dataset")`); `commit_dataset` adds files."""
    import hashlib

    from flask import jsonify, request

    from tests.integrations.fakehub import FakeHub

    hub = FakeHub()

    def info(repo_id: str, revision: str | None):
        repo = hub.repos.get(f"datasets/{repo_id}")
        if repo is None:
            return jsonify({"error": "Repository not found"}), 404, {"X-Error-Code": "RepoNotFound"}
        oid, files = repo.files_at(revision)
        blobs = request.args.get("blobs") in ("1", "true", "True")
        siblings = []
        for path in sorted(files):
            sibling: dict = {"rfilename": path}
            if blobs:
                data = files[path]
                sibling.update(size=len(data), blobId=hashlib.sha1(data).hexdigest())
                if path.endswith((".parquet", ".tar")):  # stored in LFS on the real Hub
                    sibling["lfs"] = {
                        "sha256": hashlib.sha256(data).hexdigest(),
                        "size": len(data),
                        "pointerSize": 130,
                    }
            siblings.append(sibling)
        return jsonify(
            {
                "id": repo_id,
                "sha": oid,
                "private": False,
                "gated": False,
                "disabled": False,
                "author": repo_id.split("/")[0],
                "siblings": siblings,
                "tags": [],
                "downloads": 0,
                "likes": 0,
                "cardData": {},
            }
        )

    hub.app.add_url_rule("/api/datasets/<path:repo_id>/revision/<revision>", "dataset_rev", info)
    hub.app.add_url_rule(
        "/api/datasets/<path:repo_id>", "dataset_head", lambda repo_id: info(repo_id, None)
    )
    hub.commit_dataset = lambda repo_id, files: hub.commit(f"datasets/{repo_id}", files)
    hub.url = hub.start()
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    runtime.settings.hf_endpoint = hub.url
    yield hub
    hub.stop()
