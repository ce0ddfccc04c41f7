"""The Hugging Face actioner: `restore` puts back the repo's own settings; a label restriction gates nothing.

The real `huggingface_hub` client acts on the fake Hub on 127.0.0.1, through the job queue as the worker runs it.
"""

from __future__ import annotations

import time
from datetime import timedelta

from sqlmodel import select

import hostguard.registry  # noqa: F401  (registers every job handler, as the worker does)
from hostguard.audit.service import record
from hostguard.db.types import utcnow
from hostguard.integrations.actioners import LABEL_NOTICE
from hostguard.integrations.models import HubPriorSettings
from hostguard.jobs.models import Job
from hostguard.jobs.service import run_due
from hostguard.platform.actions import PlatformAction, queue_action


def _configure(runtime, fake_hub, repo_id: str, *, private: bool = False, gated=False):
    runtime.settings.hf_endpoint = fake_hub.url
    runtime.settings.hf_token = "hf_test_token"
    runtime.settings.actioner = "huggingface"
    fake_hub.commit(repo_id, {"README.md": b"# model\n", "model.safetensors": b"\0" * 16})
    repo = fake_hub.repos[repo_id]
    repo.private, repo.gated = private, gated
    return repo


def _act(runtime, kind: str, repo_id: str, **extra) -> dict:
    with runtime.session() as s:
        job = queue_action(
            s,
            PlatformAction(
                kind=kind, repo_id=repo_id, case_id=1, message=f"{kind} notice", extra=extra
            ),
        )
        job_id = job.id
    run_due(runtime.engine, runtime=runtime)
    with runtime.session() as s:
        job = s.get(Job, job_id)
        assert job.status == "done", job.last_error
        return job.payload["result"]


def test_restore_after_a_take_down_keeps_a_private_repo_private(runtime, fake_hub):
    repo = _configure(runtime, fake_hub, "carol/secret", private=True)
    assert _act(runtime, "take_down", "carol/secret")["prior"] == {"private": True, "gated": False}
    assert repo.private is True
    result = _act(runtime, "restore", "carol/secret")
    assert result["applied"] is True and result["restored"] == {"private": True, "gated": False}
    assert repo.private is True and repo.gated is False
    with runtime.session() as s:
        (prior,) = s.exec(select(HubPriorSettings)).all()
        assert (
            prior.repo_id == "carol/secret"
            and prior.action == "take_down"
            and prior.restored_at is not None
        )


def test_restore_keeps_the_settings_from_before_the_first_action_of_the_episode(runtime, fake_hub):
    """Quarantine, then a take-down: restore goes back to before the quarantine, gating included."""
    repo = _configure(runtime, fake_hub, "dave/gated", gated="auto")
    _act(runtime, "quarantine", "dave/gated")
    assert repo.private is True and repo.gated == "auto"
    assert _act(runtime, "take_down", "dave/gated")["prior"] == {"private": False, "gated": "auto"}
    _act(runtime, "restore", "dave/gated")
    assert repo.private is False and repo.gated == "auto"
    with runtime.session() as s:
        assert len(s.exec(select(HubPriorSettings)).all()) == 1

    # a later episode records the settings as they are then (the uploader made it private meanwhile)
    repo.private, repo.gated = True, False
    assert _act(runtime, "quarantine", "dave/gated")["prior"] == {"private": True, "gated": False}
    _act(runtime, "restore", "dave/gated")
    assert repo.private is True and repo.gated is False


def test_gate_restriction_after_a_quarantine_gates_without_hiding(runtime, fake_hub):
    repo = _configure(runtime, fake_hub, "erin/public")
    _act(runtime, "quarantine", "erin/public")
    assert repo.private is True
    assert _act(runtime, "restrict", "erin/public", restrict_mode="gate")["setting"] == "gated"
    assert repo.gated == "manual" and repo.private is False
    _act(runtime, "restore", "erin/public")
    assert repo.gated is False and repo.private is False


