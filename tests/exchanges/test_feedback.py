"""A moderator marks a match wrong in one step; the exchange hears it exactly once."""

from __future__ import annotations

from sqlmodel import select

from hostguard.cases.models import Case
from hostguard.exchanges.models import ExchangeFeedback, FeedbackStatus
from hostguard.exchanges.service import deliver_feedback
from hostguard.hashing.models import EntryState, HashEntry
from hostguard.jobs.models import Job
from hostguard.jobs.service import run_due
from tests.exchanges.fakes import FakeStopNCII
from tests.exchanges.test_exchanges import add_stopncii


def _published_model_listed_by_stopncii(client, api_headers, runtime, cli, server):
    from hostguard.hashing.service import scan_images
    from tests.uploads.conftest import check_body
    from tests.uploads.test_check_api import certify_all, textured_png

    operator = api_headers("operator")
    image = textured_png(71)
    certify_all(client, operator)
    body = check_body(visibility="private", images=[("samples/a.png", image)])
    assert client.post("/api/v1/uploads/check", json=body, headers=operator).status_code == 200
    with runtime.session() as s:
        pdq = scan_images(session=s, runtime=runtime, images=[("a.png", image)])[0].hashes["pdq"]
    server.put(pdq)
    add_stopncii(cli, server)
    assert cli("exchange", "fetch", "stopncii").exit_code == 0
    run_due(runtime.engine, runtime=runtime)  # the re-match opens the case
    with runtime.session() as s:
        (case,) = s.exec(select(Case).where(Case.source == "retroactive_match")).all()
        return case.id, pdq


def _run_feedback_now(runtime) -> None:
    """Make a feedback job that waits for its back-off due now, and run the due jobs."""
    with runtime.session() as s:
        for job in s.exec(select(Job).where(Job.kind == "exchanges.feedback")).all():
            if job.status == "queued":
                job.run_at = job.created_at
                s.add(job)
    run_due(runtime.engine, runtime=runtime)


def test_marking_a_match_wrong_suppresses_and_sends_feedback_exactly_once(
    client, api_headers, runtime, cli, make_user
):
    with FakeStopNCII() as server:
        case_id, pdq = _published_model_listed_by_stopncii(
            client, api_headers, runtime, cli, server
        )
        user, _ = make_user("moderator")
        moderator = api_headers("moderator", user)
        refused = client.post(
            f"/api/v1/cases/{case_id}/wrong-match", json={"reason": " "}, headers=moderator
        )
        assert refused.status_code == 422
        server.faults.statuses = [500, 503]  # the exchange fails twice, then accepts
        done = client.post(
            f"/api/v1/cases/{case_id}/wrong-match",
            json={"reason": "a landscape photo, not NCII"},
            headers=moderator,
        )
        assert done.status_code == 200, done.get_json()
        assert done.get_json() == {
            "case_id": case_id,
            "lists": ["stopncii"],
            "suppressed": 1,
            "feedback_queued": 1,
        }
        with runtime.session() as s:
            assert s.exec(select(HashEntry)).one().state == EntryState.SUPPRESSED
        for _ in range(4):
            _run_feedback_now(runtime)
        assert len(server.feedback) == 1
        (sent,) = server.feedback
        assert sent["hashFeedbacks"][0]["hashValue"] == pdq
        assert sent["hashFeedbacks"][0]["feedbackValue"] == "NotBlocked"
        posts = [r for r in server.requests if r[0] == "POST"]
        assert len(posts) == 3 and all(h["x-functions-key"] == server.FEEDBACK for _, _, h in posts)

        # marking it wrong again, or the job running again, sends nothing more
        again = client.post(
            f"/api/v1/cases/{case_id}/wrong-match", json={"reason": "again"}, headers=moderator
        )
        assert again.status_code == 200 and again.get_json()["feedback_queued"] == 0
        with runtime.session() as s:
            feedback = s.exec(select(ExchangeFeedback)).one()
            assert feedback.status == FeedbackStatus.SENT
            assert deliver_feedback(session=s, runtime=runtime, feedback_id=feedback.id) is False
        _run_feedback_now(runtime)
        assert len(server.feedback) == 1


def test_the_console_button_marks_the_match_wrong(
    client, api_headers, runtime, cli, login, csrf_token
):
    with FakeStopNCII() as server:
        case_id, _ = _published_model_listed_by_stopncii(client, api_headers, runtime, cli, server)
        login(client, "moderator")
        page = client.get(f"/console/cases/{case_id}").get_data(as_text=True)
        assert "Mark match wrong" in page
        response = client.post(
            f"/console/cases/{case_id}/wrong-match",
            data={
                "reason": "not NCII",
                "csrf_token": csrf_token(client, f"/console/cases/{case_id}"),
            },
            follow_redirects=True,
        )
        assert "The match is marked wrong" in response.get_data(as_text=True)
        with runtime.session() as s:
            assert s.exec(select(HashEntry)).one().state == EntryState.SUPPRESSED
            assert s.exec(select(ExchangeFeedback)).one().status == FeedbackStatus.QUEUED
