"""The team dashboard's figures against a hand count of a seeded set, its page, and the page in a browser."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlmodel import Session

from hostguard.cases.dashboard import team_dashboard
from hostguard.cases.models import Appeal, Case, Decision
from hostguard.db.types import utcnow
from hostguard.platform.models import ModelRepo
from tests.web.test_pages_a11y import assert_accessible

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def seed(runtime, make_user):
    """Eleven cases whose every figure is counted by hand in the comments below."""
    alice, _ = make_user("moderator", "alice@example.org")
    bob, _ = make_user("senior_moderator", "bob@example.org")
    now = utcnow().replace(microsecond=0)
    h = lambda hours: now - timedelta(hours=hours)  # noqa: E731
    with Session(runtime.engine) as s:
        repo = ModelRepo(repo_id="acme/model")
        s.add(repo)
        s.flush()

        def add(status, category, source, opened, deadline=None, decided=None, **kw):
            c = Case(
                repo_pk=repo.id,
                status=status,
                category=category,
                source=source,
                opened_at=opened,
                deadline_at=deadline,
                decided_at=decided,
                **kw,
            )
            s.add(c)
            s.flush()
            return c

        # open queue: 3 hate (one claimed by alice, one overdue), 1 fraud overdue;
        # escalated to legal: 1 terrorism; appealed: 1 privacy
        add("open", "hate", "notice", h(10), deadline=h(-10))
        add("open", "hate", "notice", h(30), deadline=h(6), assigned_to=alice.id)  # overdue
        add("open", "hate", "trusted_flagger", h(2), deadline=h(-20))
        add("open", "fraud", "order", h(50), deadline=h(1))  # overdue
        add("escalated", "terrorism", "order", h(3), deadline=h(-1), escalated_to="legal")
        appealed = add("appealed", "privacy", "notice", h(200), deadline=h(150), decided=h(190))
        # decided in the last 30 days, hours to decision: 2, 4, 10, 20, 40 (and the appealed: 10)
        d1 = add("decided", "hate", "notice", h(100), deadline=h(76), decided=h(98))  # 2 h, within
        d2 = add("decided", "hate", "notice", h(100), deadline=h(97), decided=h(96))  # 4 h, late
        d3 = add("decided", "fraud", "trusted_flagger", h(60), deadline=h(40), decided=h(50))
        d4 = add("decided", "fraud", "order", h(60), deadline=h(59), decided=h(40))  # 20 h, late
        d5 = add("decided", "other", "own_initiative", h(100), decided=h(60))  # 40 h, no deadline
        # decided 40 days ago: outside the period
        old = add("decided", "hate", "notice", h(24 * 41), deadline=h(24 * 40), decided=h(24 * 40))

        def decide(c, user, at, actor=None):
            d = Decision(
                case_id=c.id,
                action="take_down",
                ground="illegal_content",
                ground_reference="x",
                category=c.category,
                explanation="x",
                decided_by=user.id if user else None,
                actor=actor or (f"user:{user.id}" if user else "system"),
                decided_at=at,
            )
            s.add(d)
            s.flush()
            return d

        # alice 3, bob 2, the automatic rule 1 in the period; bob once more outside it
        decisions = [
            decide(d1, alice, h(98)),
            decide(d2, alice, h(96)),
            decide(d3, bob, h(50)),
            decide(d4, bob, h(40)),
            decide(d5, None, h(60), actor="rule:hash-match"),
            decide(appealed, alice, h(190)),
            decide(old, bob, h(24 * 40)),
        ]
        # appeals decided in the period: 3, one overturned; one still open; one decided long ago
        for outcome, decided_at in (
            ("upheld", h(20)),
            ("overturned", h(10)),
            ("upheld", h(5)),
            (None, None),
            ("overturned", h(24 * 45)),
        ):
            s.add(
                Appeal(
                    case_id=appealed.id,
                    decision_id=decisions[-2].id,
                    appellant="uploader",
                    reason="r",
                    status="decided" if outcome else "open",
                    outcome=outcome,
                    decided_at=decided_at,
                    actor="uploader",
                )
            )
        s.commit()
    return now


def test_figures_match_a_hand_count(runtime, make_user):
    now = seed(runtime, make_user)
    with Session(runtime.engine) as s:
        board = team_dashboard(s, until=now + timedelta(seconds=1), days=30)

    assert board.depth_by_queue() == {
        "open": 4,
        "escalated to legal": 1,
        "appealed": 1,
    }
    assert board.depth_by_category() == {"hate": 3, "fraud": 1, "privacy": 1, "terrorism": 1}
    hate = next(r for r in board.depth if r.queue == "open" and r.category == "hate")
    assert (hate.cases, hate.unassigned) == (3, 2)
    assert board.open_cases == 6
    # overdue: the claimed hate notice, the fraud order and the appealed privacy case
    assert board.overdue == {"hate": 1, "fraud": 1, "privacy": 1}
    assert board.overdue_now == 3

    by_source = {r.source: (r.decided, r.within) for r in board.deadlines}
    # notice: d1 within, d2 late, the appealed case (decided 190 h ago, deadline 150 h ago) within
    assert by_source["notice"] == (3, 2)
    assert by_source["trusted_flagger"] == (1, 1)
    assert by_source["order"] == (1, 0)
    assert "own_initiative" not in by_source  # no deadline
    assert [r.source for r in board.deadlines][:3] == ["notice", "trusted_flagger", "order"]

    # hours to decision of the six decided in the period: 2, 4, 10, 10, 20, 40
    assert board.decided == 6
    assert board.median_hours == pytest.approx(10, abs=0.01)  # 3rd of 6
    assert board.p90_hours == pytest.approx(40, abs=0.01)  # 6th of 6 (ceil 5.4)

    assert [(m.moderator, m.decisions) for m in board.moderators] == [
        ("alice@example.org", 3),
        ("bob@example.org", 2),
        ("rule:hash-match", 1),
    ]
    assert sum(n for _, n in board.per_day) == 6
    assert len(board.per_day) in (30, 31)

    assert (board.appeals_decided, board.appeals_overturned) == (3, 1)
    assert board.reversal_rate == pytest.approx(1 / 3)


def test_an_empty_database_shows_no_figures(runtime):
    with Session(runtime.engine) as s:
        board = team_dashboard(s)
    assert board.open_cases == 0 and board.decided == 0
    assert board.median_hours is None and board.reversal_rate is None
    assert [r.share for r in board.deadlines] == [None, None, None]


def test_dashboard_page_shows_tables_and_svg_charts(client, login, runtime, make_user):
    seed(runtime, make_user)
    login(client, "moderator")
    html = client.get("/console/dashboard").get_data(as_text=True)
    assert '<svg class="chart bar-chart"' in html and '<svg class="chart line-chart"' in html
    assert '<td class="num" id="overdue-now">3</td>' in html
    assert '<td class="num" id="open-cases">6</td>' in html
    assert "33 % (1 of 3)" in html
    assert "alice@example.org" in html
    assert "<script" not in html.split("<main", 1)[1]
    assert_accessible(html, "dashboard")


def test_dashboard_needs_a_signed_in_staff_member(client):
    response = client.get("/console/dashboard")
    assert response.status_code == 302 and "/console/login" in response.headers["Location"]


@pytest.mark.browser
def test_dashboard_in_a_browser(page, live_server, runtime, make_user):
    seed(runtime, make_user)
    lead, password = make_user("senior_moderator")
    base = live_server.url
    page.goto(f"{base}/console/login")
    page.get_by_label("E-mail").fill(lead.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Dashboard").first.click()
    expect(page.get_by_role("heading", name="Team dashboard")).to_be_visible()
    expect(page.locator("#overdue-now")).to_have_text("3")
    expect(page.locator("#deadline-notice")).to_contain_text("67 %")
    expect(page.get_by_role("img", name="Open cases by category")).to_be_visible()
    page.get_by_label("Period", exact=True).select_option("7")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#decided")).to_have_text("5")  # the appealed case was decided 8 days ago
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "cases-dashboard.png"), full_page=True)
