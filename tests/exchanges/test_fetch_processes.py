"""Real processes fetching one exchange: a manual fetch and the worker exclude each other, a
worker killed mid-fetch is replaced without losing or doubling an update, and feedback from a
worker killed between the exchange's acceptance and its own commit is held by the exchange once
(StopNCII and NCMEC)."""

from __future__ import annotations

import json
import signal
import subprocess
import time

from sqlmodel import select

from hostguard.audit.models import AuditRecord
from hostguard.exchanges.models import Exchange, ExchangeFeedback, ExchangeRecord, FeedbackStatus
from hostguard.exchanges.service import FETCH_JOB, enqueue_fetch, queue_feedback
from hostguard.jobs.models import Job, JobStatus
from tests.exchanges.fakes import FakeNCMEC, FakeStopNCII
from tests.exchanges.test_exchanges import GROUP, add_stopncii, entries, hashes
from tests.ops.helpers import HOSTGUARD, ROOT, process_env, start, stop, wait_for

WORKER_ENV = {
    "HOSTGUARD_JOB_LEASE_SECONDS": "2",
    "HOSTGUARD_WORKER_POLL_SECONDS": "0.1",
    "HOSTGUARD_WORKER_CONCURRENCY": "1",
    "HOSTGUARD_EXCHANGE_GROUP_RECORDS": str(GROUP),
}


def _fetch_jobs(runtime) -> list[Job]:
    with runtime.session() as s:
        return list(s.exec(select(Job).where(Job.kind == FETCH_JOB).order_by(Job.id)).all())


def _exchange(runtime) -> Exchange:
    with runtime.session() as s:
        return s.exec(select(Exchange)).one()


