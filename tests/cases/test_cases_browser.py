"""The notice-and-action flow in a real browser: notice to decision, an authority order, an appeal."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlmodel import Session, select

from hostguard.cases.appeals import appeal_url, read_appeal_token
from hostguard.cases.claims import claim_case
from hostguard.cases.decisions import DecisionInput
from hostguard.cases.models import Notification
from hostguard.platform.service import get_or_create_repo, get_or_create_uploader
from hostguard.workflows.decisions import decide

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"cases-{name}.png"), full_page=True)


def sign_in(page, base: str, user, password: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/console/login")
    page.get_by_label("E-mail").fill(user.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(
        lambda url: url.startswith(f"{base}/console/") and "/console/login" not in url
    )


def test_public_notice_to_decided_case_with_statement_and_notifications(
    page, live_server, make_user, runtime
):
    base = live_server.url
    with runtime.session() as s:
        uploader = get_or_create_uploader(
            s, platform_id="u-7", username="pixel", email="pixel@example.org", keys=runtime.keys
        )
        get_or_create_repo(s, repo_id="pixel/portrait-xl", uploader=uploader)
    moderator, password = make_user("moderator")

    page.goto(f"{base}/notices/")
    page.get_by_label("Models (one per line").fill("https://huggingface.co/pixel/portrait-xl")
    page.get_by_label("What is wrong with it?").select_option("non_consensual_intimate_imagery")
    page.get_by_label("Why is it illegal").fill(
        "The samples are intimate deepfakes of a real person."
    )
    page.get_by_label("Name", exact=True).fill("Nora Notifier")
    page.get_by_label("E-mail", exact=True).fill("nora@example.org")
    page.get_by_role("button", name="Send notice").click()
    expect(page.locator("#form-error")).to_contain_text("good faith")  # forgot the statement
    page.get_by_label("I believe in good faith").check()
    page.get_by_role("button", name="Send notice").click()
    expect(page.get_by_role("heading", name="Notice received")).to_be_visible()
    shot(page, "1-notice-receipt")

    sign_in(page, base, moderator, password)
    page.goto(f"{base}/console/cases")
    page.get_by_role("link", name="#1").click()
    page.get_by_role("button", name="Claim (c)").click()
    expect(page.locator("body")).to_contain_text("You hold this case now")
    page.get_by_label("Action", exact=True).select_option("take_down")
    page.get_by_label("Ground", exact=True).select_option("illegal_content")
    page.get_by_label("Legal provision or terms clause").fill("StGB § 201a")
    page.get_by_label("Explanation (goes into").fill(
        "Intimate images of a real person made without consent."
    )
    page.get_by_role("button", name="Record decision").click()
    expect(page.locator("body")).to_contain_text("Decision recorded")
    expect(page.locator("#case-status")).to_have_text("decided")
    # the rest of the page may still be parsing when the status above shows: wait for the text itself
    statement = page.locator("details.statement pre")
    expect(statement).to_contain_text("Legal ground relied on: StGB § 201a", use_inner_text=True)
    expect(statement).to_contain_text("Redress", use_inner_text=True)
    notifications = page.locator("ul.notifications")
    expect(notifications).to_contain_text("notifier decision to notice", use_inner_text=True)
    expect(notifications).to_contain_text("uploader statement to uploader", use_inner_text=True)
    shot(page, "2-decided-case")


def test_authority_order_with_deadline_and_feedback(page, live_server, make_user, runtime):
    base = live_server.url
    legal, legal_pw = make_user("legal")
    moderator, _ = make_user("moderator")
    sign_in(page, base, legal, legal_pw)
    page.goto(f"{base}/console/orders")
    page.get_by_label("Issuing authority").fill("Arcom")
    page.get_by_label("Member state").fill("FR")
    page.get_by_label("Reference", exact=True).fill("ARC-2026-042")
    page.get_by_label("Legal basis").fill("Art. 9 Regulation (EU) 2022/2065; LCEN art. 6-1")
    page.get_by_label("Category", exact=True).select_option("terrorism")
    page.get_by_label("Items (one model per line)").fill("extreme/propaganda-gen")
    page.get_by_label("Territorial scope").fill("FR")
    page.get_by_label("Deadline (UTC)").fill("2030-05-01T09:30")
    page.get_by_label("Who receives feedback").fill("orders@arcom.example")
    page.get_by_role("button", name="Record order").click()
    expect(page.locator("#order-deadline")).to_contain_text("2030-05-01 09:30 UTC")
    expect(page.locator("#order-status")).to_have_text("acknowledged")
    expect(page.locator("#order-feedback")).to_contain_text(
        "not yet been given", use_inner_text=True
    )

    with Session(runtime.engine) as s:  # a moderator acts on the order's case
        claim_case(
            session=s, case_id=1, user=moderator, actor=moderator.actor, policy=runtime.policy
        )
        decide(
            policy=runtime.policy,
            session=s,
            runtime=runtime,
            case_id=1,
            user=moderator,
            actor=moderator.actor,
            data=DecisionInput(
                action="take_down",
                ground="illegal_content",
                ground_reference="Regulation (EU) 2021/784",
                category="terrorism",
                explanation="Generates terrorist propaganda, as the order states.",
            ),
        )
        s.commit()
    page.reload()
    expect(page.locator("#order-status")).to_have_text("effect given")
    feedback = page.locator("#order-feedback").inner_text()
    assert "Order ARC-2026-042 from Arcom" in feedback and "Effect was given on" in feedback
    shot(page, "3-order-feedback")


def test_appeal_that_overturns(page, live_server, make_user, runtime):
    base = live_server.url
    moderator, _ = make_user("moderator")
    senior, senior_pw = make_user("senior_moderator")
    with Session(runtime.engine) as s:
        uploader = get_or_create_uploader(
            s, platform_id="u-9", username="tinker", keys=runtime.keys
        )
        repo = get_or_create_repo(s, repo_id="tinker/anime-mix", uploader=uploader)
        from hostguard.cases.intake import open_case

        case = open_case(
            policy=runtime.policy,
            session=s,
            repo=repo,
            source="own_initiative",
            category="intellectual_property",
            actor="system",
            kind="review",
        )
        claim_case(
            session=s, case_id=case.id, user=moderator, actor=moderator.actor, policy=runtime.policy
        )
        decide(
            policy=runtime.policy,
            session=s,
            runtime=runtime,
            case_id=case.id,
            user=moderator,
            actor=moderator.actor,
            data=DecisionInput(
                action="restrict",
                restrict_mode="gate",
                ground="terms_of_service",
                ground_reference="Terms §4.2",
                category="intellectual_property",
                explanation="Reproduces protected characters.",
            ),
        )
        s.commit()
        statement = s.exec(
            select(Notification).where(Notification.kind == "uploader_statement")
        ).one()
        # the uploader got an appeal link for this case in the statement of reasons (the token
        # carries a timestamp, so compare what it says rather than its text)
        link = re.search(
            r"(http://\S+/notices/appeal\?token=[A-Za-z0-9_.-]+?)\.?(?:\s|$)", statement.body
        ).group(1)
        token = link.split("token=", 1)[1]
        assert read_appeal_token(runtime, token) == {"c": case.id, "a": "uploader", "r": "u-9"}
        assert link.startswith(
            appeal_url(runtime, case_id=case.id, appellant="uploader", ref="u-9").split("token=")[0]
        )

    page.goto(link)
    page.get_by_label("Why is the decision wrong?").fill("These are my own original designs.")
    page.get_by_role("button", name="Send appeal").click()
    expect(page.get_by_role("heading", name="Appeal received")).to_be_visible()

    sign_in(page, base, senior, senior_pw)
    page.goto(f"{base}/console/appeals")
    page.get_by_role("link", name=f"#{case.id}").click()
    page.get_by_label("Overturn").check()
    page.get_by_label("Explanation", exact=True).fill("The uploader showed the original sketches.")
    page.get_by_role("button", name="Decide appeal").click()
    expect(page.locator("body")).to_contain_text("Appeal 1 decided")
    expect(page.locator("article.decision")).to_contain_text(
        "reversed on appeal", use_inner_text=True
    )
    expect(page.locator("#appeal-1")).to_contain_text("overturned", use_inner_text=True)
    shot(page, "4-appeal-overturned")
