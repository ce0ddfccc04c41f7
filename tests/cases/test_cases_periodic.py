"""Periodic case work: deadline alerts reach the platform once per deadline; the queue is re-ranked."""

from datetime import timedelta

from sqlmodel import select

import hostguard.jobs.registry  # noqa: F401  (registers handlers and periodic tasks)
from hostguard.audit.models import AuditRecord
from hostguard.cases.jobs import deadline_alerts
from hostguard.cases.service import open_case
from hostguard.db.types import utcnow
from hostguard.integrations.models import WebhookDelivery
from hostguard.ops.periodic import PERIODIC
from hostguard.platform.service import get_or_create_repo


def _case(runtime, repo_id, due_in):
    with runtime.session() as session:
        repo = get_or_create_repo(session, repo_id=repo_id)
        case = open_case(session=session, repo=repo, source="notice", category="fraud",
                         actor="test", kind="notice")
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
        events = session.exec(select(WebhookDelivery).where(WebhookDelivery.event == "case.deadline")).all()
        assert sorted((e.payload["case_id"], e.payload["overdue"]) for e in events) == [
            (overdue, True), (soon, False)]
        # a moved deadline alerts again
        from hostguard.cases.models import Case

        session.get(Case, soon).deadline_at = utcnow() + timedelta(minutes=10)
    with runtime.session() as session:
        assert deadline_alerts(session=session, runtime=runtime) == 1
        alerts = session.exec(select(AuditRecord).where(AuditRecord.action == "case.deadline_alert")).all()
        assert len(alerts) == 3


def test_case_work_is_scheduled():
    assert PERIODIC["cases.deadline_alerts"].every == timedelta(minutes=15)
    assert PERIODIC["cases.reprioritise"].every == timedelta(hours=1)