def test_label_restriction_gates_nothing_and_puts_a_notice_on_the_repo(runtime, fake_hub):
    repo = _configure(runtime, fake_hub, "fay/labelled")
    result = _act(runtime, "restrict", "fay/labelled", restrict_mode="label")
    assert result["setting"] == "label" and result["discussion"] == 1
    assert repo.gated is False and repo.private is False
    assert repo.discussions[0]["title"].startswith("Moderation notice")
    assert (
        repo.discussions[0]["description"] == LABEL_NOTICE
    )  # public: not the statement of reasons

    # on a quarantined repo, a label decision ends the quarantine: the model stays available as it was
    repo = _configure(runtime, fake_hub, "fay/held", gated="auto")
    _act(runtime, "quarantine", "fay/held")
    assert repo.private is True
    _act(runtime, "restrict", "fay/held", restrict_mode="label")
    assert repo.private is False and repo.gated == "auto" and len(repo.discussions) == 1


def test_restore_without_recorded_settings_changes_nothing(runtime, fake_hub):
    repo = _configure(runtime, fake_hub, "gus/private", private=True, gated="manual")
    result = _act(runtime, "restore", "gus/private")
    assert result["applied"] is False and "left as it is" in result["reason"]
    assert repo.private is True and repo.gated == "manual"
    assert not any(r.startswith("PUT ") for r in fake_hub.requests)


def test_settings_the_action_carries_count_when_none_were_kept(runtime, fake_hub):
    """`extra.prior` (read before the action was queued) is kept as the "before", and used by a restore
    of a repo whose settings were never kept; a malformed one is ignored."""
    repo = _configure(runtime, fake_hub, "hal/model")
    assert _act(runtime, "quarantine", "hal/model", prior={"private": False, "gated": "manual"})[
        "prior"
    ] == {"private": False, "gated": "manual"}
    assert not any(r == "GET /api/models/hal/model" for r in fake_hub.requests)  # not read again
    _act(runtime, "restore", "hal/model")
    assert repo.private is False and repo.gated == "manual"

    repo = _configure(runtime, fake_hub, "ida/model", private=True)
    assert (
        _act(runtime, "restore", "ida/model", prior={"private": False, "gated": "auto"})["applied"]
        is True
    )
    assert repo.private is False and repo.gated == "auto"
    assert (
        _act(runtime, "restore", "ida/model", prior={"private": "no", "gated": 3})["applied"]
        is False
    )


def test_the_hub_is_changed_with_the_kept_settings_committed_and_no_transaction_open(
    runtime, fake_hub
):
    """While the Hub takes the change, another process sees the kept settings and can write."""
    _configure(runtime, fake_hub, "erin/model", gated="auto")
    seen = []

    def meanwhile(repo_id):
        started = time.monotonic()
        with runtime.session() as s:  # as a web request would, while the job waits on the Hub
            kept = s.exec(select(HubPriorSettings).where(HubPriorSettings.repo_id == repo_id)).all()
            record(s, actor="test", action="test.write", subject=repo_id)
            s.commit()
        seen.append(([(k.private, k.gated) for k in kept], time.monotonic() - started))

    fake_hub.during_settings = meanwhile
    _act(runtime, "take_down", "erin/model")
    [(kept, waited)] = seen
    assert kept == [(False, "auto")]
    assert waited < 3, f"a write waited {waited:.1f}s behind the job's call to the Hub"


def test_a_lost_hub_answer_is_retried_and_restore_still_puts_back_the_uploaders_settings(
    runtime, fake_hub
):
    """The Hub made the repo private but its answer was lost: the retry must not take
    "private" (hostguard's own change, read back from the Hub) for the uploader's setting."""
    repo = _configure(runtime, fake_hub, "fred/model")
    fake_hub.lose_settings_answers = 1
    with runtime.session() as s:
        job = queue_action(
            s, PlatformAction(kind="take_down", repo_id="fred/model", case_id=1, message="x")
        )
        job_id = job.id
    run_due(runtime.engine, runtime=runtime)
    with runtime.session() as s:
        job = s.get(Job, job_id)
        assert job.status == "queued" and job.last_error  # failed, to be retried
        job.run_at = utcnow() - timedelta(seconds=1)
        s.commit()
    assert repo.private is True  # the change was made all the same
    run_due(runtime.engine, runtime=runtime)
    with runtime.session() as s:
        job = s.get(Job, job_id)
        assert job.status == "done", job.last_error
        assert job.payload["result"]["prior"] == {"private": False, "gated": False}
        assert len(s.exec(select(HubPriorSettings)).all()) == 1
    assert _act(runtime, "restore", "fred/model")["restored"] == {"private": False, "gated": False}
    assert repo.private is False
