"""Statement-of-reasons text and notification messages carry what the DSA asks for."""

from __future__ import annotations

from datetime import UTC, date, datetime

from hostguard.cases import messages
from hostguard.cases.statements.reasons import ReasonsFacts, statement_of_reasons_text

DECIDED = datetime(2026, 1, 10, 12, 30, tzinfo=UTC)


def reasons(**overrides) -> str:
    base = dict(
        case_id=9,
        repo_id="alice/face-model",
        action="take_down",
        ground="illegal_content",
        ground_reference="StGB § 184b",
        explanation="The sample images show abuse.",
        category_label="Child sexual abuse material",
        source="notice",
        decided_at=DECIDED,
        appeal_until=datetime(2026, 7, 10, tzinfo=UTC),
        appeal_url="https://hub.example/portal/appeal?token=t",
    )
    base.update(overrides)
    return statement_of_reasons_text(ReasonsFacts(**base))


def test_statement_of_reasons_has_every_article_17_part():
    text = reasons()
    assert "alice/face-model" in text
    assert "Removal of the model repository" in text  # type of measure
    assert "Territorial scope: worldwide" in text and "Duration: indefinite" in text
    assert "Article 16" in text  # came from a notice
    assert "not detected by automated means" in text and "taken by a person" in text
    assert "Legal ground relied on: StGB § 184b" in text
    assert "Why the content is illegal on that ground: The sample images show abuse." in text
    assert (
        "appeal this decision until 10 July 2026 at https://hub.example/portal/appeal?token=t"
        in text
    )
    assert "out-of-court dispute settlement" in text and "court" in text


def test_statement_of_reasons_variants():
    tos = reasons(
        ground="terms_of_service",
        ground_reference="Terms §4.2",
        source="hash_match",
        automated_detection=True,
        action="restrict",
        restrict_mode="label",
        territorial_scope=("DE", "FR"),
        end_date=date(2026, 3, 1),
    )
    assert "incompatible with our terms of service. Clause relied on: Terms §4.2" in tos
    assert "own initiative" in tos and "hash list" in tos
    assert "Automated means were used to detect the content" in tos
    assert "labelled" in tos and "DE, FR" in tos and "until 01 March 2026" in tos
    order = reasons(source="order", authority="Arcom")
    assert "order from a competent authority" in order and "Arcom" in order


def test_notifier_messages():
    receipt = messages.notice_receipt(
        notice_id=5, items=["a/b", "c/d"], category_label="Hate", received_at=DECIDED
    )
    assert "notice 5" in receipt.subject and "- a/b\n- c/d" in receipt.body
    decision = messages.notifier_decision(
        notice_id=5,
        repo_id="a/b",
        action="no_action",
        restrict_mode=None,
        ground_reference="Terms §1",
        explanation="Satire, allowed.",
        automated=False,
        appeal_until=datetime(2026, 7, 10, tzinfo=UTC),
        appeal_url="https://x/appeal",
    )
    assert "decided not to take action" in decision.body
    assert "Satire, allowed." in decision.body
    assert "appeal this decision until 10 July 2026" in decision.body and "court" in decision.body


def test_uploader_appeal_and_authority_messages():
    msg = messages.uploader_statement(repo_id="a/b", statement_text=reasons())
    assert msg.kind == "uploader_statement" and "Statement of reasons" in msg.body
    outcome = messages.appeal_outcome(
        appeal_id=3, repo_id="a/b", overturned=True, explanation="Misread."
    )
    assert "reversed the original decision" in outcome.body
    kept = messages.appeal_outcome(
        appeal_id=3, repo_id="a/b", overturned=False, explanation="Right."
    )
    assert "kept the original decision" in kept.body
    fb = messages.order_feedback(
        authority="Arcom",
        reference="ORD-1",
        items=["a/b"],
        acknowledged_at=DECIDED,
        effect_at=DECIDED,
        action="take_down",
    )
    assert "ORD-1" in fb.subject and "acknowledged: 10 January 2026 12:30 UTC" in fb.body
    assert "Effect was given on 10 January 2026 12:30 UTC" in fb.body
    pending = messages.order_feedback(
        authority="Arcom",
        reference="ORD-1",
        items=["a/b"],
        acknowledged_at=None,
        effect_at=None,
        action=None,
    )
    assert "not yet acknowledged" in pending.body and "not yet been given" in pending.body