def test_a_manual_fetch_and_the_worker_exclude_each_other(
    runtime, cli, client, api_headers, tmp_path
):
    values = hashes(6, 21)
    with FakeStopNCII(page_size=2) as server:
        for value in values:
            server.put(value)
        add_stopncii(cli, server)
        server.faults.hold_page = 2  # the first fetch holds the lease while it waits
        env = process_env(runtime, **WORKER_ENV)
        first = start(["exchange", "fetch", "stopncii"], env, tmp_path / "first.log")
        worker = None
        try:
            wait_for(
                server.faults.held.is_set, what="the first fetch to ask for page 2", timeout=120
            )
            assert _exchange(runtime).fetch_holder
            asked = len(server.requests)
            # a second `hostguard exchange fetch`: one line, exit code 75, nothing fetched
            second = subprocess.run(
                [*HOSTGUARD, "exchange", "fetch", "stopncii"],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert second.returncode == 75, second.stderr
            assert second.stdout == "" and len(second.stderr.strip().splitlines()) == 1
            assert "a fetch is already running" in second.stderr
            # the API answers 409
            answer = client.post(
                "/api/v1/exchanges/stopncii/fetch", headers=api_headers("operator")
            )
            assert answer.status_code == 409
            assert answer.get_json()["error"]["code"] == "fetch_running"
            # the worker's fetch of the same exchange: skipped, nothing fetched
            with runtime.session() as s:
                enqueue_fetch(session=s, name="stopncii", manual=True)
            worker = start(["worker"], env, tmp_path / "worker.log")
            wait_for(
                lambda: _fetch_jobs(runtime)[-1].status == JobStatus.DONE,
                what="the worker's fetch job to end",
                timeout=120,
            )
            assert len(server.requests) == asked
            assert "a fetch is already running" in (tmp_path / "worker.log").read_text()
        finally:
            server.faults.hold_page = None
            server.faults.release.set()
            if worker is not None:
                stop(worker, signal.SIGKILL)
            assert first.wait(timeout=120) == 0, (tmp_path / "first.log").read_text()[-2000:]
        assert entries(runtime, "stopncii") == set(values)
        assert _exchange(runtime).fetch_holder is None  # let go at the end
        assert cli("exchange", "fetch", "stopncii").exit_code == 0  # free again


def test_a_worker_killed_mid_fetch_is_replaced_without_losing_or_doubling(runtime, cli, tmp_path):
    """Pages of half a group: the worker applies the first two (one group, with the
    checkpoint), is SIGKILLed while it waits for the third; a new worker takes the job and
    the lease over and resumes from the checkpoint."""
    page = GROUP // 2
    values = hashes(3 * page, 9)
    with FakeStopNCII(page_size=page) as server:
        for value in values:
            server.put(value)
        add_stopncii(cli, server)
        server.faults.hold_page = 3
        env = process_env(runtime, **WORKER_ENV)
        with runtime.session() as s:
            enqueue_fetch(session=s, name="stopncii", manual=True)
        log = tmp_path / "worker.log"
        worker = start(["worker"], env, log)
        try:
            wait_for(server.faults.held.is_set, what="the worker to ask for page 3", timeout=120)
            # the list is never half-applied: exactly the records up to the checkpoint
            # committed with it (the first two pages, or only the first where that one took
            # longer than GROUP_SECONDS to come on a loaded machine)
            killed = _exchange(runtime)
            upto = killed.checkpoint["update_time"]
            applied = [r["hashValue"] for r in server.records if r["lastModtimestamp"] <= upto]
            assert len(applied) in (page, 2 * page) and killed.fetch_holder
            assert entries(runtime, "stopncii") == set(applied) == set(values[: len(applied)])
            assert killed.added_total == len(applied)
            stop(worker, signal.SIGKILL)
            server.faults.hold_page = None
            server.faults.release.set()
            assert entries(runtime, "stopncii") == set(applied)
            worker = start(
                ["worker"], env, log
            )  # the job's lease runs out; the lease's holder is gone
            wait_for(
                lambda: _fetch_jobs(runtime)[-1].status == JobStatus.DONE,
                what="the new worker to finish the fetch",
                timeout=120,
            )
        finally:
            stop(worker, signal.SIGKILL)
        (job,) = _fetch_jobs(runtime)
        assert job.attempts == 2  # the same job, taken over
        assert entries(runtime, "stopncii") == set(values)
        done = _exchange(runtime)
        assert done.added_total == 3 * page and done.removed_total == 0
        assert done.fetch_holder is None and done.last_success_at is not None
        with runtime.session() as s:
            records = s.exec(select(ExchangeRecord)).all()
            assert len(records) == 3 * page == len({r.key for r in records})
            syncs = [
                r.details
                for r in s.exec(select(AuditRecord).where(AuditRecord.action == "hashlist.sync"))
            ]
        assert sum(d["added"] for d in syncs) == 3 * page  # each record added once
        assert "took over the fetch lease" in log.read_text()


def _kill_in_the_feedback_window(runtime, server, tmp_path) -> None:
    """Run a worker on the queued report; SIGKILL it once the exchange took the report and
    holds its answer (so the worker never hears it), then let a new worker finish."""
    env = process_env(runtime, **WORKER_ENV)
    log = tmp_path / "worker.log"
    server.faults.hold_feedback = True
    worker = start(["worker"], env, log)
    try:
        wait_for(server.faults.held.is_set, what="the exchange to take the report", timeout=120)
        with runtime.session() as s:
            feedback = s.exec(select(ExchangeFeedback)).one()
            assert (feedback.status, feedback.attempts) == (FeedbackStatus.SENDING, 1)
        stop(worker, signal.SIGKILL)  # before it heard the exchange's answer
        server.faults.release.set()
        assert len(server.feedback) == 1
        worker = start(["worker"], env, log)

        def sent():
            with runtime.session() as s:
                return s.exec(select(ExchangeFeedback)).one().status == FeedbackStatus.SENT

        wait_for(sent, what="the report to be sent", timeout=120)
    finally:
        stop(worker, signal.SIGKILL)
    with runtime.session() as s:
        feedback = s.exec(select(ExchangeFeedback)).one()
        assert feedback.attempts == 2 and feedback.sent_at is not None
        actions = [r.action for r in s.exec(select(AuditRecord))]
    assert actions.count("exchange.feedback_resent") == 1
    assert actions.count("exchange.feedback_sent") == 1


def test_stopncii_holds_feedback_once_from_a_worker_killed_between_send_and_commit(
    client, api_headers, runtime, cli, make_user, tmp_path
):
    """The one window left: StopNCII took the report, the worker died before recording it.
    The report was marked "sending" before the call, so the new worker knows the outcome is
    unknown and sends the same report again: the call reaches StopNCII twice, and StopNCII
    holds this platform's feedback on the hash once (one feedback per platform and hash, the
    second replacing the first), read back through python-threatexchange's own client."""
    from threatexchange.exchanges.clients.stopncii import api as stopncii_api

    from tests.exchanges.test_feedback import _published_model_listed_by_stopncii

    with FakeStopNCII() as server:
        case_id, pdq = _published_model_listed_by_stopncii(
            client, api_headers, runtime, cli, server
        )
        user, _ = make_user("moderator")
        marked = client.post(
            f"/api/v1/cases/{case_id}/wrong-match",
            json={"reason": "a landscape photo, not NCII"},
            headers=api_headers("moderator", user),
        )
        assert marked.status_code == 200 and marked.get_json()["feedback_queued"] == 1
        _kill_in_the_feedback_window(runtime, server, tmp_path)
        # delivered twice, the same report both times
        assert len(server.feedback) == 2 and server.feedback[0] == server.feedback[1]
        assert server.feedback[0]["hashFeedbacks"][0]["hashValue"] == pdq
        # held once: what any member reading the record sees
        reader = stopncii_api.StopNCIIAPI(
            server.SUBSCRIPTION, server.FETCH, base_url_override=server.url
        )
        (record,) = [
            r for page in reader.fetch_hashes_iter() for r in page.hashRecords if r.hashValue == pdq
        ]
        assert [(f.source, f.feedbackValue) for f in record.CSPFeedbacks] == [
            (server.SOURCE, stopncii_api.StopNCIICSPFeedbackValue.NotBlocked)
        ]


def test_ncmec_holds_feedback_once_from_a_worker_killed_between_send_and_commit(
    runtime, cli, tmp_path
):
    """The same window with NCMEC: the report is a PUT of this member's vote on the entry's
    fingerprint; sent again, NCMEC holds one negative vote of this member on that entry,
    read back from the entry as python-threatexchange's NCMEC client parses it."""
    from threatexchange.exchanges.clients.ncmec import hash_api as ncmec_api

    now = int(time.time())
    (value,) = hashes(1, 33)
    with FakeNCMEC() as server:
        server.put("img9", value, ts=now - 100)
        added = cli(
            "exchange",
            "add",
            "ncmec",
            "--type",
            "ncmec",
            "--base-url",
            server.url,
            "--user",
            server.USER,
            "--password",
            server.PASSWORD,
        )
        assert added.exit_code == 0, added.output
        assert json.loads(cli("exchange", "fetch", "ncmec").output)["added"] == 1
        with runtime.session() as s:
            assert queue_feedback(session=s, actor="test", list_name="ncmec", hashes=[value])
        _kill_in_the_feedback_window(runtime, server, tmp_path)
        # delivered twice, the same vote both times
        assert len(server.feedback) == 2 and server.feedback[0] == server.feedback[1]
        assert server.feedback[0][0] == "/v2/entries/42/img9/PDQ/feedback"
        # held once
        reader = ncmec_api.NCMECHashAPI(server.USER, server.PASSWORD, _Environment(server.url))
        (update,) = [
            u
            for page in reader.get_entries_iter(start_timestamp=now - 1000, end_timestamp=now + 10)
            for u in page.updates
            if u.id == "img9"
        ]
        assert [(f.feedback_type, f.member.esp_id, f.reason) for f in update.feedback["PDQ"]] == [
            (ncmec_api.FeedbackType.downvote, server.MEMBER[0], "Not CSAM")
        ]


class _Environment:
    """Stands in for an `NCMECEnvironment`: the client reads only its `.value`."""

    def __init__(self, value: str) -> None:
        self.value = value
