"""CLI: transparency report on a seeded data set, TDB export (validated), submission, demo seed."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlmodel import select

from hostguard.cases.models import Case, Decision, Notice, StatementOfReasons
from hostguard.cases.statements.transparency_database import validate_tdb_statement
from hostguard.db.types import utcnow
from hostguard.policy import load_policy


@pytest.fixture
def seeded(db, runtime, notice, people, decided, owned_repo):
    """Two public notices, one trusted-flagger notice; three decisions at known times."""
    owned_repo()
    m = people("moderator")
    _, (a,) = notice(items=["alice/face-model"], category="hate")
    _, (b,) = notice(
        items=["bob/fraud"], category="fraud", email="b@example.org", client="198.51.100.2"
    )
    _, (c,) = notice(
        items=["carol/tf"],
        category="hate",
        source="trusted_flagger",
        email=None,
        name=None,
        client=None,
    )
    decided(a, m)  # take down, illegal content
    decided(
        b,
        m,
        action="restrict",
        ground="terms_of_service",
        ground_reference="Terms §2",
        category="fraud",
    )
    decided(c, m, action="no_action", ground="terms_of_service", ground_reference="Terms §3")
    # put the times where the hand computation below expects them
    base = utcnow() - timedelta(days=1)
    for case, opened_h, decided_h in ((a, 0, 10), (b, 0, 4), (c, 0, 20)):
        row = db.get(Case, case.id)
        row.opened_at = base + timedelta(hours=opened_h)
        d = db.exec(select(Decision).where(Decision.case_id == case.id)).one()
        d.decided_at = base + timedelta(hours=decided_h)
    db.commit()
    return a, b, c


def test_transparency_report_matches_hand_figures(cli, seeded):
    result = cli("report", "transparency", "--since", "2000-01-01")
    assert result.exit_code == 0, result.output
    r = json.loads(result.output)
    assert r["notices"]["total"] == 3
    assert r["notices"]["by_source"] == {"notice": 2, "trusted_flagger": 1}
    assert r["notices"]["trusted_flagger_share"] == 0.3333
    assert r["actions"]["total"] == 2 and r["actions"]["decisions"] == 3
    assert r["actions"]["by_ground"] == {"illegal_content": 1, "terms_of_service": 1}
    assert r["actions"]["median_hours_to_action"] == 7.0  # 4 and 10 hours
    assert r["actions"]["automated_share"] == 0.0
    csv_out = cli("report", "transparency", "--since", "2000-01-01", "--format", "csv").output
    assert "notices.by_category.hate,2" in csv_out
    bad = cli("report", "transparency", "--since", "yesterday")
    assert bad.exit_code == 2 and "is not a date" in bad.stderr


def test_export_statements_is_valid_and_free_of_personal_data(cli, seeded):
    result = cli("export", "statements", "--format", "dsa-tdb")
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert len(lines) == 2  # no action has no statement
    for stmt in lines:
        assert validate_tdb_statement(stmt) == []
        blob = json.dumps(stmt).lower()
        assert "alice" not in blob and "bob" not in blob and "@example.org" not in blob
    again = [json.loads(line) for line in cli("export", "statements").output.splitlines()]
    assert [s["puid"] for s in again] == [s["puid"] for s in lines]  # stable puid
    assert cli("export", "statements", "--since", "2999-01-01").output == ""


def test_export_reads_a_batch_of_statements_in_four_queries(runtime, seeded):
    """The private names of a whole batch are read at once, not once per statement, and scrub the
    same as the statement-by-statement form does."""
    from sqlalchemy import event
    from sqlmodel import Session

    from hostguard.cases.statements.export import public_tdb, public_tdb_batch, statements

    def selects_for(batch) -> tuple[int, list[dict]]:
        seen = []

        def count(conn, cursor, statement, *args):
            seen.append(statement)

        with Session(runtime.engine) as fresh:  # nothing cached from the fixture
            rows = [fresh.get(StatementOfReasons, s.id) for s in batch]
            event.listen(runtime.engine, "before_cursor_execute", count)
            try:
                out = public_tdb_batch(fresh, runtime, rows)
            finally:
                event.remove(runtime.engine, "before_cursor_execute", count)
        return len(seen), out

    with Session(runtime.engine) as session:
        all_statements = list(statements(session))
        one_by_one = [public_tdb(session, runtime, s) for s in all_statements]
    assert len({s.case_id for s in all_statements}) == 2
    one_count, _ = selects_for(all_statements[:1])
    both_count, batched = selects_for(all_statements)
    assert one_count == both_count == 4
    assert batched == one_by_one
    assert not any("@example.org" in json.dumps(t) for t in batched)


class Receiver(BaseHTTPRequestHandler):
    """A stand-in Transparency Database on 127.0.0.1: stores by puid, fails when told to."""

    stored: dict = {}
    calls: list = []
    fail_next = 0

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Receiver.calls.append(len(body["statements"]))
        if Receiver.fail_next:
            Receiver.fail_next -= 1
            self.send_response(503)
            self.end_headers()
            return
        for s in body["statements"]:
            Receiver.stored[s["puid"]] = s
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def do_GET(self):  # noqa: N802
        puid = self.path.rsplit("/", 1)[-1]
        self.send_response(302 if puid in Receiver.stored else 404)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    Receiver.stored, Receiver.calls, Receiver.fail_next = {}, [], 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/api/v1"
    server.shutdown()


def test_submission_in_batches_is_idempotent(cli, db, runtime, people, decided, receiver):
    from hostguard.cases.intake import open_case
    from hostguard.platform.service import get_or_create_repo

    m = people("moderator")
    for i in range(5):
        case = open_case(
            policy=runtime.policy,
            session=db,
            repo=get_or_create_repo(db, repo_id=f"sub/m{i}"),
            source="own_initiative",
            category="hate",
            actor="system",
            kind="review",
        )
        db.commit()
        decided(case, m)
    first = cli("export", "statements", "--submit", receiver, "--batch-size", "2")
    assert first.exit_code == 0, first.stderr
    assert len(Receiver.stored) == 5 and max(Receiver.calls) == 2 and len(Receiver.calls) == 3
    calls = len(Receiver.calls)
    again = cli("export", "statements", "--submit", receiver)
    assert again.exit_code == 0 and "submitted 0" in again.stderr
    assert len(Receiver.calls) == calls  # nothing sent twice
    db.expire_all()
    assert all(s.submitted_at for s in db.exec(select(StatementOfReasons)))
    db.commit()


def test_submission_resumes_after_a_failure(cli, db, people, decided, receiver):
    from hostguard.cases.intake import open_case
    from hostguard.platform.service import get_or_create_repo

    m = people("moderator")
    for i in range(3):
        case = open_case(
            policy=load_policy(),
            session=db,
            repo=get_or_create_repo(db, repo_id=f"res/m{i}"),
            source="own_initiative",
            category="hate",
            actor="system",
            kind="review",
        )
        db.commit()
        decided(case, m)
    Receiver.fail_next = 1
    first = cli("export", "statements", "--submit", receiver, "--batch-size", "2")
    assert first.exit_code == 1 and "failed 2" in first.stderr and "answered 503" in first.stderr
    assert len(Receiver.stored) == 1
    second = cli("export", "statements", "--submit", receiver, "--batch-size", "2")
    assert second.exit_code == 0, second.stderr
    assert sorted(Receiver.stored) == sorted(s["puid"] for s in Receiver.stored.values())
    assert len(Receiver.stored) == 3


def test_demo_seed_fills_the_queue_once(runtime, make_user):
    from hostguard.cases import demo

    make_user("moderator")
    with runtime.session() as s:
        demo.seed(s, runtime)
    with runtime.session() as s:
        demo.seed(s, runtime)
        notices = s.exec(select(Notice)).all()
        cases = s.exec(select(Case)).all()
        assert len(notices) == 3 and len(cases) >= 6
        assert any(c.status == "appealed" for c in cases)
        assert any(c.category == "child_sexual_abuse" for c in cases)
