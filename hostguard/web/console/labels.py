"""Words people read in place of stored values: statuses, sources, history actions and who acted.

Pages show the label and keep the raw value beside it (a code element or a title attribute),
so moderators who search the audit view by `case.claim` or `user:3` still find what they see.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, select

from hostguard.accounts.models import User
from hostguard.web.console import bp

CASE_STATUSES = {
    "open": "Open",
    "escalated": "Escalated",
    "decided": "Decided",
    "appealed": "Under appeal",
    "merged": "Merged into another case",
    "active": "Open, escalated or under appeal",
    "all": "Any status",
}
CASE_SOURCES = {
    "notice": "Public notice",
    "trusted_flagger": "Trusted flagger",
    "order": "Authority order",
    "hash_match": "Hash-list match",
    "retroactive_match": "Retroactive hash-list match",
    "upload_check": "Failed upload check",
    "own_initiative": "Own initiative",
}
DECISION_ACTIONS = {
    "no_action": "No action",
    "restrict": "Restrict (gate or label)",
    "take_down": "Take down",
    "suspend_uploader": "Suspend the uploader",
    "escalate": "Escalate",
    "report": "Report to the authorities",
}
SORTS = {"priority": "Most urgent first", "oldest": "Oldest first", "newest": "Newest first"}
# History lines read "<what happened> by <who>".
HISTORY_ACTIONS = {
    "case.open": "Opened",
    "case.evidence": "Evidence added",
    "case.claim": "Claimed",
    "case.release": "Released to the queue",
    "case.reassign": "Reassigned",
    "case.note": "Note added",
    "case.link": "Linked to a related case",
    "case.statement_of_reasons": "Statement of reasons written",
    "case.deadline_alert": "Deadline alert raised",
    "case.report_authorities": "Reported to the authorities",
    "case.report_package": "Report package exported",
    "case.reupload_list_unavailable": "Re-upload list unavailable; hashes not added",
    "notice.receive": "Notice received",
    "order.receive": "Order received",
    "order.acknowledge": "Order acknowledged",
    "order.effect": "Order given effect",
    "appeal.file": "Appeal filed",
    "appeal.upheld": "Appeal decided: kept",
    "appeal.overturned": "Appeal decided: overturned",
    "statement.tdb_submitted": "Sent to the Transparency Database",
    "statement.tdb_already_there": "Found already in the Transparency Database",
    "statement.tdb_attempt_failed": "Sending to the Transparency Database failed; retried later",
    "statement.tdb_rejected": "Refused by the Transparency Database",
    "case.hotline_report": "Hotline report recorded",
    "case.preservation_extend": "Preservation extended",
    "personal_data.view": "Uploader's personal data viewed",
}


def case_status(value: str | None) -> str:
    return CASE_STATUSES.get(value or "", (value or "").replace("_", " ").capitalize())


def case_source(value: str | None) -> str:
    return CASE_SOURCES.get(value or "", (value or "").replace("_", " ").capitalize())


def decision_action(value: str | None) -> str:
    return DECISION_ACTIONS.get(value or "", (value or "").replace("_", " ").capitalize())


def history_action(action: str) -> str:
    if action in HISTORY_ACTIONS:
        return HISTORY_ACTIONS[action]
    if action.startswith("case.decide."):
        return "Decided: " + decision_action(action.removeprefix("case.decide.")).lower()
    return action.replace(".", " ").replace("_", " ").capitalize()


def actor_label(actor: str, emails: dict[int, str]) -> str:
    """Who an audit actor string names, in words; staff are shown by their e-mail."""
    kind, _, rest = actor.partition(":")
    if kind == "user" and rest.isdigit():
        return emails.get(int(rest), f"staff member {rest}")
    if kind == "apikey":
        return f"API key {rest}"
    if kind == "uploader":
        return f"uploader {rest}"
    if kind == "notifier":
        return "the notifier" + (f" of notice {rest.split(':')[-1]}" if rest else "")
    return {
        "public": "a public notice",
        "system": "hostguard (automatic)",
        "cli": "the command line",
        "anonymous": "someone not signed in",
    }.get(actor, actor)


def user_ids(actors: Iterable[str]) -> set[int]:
    ids = set()
    for actor in actors:
        kind, _, rest = (actor or "").partition(":")
        if kind == "user" and rest.isdigit():
            ids.add(int(rest))
    return ids


def emails_for(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    """Staff e-mails by user id (staff see each other's work e-mails)."""
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = session.exec(select(col(User.id), col(User.email)).where(col(User.id).in_(wanted)))
    # ids come from the primary key, so none is None; the check only narrows the type
    return {user_id: email for user_id, email in rows if user_id is not None}


def sentence(text: object) -> str:
    """The text with its first letter capitalised, the rest untouched (messages start in lower case)."""
    text = "" if text is None else str(text)
    return text[:1].upper() + text[1:]


for _name, _fn in {
    "sentence": sentence,
    "case_status": case_status,
    "case_source": case_source,
    "decision_action": decision_action,
    "history_action": history_action,
}.items():
    bp.add_app_template_filter(_fn, _name)
