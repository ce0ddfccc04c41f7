"""Periodic case work: deadline alerts reach the platform once per deadline; the queue is re-ranked."""

from datetime import timedelta

import pytest
from sqlmodel import select

import hostguard.registry  # noqa: F401  (registers handlers and periodic tasks)
from hostguard.audit.models import AuditRecord
from hostguard.cases import jobs as case_jobs
from hostguard.cases.intake import open_case
from hostguard.cases.jobs import deadline_alerts
from hostguard.cases.models import Case
from hostguard.db.types import utcnow
from hostguard.jobs.periodic import PERIODIC
from hostguard.platform.models import WebhookDelivery
from hostguard.platform.service import get_or_create_repo


def _case(runtime, repo_id, due_in):
    with runtime.session() as session:
        repo = get_or_create_repo(session, repo_id=repo_id)
        case = open_case(
            policy=runtime.policy,
            session=session,
            repo=repo,
            source="notice",
            category="fraud",
            actor="test",
            kind="notice",
        )
        case.deadline_at = utcnow() + due_in
        return case.id


def test_deadline_alerts_are_sent_once_per_deadline(runtime):
    runtime.settings.webhook_url = "http://127.0.0.1:9/unused"
    runtime.settings.webhook_secret = "secret-for-tests"
    overdue = _case(runtime, "a/overdue", timedelta(hours=-1))
    soon = _case(runtime, "a/soon", timedelta(minutes=30))
    _case(runtime, "a/later", timedelta(days=3))
    with runtime.session() as session:
        assert deadline_alerts(session=session, runtime=runtime) == 2
    with runtime.session() as session:
        assert deadline_alerts(session=session, runtime=runtime) == 0
        events = session.exec(
            select(WebhookDelivery).where(WebhookDelivery.event == "case.deadline")
        ).all()
        assert sorted((e.payload["case_id"], e.payload["overdue"]) for e in events) == [
            (overdue, True),
            (soon, False),
        ]
        # a moved deadline alerts again
        from hostguard.cases.models import Case

        session.get(Case, soon).deadline_at = utcnow() + timedelta(minutes=10)
    with runtime.session() as session:
        assert deadline_alerts(session=session, runtime=runtime) == 1
        alerts = session.exec(
            select(AuditRecord).where(AuditRecord.action == "case.deadline_alert")
        ).all()
        assert len(alerts) == 3


def _with_webhook(runtime):
    runtime.settings.webhook_url = "http://127.0.0.1:9/unused"
    runtime.settings.webhook_secret = "secret-for-tests"


def _alerted(runtime) -> list[int]:
    with runtime.session() as session:
        events = session.exec(
            select(WebhookDelivery)
            .where(WebhookDelivery.event == "case.deadline")
            .order_by(WebhookDelivery.id)
        ).all()
        return [e.payload["case_id"] for e in events]


def test_a_backlog_of_alerted_cases_does_not_hide_new_ones(runtime, monkeypatch):
    _with_webhook(runtime)
    monkeypatch.setattr(case_jobs, "ALERT_BATCH", 2)
    backlog = [_case(runtime, f"b/old-{n}", timedelta(hours=-10 + n)) for n in range(3)]
    with runtime.session() as session:
        assert deadline_alerts(session=session, runtime=runtime) == 2
    with runtime.session() as session:
        assert deadline_alerts(session=session, runtime=runtime) == 1
    assert _alerted(runtime) == backlog  # oldest deadline first, each once

    # the three stay open and overdue; cases that fall due later are still alerted
    newer = [_case(runtime, f"b/new-{n}", timedelta(minutes=-5 + n)) for n in range(3)]
    with runtime.session() as session:
        assert deadline_alerts(session=session, runtime=runtime) == 2
    with runtime.session() as session:
        assert deadline_alerts(session=session, runtime=runtime) == 1
    with runtime.session() as session:
        assert deadline_alerts(session=session, runtime=runtime) == 0
    assert _alerted(runtime) == backlog + newer


def test_nothing_is_recorded_without_a_webhook_and_alerts_go_out_once_one_is_set(runtime):
    runtime.settings.webhook_url = None
    overdue = _case(runtime, "c/overdue", timedelta(hours=-1))
    with runtime.session() as session:
        assert deadline_alerts(session=session, runtime=runtime) == 0
        assert (
            session.exec(
                select(AuditRecord).where(AuditRecord.action == "case.deadline_alert")
            ).all()
            == []
        )
    _with_webhook(runtime)
    with runtime.session() as session:
        assert deadline_alerts(session=session, runtime=runtime) == 1
    assert _alerted(runtime) == [overdue]


@pytest.mark.parametrize("microsecond", [0, 5, 120000, 999999])
def test_the_query_recognises_the_marker_of_every_deadline(runtime, microsecond):
    """The SQL rendering of a deadline equals the `deadline <isoformat>` marker in the audit record."""
    _with_webhook(runtime)
    case_id = _case(runtime, "d/marker", timedelta(hours=-1))
    with runtime.session() as session:
        case = session.get(Case, case_id)
        case.deadline_at = case.deadline_at.replace(microsecond=microsecond)
    with runtime.session() as session:
        assert deadline_alerts(session=session, runtime=runtime) == 1
        alert = session.exec(
            select(AuditRecord).where(AuditRecord.action == "case.deadline_alert")
        ).one()
        assert alert.reason == f"deadline {session.get(Case, case_id).deadline_at.isoformat()}"
    with runtime.session() as session:
        assert deadline_alerts(session=session, runtime=runtime) == 0


def test_case_work_is_scheduled():
    assert PERIODIC["cases.deadline_alerts"].every == timedelta(minutes=15)
    assert PERIODIC["cases.reprioritise"].every == timedelta(hours=1)
