"""Searching cases: by model id, uploader, notifier e-mail, notice or order reference, and the
words of notices, notes and decisions, ranked.

Identifiers are matched in their own indexed columns; a notifier's e-mail is matched on its
keyed digest (`intake.client_digest`), never stored or compared in the clear. Words go through
each database's own full-text search, built by migration 0012: PostgreSQL's `to_tsvector` /
`plainto_tsquery` with `ts_rank` over GIN indexes, SQLite's FTS5 tables with `bm25`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlmodel import Session, col, func, or_, select

from hostguard.cases.intake import client_digest
from hostguard.cases.models import (
    AuthorityOrder,
    Case,
    CaseNote,
    Decision,
    Notice,
    NoticeItem,
    Notifier,
    OrderItem,
)
from hostguard.errors import InvalidInput
from hostguard.platform.models import ModelRepo, Uploader

# (FTS5 table / GIN index suffix, table, text column), as migration 0012 made them
SEARCHED = (
    ("search_notices", "notices", "explanation"),
    ("search_notes", "case_notes", "body"),
    ("search_decisions", "decisions", "explanation"),
)
# what an identifier match weighs against a full-text rank (which stays well below 1 per hit)
IDENTIFIER_WEIGHT = {
    "case": 100.0,
    "model": 50.0,
    "reference": 50.0,
    "uploader": 40.0,
    "notifier": 40.0,
}
WORD = re.compile(r"\w+", re.UNICODE)
MAX_QUERY = 200


def is_search_object(name: str | None) -> bool:
    """Tables and indexes the full-text search made (no model describes them)."""
    if not name:
        return False
    return any(name == s or name.startswith(f"{s}_") or name == f"ix_{s}" for s, _t, _c in SEARCHED)


@dataclass
class SearchHit:
    case_id: int
    score: float = 0.0
    why: list[str] = field(default_factory=list)  # what matched: model, uploader, notice words, ...


def search_cases(session: Session, *, query: str, secret: str, limit: int = 50) -> list[SearchHit]:
    """Cases matching `query`, best first: identifiers (case number, model id, uploader,
    notifier e-mail, notice or order reference) weigh most, then full-text rank."""
    query = (query or "").strip()
    if not query:
        raise InvalidInput("type what to search for", code="empty_query")
    if len(query) > MAX_QUERY:
        raise InvalidInput(f"search for at most {MAX_QUERY} characters", code="query_too_long")
    limit = max(1, min(int(limit), 200))
    hits: dict[int, SearchHit] = {}

    def add(case_ids, score: float, why: str) -> None:
        for case_id in case_ids:
            hit = hits.setdefault(case_id, SearchHit(case_id))
            hit.score += score
            if why not in hit.why:
                hit.why.append(why)

    _identifiers(session, query, secret, add)
    words = WORD.findall(query)
    if words:
        dialect = session.get_bind().dialect.name
        for name, table, column in SEARCHED:
            ranked = (
                _postgres_words(session, table, column, " ".join(words))
                if dialect == "postgresql"
                else _sqlite_words(session, name, words)
            )
            for case_id, rank in _cases_of(session, table, ranked):
                add(
                    [case_id],
                    rank,
                    {"notices": "notice", "case_notes": "note"}.get(table, "decision"),
                )
    ordered = sorted(hits.values(), key=lambda h: (-h.score, -h.case_id))
    return ordered[:limit]


def _identifiers(session: Session, query: str, secret: str, add) -> None:
    number = query.lstrip("#")
    if number.isdigit() and len(number) < 19:
        add(
            session.exec(select(Case.id).where(Case.id == int(number))).all(),
            IDENTIFIER_WEIGHT["case"],
            "case number",
        )
        notice_cases = session.exec(
            select(NoticeItem.case_id).where(NoticeItem.notice_id == int(number))
        ).all()
        add(notice_cases, IDENTIFIER_WEIGHT["reference"], "notice number")
    lowered = query.lower()
    repos = select(ModelRepo.id).where(
        or_(
            func.lower(ModelRepo.repo_id) == lowered,
            func.lower(ModelRepo.repo_id).like(f"%{_like(lowered)}%", escape="\\"),
        )
    )
    add(
        session.exec(select(Case.id).where(col(Case.repo_pk).in_(repos))).all(),
        IDENTIFIER_WEIGHT["model"],
        "model",
    )
    uploaders = select(Uploader.id).where(
        or_(func.lower(Uploader.username) == lowered, Uploader.platform_id == query)
    )
    owned = select(ModelRepo.id).where(col(ModelRepo.uploader_id).in_(uploaders))
    add(
        session.exec(select(Case.id).where(col(Case.repo_pk).in_(owned))).all(),
        IDENTIFIER_WEIGHT["uploader"],
        "uploader",
    )
    if "@" in query:
        notifiers = select(Notifier.id).where(Notifier.email_digest == client_digest(secret, query))
        notices = select(Notice.id).where(col(Notice.notifier_id).in_(notifiers))
        add(
            session.exec(
                select(NoticeItem.case_id).where(col(NoticeItem.notice_id).in_(notices))
            ).all(),
            IDENTIFIER_WEIGHT["notifier"],
            "notifier e-mail",
        )
    orders = select(AuthorityOrder.id).where(func.lower(AuthorityOrder.reference) == lowered)
    add(
        session.exec(select(OrderItem.case_id).where(col(OrderItem.order_id).in_(orders))).all(),
        IDENTIFIER_WEIGHT["reference"],
        "order reference",
    )


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _postgres_words(
    session: Session, table: str, column: str, words: str
) -> list[tuple[int, float]]:
    # the expression must be the GIN index's own for PostgreSQL to use it
    vector = f"to_tsvector('simple', {column})"
    rows = session.exec(  # type: ignore[call-overload]
        text(
            f"SELECT id, ts_rank({vector}, q) FROM {table}, plainto_tsquery('simple', :words) q "
            f"WHERE {vector} @@ q ORDER BY 2 DESC LIMIT 500"
        ),
        params={"words": words},
    ).all()
    return [(int(r[0]), float(r[1])) for r in rows]


def _sqlite_words(session: Session, name: str, words: list[str]) -> list[tuple[int, float]]:
    # each word quoted (FTS5 syntax characters are never operators), all of them required
    match = " ".join('"' + w.replace('"', '""') + '"' for w in words)
    rows = session.exec(  # type: ignore[call-overload]
        text(f"SELECT rowid, bm25({name}) FROM {name} WHERE {name} MATCH :m ORDER BY 2 LIMIT 500"),
        params={"m": match},
    ).all()
    # bm25 is lower for better matches (negative): turn it into a small positive rank
    return [(int(r[0]), -float(r[1]) / (1.0 - float(r[1]))) for r in rows]


def _cases_of(
    session: Session, table: str, ranked: list[tuple[int, float]]
) -> list[tuple[int, float]]:
    """The cases the matching rows belong to, with each row's rank."""
    if not ranked:
        return []
    rank = dict(ranked)
    ids = list(rank)
    by_case: dict[int, float] = defaultdict(float)
    if table == "notices":
        for notice_id, case_id in session.exec(
            select(NoticeItem.notice_id, NoticeItem.case_id).where(
                col(NoticeItem.notice_id).in_(ids)
            )
        ):
            by_case[case_id] += rank[notice_id]
    else:
        model = CaseNote if table == "case_notes" else Decision
        for row_id, case_id in session.exec(
            select(model.id, model.case_id).where(col(model.id).in_(ids))
        ):
            assert row_id is not None  # read from the database
            by_case[case_id] += rank[row_id]
    return list(by_case.items())
