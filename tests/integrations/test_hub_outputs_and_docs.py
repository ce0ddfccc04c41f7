"""The Hub webhook asks the statements that apply to the model's task (its pipeline_tag) and
reads the model card the policy requires documentation from."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

import hostguard.registry  # noqa: F401  (registers every job handler, as the worker does)
from hostguard.jobs.service import run_due
from hostguard.policy import DEFAULT_POLICY_PATH
from hostguard.uploads.models import UploadCheck
from tests.integrations.test_huggingface import _configure, _event, _post


def _checked(client, runtime, fake_hub, repo: str, card: str) -> dict:
    _configure(runtime, fake_hub)
    sha = fake_hub.commit(repo, {"README.md": card.encode(), "model.safetensors": b"\0" * 64})
    assert _post(client, _event(repo, sha)).status_code == 202
    run_due(runtime.engine, runtime=runtime)
    with runtime.session() as s:
        return s.exec(select(UploadCheck).where(UploadCheck.revision == sha)).one().answer


def _owed(answer: dict) -> list[str]:
    return [
        st["id"]
        for step in answer["required_steps"]
        if step["type"] == "certification"
        for st in step["statements"]
    ]


def test_a_text_model_is_not_asked_the_watermark_statement(client, runtime, fake_hub):
    text = _checked(
        client, runtime, fake_hub, "alice/chat", "---\npipeline_tag: text-generation\n---\n# Chat\n"
    )
    assert _owed(text) == ["no-csam-training-data"]
    image = _checked(
        client, runtime, fake_hub, "alice/pixels", "---\npipeline_tag: text-to-image\n---\n# P\n"
    )
    assert _owed(image) == ["no-csam-training-data", "output-watermark"]


def test_the_hub_card_is_read_for_required_documentation(client, runtime, fake_hub, tmp_path):
    policy = (
        Path(DEFAULT_POLICY_PATH)
        .read_text()
        .replace(
            "documentation:\n  required: {}",
            "documentation:\n  required:\n    public: {metadata: [license], sections: [Limitations]}",
        )
    )
    (tmp_path / "policy.yaml").write_text(policy)
    runtime.settings.policy_file = tmp_path / "policy.yaml"
    answer = _checked(
        client, runtime, fake_hub, "alice/docs", "---\nlicense: mit\n---\n# Docs\n\n## Usage\n"
    )
    (step,) = [s for s in answer["required_steps"] if s["type"] == "documentation"]
    assert step["missing"] == ["section: Limitations"]
    assert step["url"] == f"{fake_hub.url}/alice/docs/edit/main/README.md"
    assert "documentation_required" in [r["code"] for r in answer["reasons"]]
