"""A quarantine from the Hub webhook ends when the case is decided with no action: the repo gets its settings back.

The real `huggingface_hub` client against the fake Hub on 127.0.0.1; the webhook, the decision and the
periodic release run as in production (the worker's job queue).
"""

from __future__ import annotations

from sqlmodel import select

import hostguard.registry  # noqa: F401  (registers every job handler and periodic task)
from hostguard.audit.models import AuditRecord
from hostguard.cases.claims import claim_case
from hostguard.cases.decisions import DecisionInput
from hostguard.cases.jobs import release_quarantines
from hostguard.cases.models import Case
from hostguard.jobs.models import Job
from hostguard.jobs.periodic import schedule_due
from hostguard.jobs.service import run_due
from hostguard.platform.models import ModelRepo
from hostguard.workflows.decisions import decide

SECRET = "hub-webhook-secret-release"
RELEASE = {"periodic.cases.release_quarantines", "platform.action"}


def _event(repo: str, sha: str) -> dict:
    return {
        "event": {"action": "update", "scope": "repo.content"},
        "repo": {
            "type": "model",
            "name": repo,
            "id": "abc",
            "private": False,
            "headSha": sha,
            "owner": {"id": "own-1"},
        },
        "updatedRefs": [{"ref": "refs/heads/main", "oldSha": None, "newSha": sha}],
        "webhook": {"id": "wh-release", "version": 3},
    }


def _quarantine_through_the_webhook(client, runtime, fake_hub, repo_id: str, **settings):
    runtime.settings.hf_webhook_secret = SECRET
    runtime.settings.hf_endpoint = fake_hub.url
    runtime.settings.hf_token = "hf_test_token"
    runtime.settings.actioner = "huggingface"
    sha = fake_hub.commit(repo_id, {"README.md": b"# model\n", "model.safetensors": b"\0" * 64})
    for name, value in settings.items():
        setattr(fake_hub.repos[repo_id], name, value)
    response = client.post(
        "/hooks/huggingface", json=_event(repo_id, sha), headers={"X-Webhook-Secret": SECRET}
    )
    assert response.status_code == 202
    run_due(runtime.engine, runtime=runtime)
    assert fake_hub.repos[repo_id].private is True  # quarantined (unknown uploader, public repo)
    with runtime.session() as s:
        return s.exec(
            select(Case.id)
            .join(ModelRepo, ModelRepo.id == Case.repo_pk)
            .where(ModelRepo.repo_id == repo_id)
        ).one()


def _decide(runtime, make_user, case_id: int, **decision):
    user, _ = make_user("moderator")
    with runtime.session() as s:
        claim_case(session=s, case_id=case_id, user=user, actor=user.actor, policy=runtime.policy)
        decide(
            policy=runtime.policy,
            session=s,
            runtime=runtime,
            case_id=case_id,
            user=user,
            actor=user.actor,
            data=DecisionInput(
                **{
                    "ground": "terms_of_service",
                    "ground_reference": "Terms §3",
                    "category": "other",
                    "explanation": "Reviewed.",
                    **decision,
                }
            ),
        )


def _release(runtime):
    schedule_due(runtime.engine)
    run_due(runtime.engine, runtime=runtime, kinds=RELEASE)


def test_no_action_lifts_the_quarantine_back_to_the_settings_before(
    client, runtime, fake_hub, make_user
):
    case_id = _quarantine_through_the_webhook(client, runtime, fake_hub, "hana/model", gated="auto")
    repo = fake_hub.repos["hana/model"]
    assert repo.gated == "auto"
    _decide(runtime, make_user, case_id, action="no_action")
    with (
        runtime.session() as s
    ):  # the decision itself lifts it, without waiting for the periodic task
        assert s.exec(select(ModelRepo)).one().status == "active"
        assert (
            len(
                s.exec(
                    select(Job).where(Job.dedupe_key.like(f"case:{case_id}:decision:%:restore"))
                ).all()
            )
            == 1
        )
    _release(runtime)
    assert repo.private is False and repo.gated == "auto"  # as the uploader had it
    with runtime.session() as s:
        assert s.exec(select(ModelRepo)).one().status == "active"
        (restore,) = s.exec(
            select(Job)
            .where(Job.kind == "platform.action")
            .where(Job.dedupe_key.like(f"case:{case_id}:decision:%:restore"))
        ).all()
        assert restore.status == "done" and restore.payload["result"]["restored"] == {
            "private": False,
            "gated": "auto",
        }
        audit = s.exec(
            select(AuditRecord).where(AuditRecord.action == "repo.quarantine_release")
        ).one()
        assert audit.subject == "repo:hana/model" and audit.details["case"] == case_id
    _release(runtime)  # nothing left to release: no second restore
    with runtime.session() as s:
        assert len(s.exec(select(Job).where(Job.dedupe_key.like("%:restore"))).all()) == 1


def test_a_restriction_or_a_newer_open_case_keeps_the_quarantine(
    client, runtime, fake_hub, make_user
):
    case_id = _quarantine_through_the_webhook(client, runtime, fake_hub, "ivan/model")
    _decide(runtime, make_user, case_id, action="restrict", restrict_mode="gate")
    _release(runtime)
    repo = fake_hub.repos["ivan/model"]
    assert (
        repo.gated == "manual" and repo.private is False
    )  # the restriction replaced the quarantine
    with runtime.session() as s:
        assert not s.exec(
            select(AuditRecord).where(AuditRecord.action == "repo.quarantine_release")
        ).all()

    # an older no-action case does not release a quarantine that a newer open case holds
    case_id = _quarantine_through_the_webhook(client, runtime, fake_hub, "judy/model")
    _decide(runtime, make_user, case_id, action="no_action")
    _release(runtime)  # the decision itself lifted this quarantine
    assert fake_hub.repos["judy/model"].private is False
    with runtime.session() as s:
        repo_row = s.exec(select(ModelRepo).where(ModelRepo.repo_id == "judy/model")).one()
        repo_row.status = "quarantined"  # a later revision failed its check ...
        s.add(
            Case(repo_pk=repo_row.id, category="other", source="upload_check")
        )  # ... and opened a case
    fake_hub.repos["judy/model"].private = True  # ... and was quarantined on the Hub
    _release(runtime)
    assert fake_hub.repos["judy/model"].private is True


def test_the_backstop_leaves_a_quarantine_alone_while_its_case_is_under_appeal(
    client, runtime, fake_hub, make_user
):
    """An appealed case is open: a failed revision's evidence may have joined it, with its quarantine."""
    case_id = _quarantine_through_the_webhook(client, runtime, fake_hub, "kim/model")
    _decide(runtime, make_user, case_id, action="no_action")
    _release(runtime)
    assert fake_hub.repos["kim/model"].private is False
    with runtime.session() as s:
        s.get(Case, case_id).status = "appealed"  # a notifier appealed the no-action decision ...
        s.exec(
            select(ModelRepo).where(ModelRepo.repo_id == "kim/model")
        ).one().status = "quarantined"
    fake_hub.repos[
        "kim/model"
    ].private = True  # ... and a later revision failed its check meanwhile
    with (
        runtime.session() as s
    ):  # the backstop's next run (called directly: its period has not passed)
        assert release_quarantines(session=s, runtime=runtime) == 0
    run_due(runtime.engine, runtime=runtime, kinds=RELEASE)
    assert fake_hub.repos["kim/model"].private is True
    with runtime.session() as s:
        assert (
            s.exec(select(ModelRepo).where(ModelRepo.repo_id == "kim/model")).one().status
            == "quarantined"
        )
