"""Notifications to notifiers, uploaders and authorities: subject and body, nothing sent here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hostguard.cases.measures import DecisionAction
from hostguard.cases.statements.reasons import measure_text, redress_text


@dataclass(frozen=True)
class Message:
    kind: str  # notice_receipt, notifier_decision, uploader_statement, appeal_outcome, order_feedback, ...
    subject: str
    body: str


def _items(items: list[str]) -> str:
    return "\n".join(f"- {item}" for item in items)


def notice_receipt(
    *, notice_id: int, items: list[str], category_label: str, received_at: datetime
) -> Message:
    """Art. 16(4): confirm receipt without undue delay."""
    return Message(
        "notice_receipt",
        f"We received your notice {notice_id}",
        f"We received your notice {notice_id} on {received_at:%d %B %Y %H:%M} UTC about:\n"
        f"{_items(items)}\nCategory: {category_label}.\n\n"
        "We will review it and tell you our decision and how you can contest it.\n",
    )


def notifier_decision(
    *,
    notice_id: int,
    repo_id: str,
    action: str,
    restrict_mode: str | None,
    ground_reference: str,
    explanation: str,
    automated: bool,
    appeal_until: datetime | None,
    appeal_url: str | None,
) -> Message:
    """Art. 16(5): the decision on the notice, whether automated means were used, and redress."""
    if DecisionAction(action) == DecisionAction.NO_ACTION:
        outcome = "We decided not to take action against this model."
    else:
        outcome = f"We acted against this model. {measure_text(action, restrict_mode)}"
    return Message(
        "notifier_decision",
        f"Decision on your notice {notice_id}",
        f"Your notice {notice_id} about {repo_id} has been decided.\n\n{outcome}\n"
        f"Ground: {ground_reference}.\nExplanation: {explanation}\n"
        f"{'Automated means were used in processing your notice.' if automated else 'Your notice was reviewed by a person.'}\n\n"
        f"If you disagree:\n{redress_text(appeal_until=appeal_until, appeal_url=appeal_url)}\n",
    )


def uploader_statement(*, repo_id: str, statement_text: str) -> Message:
    """Art. 17: the statement of reasons to the affected uploader."""
    return Message("uploader_statement", f"Decision on your model {repo_id}", statement_text)


def appeal_outcome(*, appeal_id: int, repo_id: str, overturned: bool, explanation: str) -> Message:
    """Art. 20(5): the reasoned decision on the complaint and the remaining routes."""
    result = (
        "We upheld your complaint and reversed the original decision."
        if overturned
        else "We reviewed your complaint and kept the original decision."
    )
    return Message(
        "appeal_outcome",
        f"Decision on your appeal {appeal_id}",
        f"Your appeal {appeal_id} about {repo_id} was decided by a senior moderator.\n\n{result}\n"
        f"Explanation: {explanation}\n\nYou can still refer the dispute to a certified out-of-court "
        "dispute settlement body (Article 21 of the Digital Services Act) or to a court.\n",
    )


def order_feedback(
    *,
    authority: str,
    reference: str,
    items: list[str],
    acknowledged_at: datetime | None,
    effect_at: datetime | None,
    action: str | None,
    explanation: str = "",
) -> Message:
    """Art. 9(1): tell the authority whether and when effect was given to its order."""
    ack = f"{acknowledged_at:%d %B %Y %H:%M} UTC" if acknowledged_at else "not yet acknowledged"
    if effect_at and action:
        effect = f"Effect was given on {effect_at:%d %B %Y %H:%M} UTC: {measure_text(action, None)}"
    elif action == DecisionAction.NO_ACTION:
        effect = "No effect was given to the order."
    else:
        effect = "Effect has not yet been given to the order."
    body = (
        f"Order {reference} from {authority}\nItems:\n{_items(items)}\n\n"
        f"Received and acknowledged: {ack}.\n{effect}\n"
    )
    if explanation:
        body += f"Explanation: {explanation}\n"
    return Message("order_feedback", f"Feedback on order {reference}", body)


def uploader_warning(*, strikes: int, suspend_at: int) -> Message:
    return Message(
        "uploader_warning",
        "Warning: repeated illegal content",
        f"Your account now has {strikes} strike(s) for content we removed as manifestly illegal. "
        f"At {suspend_at} strikes we suspend the account for a period (Article 23 of the "
        "Digital Services Act).\n",
    )


def uploader_suspension(*, strikes: int, until: datetime, case_id: int) -> Message:
    """Art. 23(1) and 17: the automatic suspension that a strike led to, and how to contest it."""
    return Message(
        "uploader_suspension",
        "Your account is suspended for a period",
        f"Your account is suspended until {until:%d %B %Y}: it now has {strikes} strike(s) for "
        "content we removed as manifestly illegal, after we had warned you (Article 23 of the "
        f"Digital Services Act). The statement of reasons for the decision in case {case_id} "
        "explains it and says how to appeal; if the appeal succeeds, the suspension is lifted.\n",
    )


def notifier_warning(*, decided: int, unfounded: int) -> Message:
    return Message(
        "notifier_warning",
        "Warning: most of your notices were unfounded",
        f"{unfounded} of your last {decided} decided notices were manifestly unfounded. If this goes "
        "on we will stop processing your notices for a period (Article 23 of the Digital Services Act).\n",
    )


def notifier_suspension(
    *,
    decided: int,
    unfounded: int,
    until: datetime,
    statement: str = "",
    appeal_url: str | None = None,
) -> Message:
    """Art. 23(2) and 17: the automatic suspension, its statement of reasons and the appeal link."""
    return Message(
        "notifier_suspension",
        "Your notices will not be processed for a period",
        f"Your notices will not be processed until {until:%d %B %Y}: {unfounded} of your last "
        f"{decided} decided notices were manifestly unfounded, after we had warned you (Article 23 "
        "of the Digital Services Act).\n"
        + (f"\n{statement}" if statement else "")
        + (f"\nTo contest this decision: {appeal_url}\n" if appeal_url else ""),
    )


def suspension_appeal_outcome(*, lifted: bool, explanation: str) -> Message:
    """Art. 20(5): the outcome of a notifier's complaint against their suspension."""
    return Message(
        "suspension_appeal_outcome",
        "Your appeal against the suspension: " + ("suspension lifted" if lifted else "upheld"),
        (
            "We reviewed your appeal and lifted the suspension: your notices are processed again.\n"
            if lifted
            else "We reviewed your appeal and the suspension stays until its end date.\n"
        )
        + f"\n{explanation}\n",
    )
