"""Searching cases: by model id, uploader, notifier e-mail, notice or order reference, and the
words of notices, notes and decisions, ranked.

Identifiers are matched in their own indexed columns; a notifier's e-mail is matched on its
keyed digest (`intake.client_digest`), never stored or compared in the clear. Words go through
each database's own full-text search, built by migration 0012: PostgreSQL's `to_tsvector` /
`plainto_tsquery` with `ts_rank` over GIN indexes (on stored `tsvector` columns since migration
0018), SQLite's FTS5 tables with `bm25`. The newest
`WORD_CANDIDATES` matching rows of each table are ranked (a word found in half a million
explanations costs no more than a rare one); ranking every match took seconds at 1 M cases.

Part of a model id is matched through trigram indexes (migration 0018: `pg_trgm` on PostgreSQL,
an FTS5 `trigram` table on SQLite); uploader names and order references through indexes on their
lower-cased values, so no identifier reads a whole table (`benchmarks/cases/scale.py`).
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
# indexes for identifiers (migration 0018): trigrams of model ids, lower-cased names and references
IDENTIFIER_INDEXES = ("search_repos", "search_uploaders", "search_orders")
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
WORD_CANDIDATES = 500  # the newest matching rows of each table that are ranked
NOTIFIER_NOTICES = 1000  # the newest notices of a notifier whose cases are listed


def is_search_object(name: str | None) -> bool:
    """Tables and indexes the full-text search made (no model describes them)."""
    if not name:
        return False
    names = [s for s, _t, _c in SEARCHED] + list(IDENTIFIER_INDEXES)
    return any(name == s or name.startswith(f"{s}_") or name == f"ix_{s}" for s in names)


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
        for name, table, _column in SEARCHED:
            ranked = (
                _postgres_words(session, name, table, " ".join(words))
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
    repos = _repos_containing(session, lowered)
    if repos:
        add(
            session.exec(select(Case.id).where(col(Case.repo_pk).in_(repos))).all(),
            IDENTIFIER_WEIGHT["model"],
            "model",
        )
    uploaders = select(Uploader.id).where(
        or_(func.lower(Uploader.username) == lowered, Uploader.platform_id == query)
    )  # lower(username): the expression of index ix_search_uploaders
    owned = select(ModelRepo.id).where(col(ModelRepo.uploader_id).in_(uploaders))
    add(
        session.exec(select(Case.id).where(col(Case.repo_pk).in_(owned))).all(),
        IDENTIFIER_WEIGHT["uploader"],
        "uploader",
    )
    if "@" in query:
        notifiers = select(Notifier.id).where(Notifier.email_digest == client_digest(secret, query))
        # a busy notifier sent thousands: their newest notices (the hits are listed newest first)
        notices = (
            select(Notice.id)
            .where(col(Notice.notifier_id).in_(notifiers))
            .order_by(col(Notice.id).desc())
            .limit(NOTIFIER_NOTICES)
        )
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


def _repos_containing(session: Session, lowered: str) -> list[int]:
    """Repos whose id contains `lowered` (any case), found through the trigram index."""
    if session.get_bind().dialect.name == "postgresql":
        # the expression must be the trigram index's own for PostgreSQL to use it
        rows = session.exec(  # type: ignore[call-overload]
            text("SELECT id FROM model_repos WHERE lower(repo_id) LIKE :p ESCAPE '\\' LIMIT 1000"),
            params={"p": f"%{_like(lowered)}%"},
        ).all()
        return [int(r[0]) for r in rows]
    # FTS5's trigram LIKE takes no ESCAPE: % and _ in the query may match more, checked here
    rows = session.exec(  # type: ignore[call-overload]
        text("SELECT rowid, repo_id FROM search_repos WHERE repo_id LIKE :p LIMIT 1000"),
        params={"p": f"%{lowered}%"},
    ).all()
    return [int(r[0]) for r in rows if lowered in str(r[1]).lower()]


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _postgres_words(session: Session, name: str, table: str, words: str) -> list[tuple[int, float]]:
    # the stored to_tsvector('simple', text) column the GIN index is on (migration 0018)
    vector = f"{name}_tsv"
    rows = session.exec(  # type: ignore[call-overload]
        text(
            f"SELECT id, ts_rank({vector}, q) FROM (SELECT id, {vector} FROM {table}, "
            f"plainto_tsquery('simple', :words) q WHERE {vector} @@ q "
            f"ORDER BY id DESC LIMIT {WORD_CANDIDATES}) newest, "
            "plainto_tsquery('simple', :words) q"
        ),
        params={"words": words},
    ).all()
    return [(int(r[0]), float(r[1])) for r in rows]


def _sqlite_words(session: Session, name: str, words: list[str]) -> list[tuple[int, float]]:
    # each word quoted (FTS5 syntax characters are never operators), all of them required
    match = " ".join('"' + w.replace('"', '""') + '"' for w in words)
    rows = session.exec(  # type: ignore[call-overload]
        text(
            f"SELECT rowid, bm25({name}) FROM {name} WHERE {name} MATCH :m "
            f"ORDER BY rowid DESC LIMIT {WORD_CANDIDATES}"
        ),
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
