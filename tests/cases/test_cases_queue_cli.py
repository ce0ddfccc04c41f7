"""`hostguard cases list` and `hostguard cases reprioritise` at the terminal."""

from datetime import timedelta

from hostguard.cases.intake import open_case
from hostguard.cases.models import Case
from hostguard.db.types import utcnow
from hostguard.platform.service import get_or_create_repo


def _open(runtime, repo_id, category, source, due_in):
    with runtime.session() as session:
        case = open_case(
            policy=runtime.policy,
            session=session,
            repo=get_or_create_repo(session, repo_id=repo_id),
            source=source,
            category=category,
            actor="test",
            kind=source,
        )
        case.deadline_at = utcnow() + due_in
        return case.id


def test_list_shows_most_urgent_first_and_flags_overdue(cli, runtime):
    low = _open(runtime, "a/ip", "intellectual_property", "notice", timedelta(days=3))
    high = _open(runtime, "a/csam", "child_sexual_abuse", "hash_match", timedelta(hours=-2))
    result = cli("cases", "list")
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert [line.split()[0] for line in lines] == [f"#{high}", f"#{low}"]
    assert lines[0].endswith("OVERDUE") and "a/csam" in lines[0]
    assert not lines[1].endswith("OVERDUE")
    overdue_only = cli("cases", "list", "--overdue")
    assert [line.split()[0] for line in overdue_only.output.strip().splitlines()] == [f"#{high}"]


def test_reprioritise_raises_waiting_cases(cli, runtime, capsys):
    case_id = _open(runtime, "a/old", "other", "notice", timedelta(hours=-30))
    with runtime.session() as session:
        case = session.get(Case, case_id)
        case.opened_at = utcnow() - timedelta(days=3)
        before = case.priority
    result = cli("cases", "reprioritise")
    assert result.exit_code == 0
    # CliRunner swaps the process-wide sys.stdout; in CI a thread left by an earlier test in
    # the same worker (not identified) has put pytest's back during this call twice, so the
    # line is looked for in both places: what is asserted is that the command says it
    printed = result.output or capsys.readouterr().out
    assert "1 case(s) re-prioritised" in printed
    with runtime.session() as session:
        assert session.get(Case, case_id).priority > before
