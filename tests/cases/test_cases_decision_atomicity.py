"""A decision is all-or-nothing: when a late step fails, nothing of it remains."""

from __future__ import annotations

import pytest
from sqlmodel import Session, func, select

import hostguard.cases.decisions as decisions
from hostguard.audit.models import AuditRecord
from hostguard.audit.service import verify
from hostguard.cases.claims import claim_case
from hostguard.cases.models import (
    AuthorityOrder,
    Case,
    Decision,
    Notice,
    Notification,
    Sanction,
    StatementOfReasons,
)
from hostguard.cases.orders import OrderInput, receive_order
from hostguard.jobs.models import Job
from hostguard.platform.models import ModelRepo, Uploader
from hostguard.workflows import decisions as decision_workflow

from .conftest import TAKE_DOWN


class LateFailure(RuntimeError):
    pass


def _fail(*_args, **_kwargs):
    raise LateFailure("the step after the platform action, statement and strike failed")


def _snapshot(runtime) -> dict:
    with Session(runtime.engine) as s:
        count = lambda model: s.exec(select(func.count()).select_from(model)).one()  # noqa: E731
        case = s.exec(select(Case)).one()
        repo = s.get(ModelRepo, case.repo_pk)
        uploader = s.get(Uploader, repo.uploader_id)
        order = s.exec(select(AuthorityOrder)).one()
        return {
            "decisions": count(Decision),
            "statements": count(StatementOfReasons),
            "jobs": count(Job),
            "notifications": count(Notification),
            "sanctions": count(Sanction),
            "audit": count(AuditRecord),
            "case": (
                case.status,
                case.assigned_to,
                case.decided_at,
                case.category,
                case.legal_hold_until,
            ),
            "repo": repo.status,
            "uploader": (uploader.strikes, uploader.status),
            "notices": sorted((n.status, n.outcome) for n in s.exec(select(Notice))),
            "order": (order.status, order.acknowledged_at, order.effect_at, order.feedback),
        }


@pytest.fixture
def claimed_case(runtime, owned_repo, notice, people):
    """A notice and an order about one uploader's model, claimed by a moderator (committed)."""
    owned_repo()
    notice()
    with runtime.session() as s:
        receive_order(
            policy=runtime.policy,
            session=s,
            runtime=runtime,
            actor="apikey:9",
            data=OrderInput(
                authority="Landesmedienanstalt",
                reference="LMA-1",
                legal_basis="JMStV § 4",
                category="hate",
                items=["alice/face-model"],
            ),
        )
    moderator = people("moderator")
    with runtime.session() as s:
        case = s.exec(select(Case)).one()
        claim_case(
            session=s, case_id=case.id, user=moderator, actor=moderator.actor, policy=runtime.policy
        )
    return case.id, moderator


@pytest.mark.parametrize(
    "step", ["add_to_reupload_list", "_notify_notifiers", "_update_orders_after_decision"]
)
def test_a_late_failure_leaves_no_trace_of_the_decision(runtime, claimed_case, monkeypatch, step):
    case_id, moderator = claimed_case
    before = _snapshot(runtime)
    assert before["case"][:2] == ("open", moderator.id)
    reached = []
    # banking the images is the workflow's step after the case decision; the others are the case's
    owner = decision_workflow if step == "add_to_reupload_list" else decisions
    real = getattr(owner, step)

    def spy_then_fail(session, *args, **kwargs):  # the earlier steps have written their rows by now
        session.flush()
        count = lambda model: session.exec(select(func.count()).select_from(model)).one()  # noqa: E731
        reached.append(
            (
                count(Decision),
                count(StatementOfReasons),
                count(Job) > before["jobs"],
                count(Notification) > before["notifications"],
            )
        )
        _fail()

    monkeypatch.setattr(owner, step, spy_then_fail)
    with pytest.raises(LateFailure), runtime.session() as s:
        decision_workflow.decide(
            policy=runtime.policy,
            session=s,
            runtime=runtime,
            case_id=case_id,
            user=moderator,
            actor=moderator.actor,
            data=decisions.DecisionInput(**TAKE_DOWN),
        )
    # the decision, its statement, the platform-action job and the uploader's notification were
    # written before the step failed
    assert reached == [(1, 1, True, True)]
    assert _snapshot(runtime) == before
    with Session(runtime.engine) as s:
        assert verify(s).ok
    monkeypatch.setattr(owner, step, real)
    with runtime.session() as s:  # the claim still holds: the same moderator decides once it works
        decision_workflow.decide(
            policy=runtime.policy,
            session=s,
            runtime=runtime,
            case_id=case_id,
            user=moderator,
            actor=moderator.actor,
            data=decisions.DecisionInput(**TAKE_DOWN),
        )
    after = _snapshot(runtime)
    assert after["decisions"] == 1 and after["statements"] == 1 and after["case"][0] == "decided"
    assert after["uploader"][0] == 1 and after["order"][0] == "effect_given"


def test_a_failure_in_the_api_request_rolls_the_decision_back(
    app, client, runtime, claimed_case, api_headers, monkeypatch
):
    case_id, moderator = claimed_case
    headers = api_headers("moderator", user=moderator)
    before = _snapshot(runtime)
    monkeypatch.setattr(decisions, "_update_orders_after_decision", _fail)
    app.config.update(PROPAGATE_EXCEPTIONS=False)
    answer = client.post(f"/api/v1/cases/{case_id}/decision", json=TAKE_DOWN, headers=headers)
    assert answer.status_code == 500
    assert _snapshot(runtime) == before
    with Session(runtime.engine) as s:
        assert verify(s).ok
