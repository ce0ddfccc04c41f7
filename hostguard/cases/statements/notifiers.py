"""The notifier's name and e-mail, which the uploader never reads: found and scrubbed out of a text."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from hostguard.cases.models import Notice, NoticeItem
from hostguard.cases.statements.transparency_database import person_names, scrub_names

if TYPE_CHECKING:
    from hostguard.runtime import Runtime

NOTIFIER = "[the notifier]"  # what the uploader reads where the moderator named a notifier


def without_notifier(session: Session, runtime: Runtime, *, case_id: int, text: str) -> str:
    """The text with the case's notifiers' names and addresses replaced, as the statement does."""
    return scrub_names(
        text, names=notifier_names(session, runtime, case_id=case_id), replacement=NOTIFIER
    )


def notifier_names(session: Session, runtime: Runtime, *, case_id: int) -> tuple[str, ...]:
    """The names and e-mail addresses the case's notifiers gave (see `person_names`): the uploader
    must never read them, so the statement of reasons the uploader gets has them scrubbed."""
    return tuple(dict.fromkeys(_notifier_names_by_case(session, runtime, [case_id])[case_id]))


def _notifier_names_by_case(
    session: Session, runtime: Runtime, case_ids: list[int]
) -> dict[int, list[str]]:
    names: dict[int, list[str]] = {case_id: [] for case_id in case_ids}
    notices = session.exec(
        select(NoticeItem.case_id, Notice.name_enc, Notice.email_enc)
        .join(Notice, col(NoticeItem.notice_id) == Notice.id)
        .where(col(NoticeItem.case_id).in_(case_ids))
        .order_by(col(Notice.id))
    )
    for case_id, name_enc, email_enc in notices:
        names[case_id] += person_names(
            runtime.keys.decrypt_str(name_enc), runtime.keys.decrypt_str(email_enc)
        )
    return names
