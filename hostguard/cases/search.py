"""Searching cases: by model id, uploader, notifier e-mail, notice or order reference, and the
words of notices, notes and decisions, ranked.

Identifiers are matched in their own indexed columns; a notifier's e-mail is matched on its
keyed digest (`intake.client_digest`), never stored or compared in the clear. Words go through
each database's own full-text search, built by migration 0012: PostgreSQL's `to_tsvector` /
`plainto_tsquery` with `ts_rank` over GIN indexes (on stored `tsvector` columns since migration
0018), SQLite's FTS5 tables, ranked with FTS5's BM25 formula. The newest `WORD_CANDIDATES`
matching rows of each table are ranked (a word found in half a million explanations costs no
more than a rare one); ranking every match took seconds at 1 M cases.

On SQLite, FTS5's `bm25()` counts every row holding each word (its inverse document frequency)
before it ranks the first candidate, which for a word in most explanations was nearly all of a
search's time (11-14 ms a table at 1 M cases). So a word's rows are counted here up to
`DF_EXACT`: when every word is rarer, `bm25()` ranks (its own count is as cheap); otherwise the
commoner word's count is estimated from how far back its `DF_EXACT`-th newest row lies
(`_sqlite_document_frequency`) and the same BM25 formula is worked out here from the
candidates' text (`_ranked_here`).

Part of a model id is matched through trigram indexes (migration 0018: `pg_trgm` on PostgreSQL,
an FTS5 `trigram` table on SQLite); uploader names and order references through indexes on their
lower-cased values, so no identifier reads a whole table (`benchmarks/cases/scale.py`).
"""

from __future__ import annotations

import heapq
import math
import re
import unicodedata
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
TOKEN = re.compile(r"[^\W_]+")
MAX_QUERY = 200
WORD_CANDIDATES = 500  # the newest matching rows of each table that are ranked
DF_EXACT = 5_000  # a word's rows are counted up to this many, estimated beyond (SQLite)
MODEL_REPOS = 1000  # repos whose id contains the query, at most
# FTS5's bm25 constants (fts5_aux.c)
BM25_K1, BM25_B = 1.2, 0.75
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
    # a common part of a model id matches thousands of cases and few are listed: plain dicts
    # of numbers (what matched as bits of `reasons`), which the garbage collector need not scan
    scores: dict[int, float] = defaultdict(float)
    matched: dict[int, int] = defaultdict(int)
    reasons: list[str] = []

    def add(case_ids, score: float, why: str) -> None:
        if why not in reasons:
            reasons.append(why)
        bit = 1 << reasons.index(why)
        for case_id in case_ids:
            scores[case_id] += score
            matched[case_id] |= bit

    _identifiers(session, query, secret, add)
    words = WORD.findall(query)
    if words:
        dialect = session.get_bind().dialect.name
        for name, table, column in SEARCHED:
            found = (
                _postgres_words(session, name, table, " ".join(words))
                if dialect == "postgresql"
                else _cases_of(session, table, _sqlite_words(session, name, table, column, words))
            )
            for case_id, rank in found:
                add(
                    [case_id],
                    rank,
                    {"notices": "notice", "case_notes": "note"}.get(table, "decision"),
                )
    best = heapq.nsmallest(limit, scores, key=lambda c: (-scores[c], -c))
    return [
        SearchHit(c, scores[c], [r for i, r in enumerate(reasons) if matched[c] >> i & 1])
        for c in best
    ]


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
    add(_cases_of_repos_containing(session, lowered), IDENTIFIER_WEIGHT["model"], "model")
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


def _cases_of_repos_containing(session: Session, lowered: str) -> list[int]:
    """The cases of the repos whose id contains `lowered` (any case), the repos found through
    the trigram index, in one statement (a common part such as "model" names a thousand)."""
    if session.get_bind().dialect.name == "postgresql":
        # the expression must be the trigram index's own for PostgreSQL to use it
        sql = (
            "SELECT id FROM cases WHERE repo_pk IN (SELECT id FROM model_repos "
            f"WHERE lower(repo_id) LIKE :p ESCAPE '\\' LIMIT {MODEL_REPOS})"
        )
        params = {"p": f"%{_like(lowered)}%"}
    else:
        # FTS5's trigram LIKE takes no ESCAPE: % and _ in the query may match more, so each
        # repo id found is checked for the query itself (instr)
        sql = (
            "SELECT id FROM cases WHERE repo_pk IN (SELECT rowid FROM search_repos "
            "WHERE repo_id LIKE :p AND instr(lower(repo_id), :q) > 0 "
            f"LIMIT {MODEL_REPOS})"
        )
        params = {"p": f"%{lowered}%", "q": lowered}
    rows = session.exec(text(sql), params=params).all()  # type: ignore[call-overload]
    return [int(r[0]) for r in rows]


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# how each searched table's rows lead to cases (a notice may be about several)
CASE_LINK = {
    "notices": "JOIN notice_items link ON link.notice_id = newest.id",
    "case_notes": "JOIN case_notes link ON link.id = newest.id",
    "decisions": "JOIN decisions link ON link.id = newest.id",
}


def _postgres_words(session: Session, name: str, table: str, words: str) -> list[tuple[int, float]]:
    """(case id, rank) of the newest matching rows, ranked and joined to their cases in one
    statement."""
    # the stored to_tsvector('simple', text) column the GIN index is on (migration 0018)
    vector = f"{name}_tsv"
    rows = session.exec(  # type: ignore[call-overload]
        text(
            f"SELECT link.case_id, ts_rank(newest.{vector}, q) FROM (SELECT id, {vector} "
            f"FROM {table}, plainto_tsquery('simple', :words) q WHERE {vector} @@ q "
            f"ORDER BY id DESC LIMIT {WORD_CANDIDATES}) newest {CASE_LINK[table]}, "
            "plainto_tsquery('simple', :words) q"
        ),
        params={"words": words},
    ).all()
    by_case: dict[int, float] = defaultdict(float)
    for case_id, rank in rows:
        by_case[int(case_id)] += float(rank)
    return list(by_case.items())


def tokens(value: str) -> list[str]:
    """The tokens FTS5's `unicode61 remove_diacritics 2` tokenizer makes of `value`: runs of
    letters and digits, lower-cased, without diacritics."""
    value = value.lower()
    if not value.isascii():
        value = "".join(
            c for c in unicodedata.normalize("NFKD", value) if not unicodedata.combining(c)
        )
    return TOKEN.findall(value)


def _sqlite_words(
    session: Session, name: str, table: str, column: str, words: list[str]
) -> list[tuple[int, float]]:
    """(row id, rank) of the newest matching rows of FTS5 table `name`, ranked by FTS5's BM25:
    by `bm25()` itself when every word is in fewer than `DF_EXACT` rows (its own count is then
    as cheap), else worked out here (`_ranked_here`) with the estimated document frequencies."""
    # each word quoted (FTS5 syntax characters are never operators), all of them required
    phrases = ['"' + w.replace('"', '""') + '"' for w in words]
    newest = session.exec(text(f"SELECT max(id) FROM {table}")).one()[0]  # type: ignore[call-overload]
    if newest is None:
        return []
    total_rows, total_tokens = _sqlite_totals(session, name)
    found = [
        _sqlite_document_frequency(session, name, phrase, int(newest), total_rows)
        for phrase in phrases
    ]
    if not all(found):
        return []
    match = " ".join(phrases)
    if max(found) < DF_EXACT:
        rows = session.exec(  # type: ignore[call-overload]
            text(
                f"SELECT rowid, bm25({name}) FROM {name} WHERE {name} MATCH :m "
                f"ORDER BY rowid DESC LIMIT {WORD_CANDIDATES}"
            ),
            params={"m": match},
        ).all()
        # bm25 is lower for better matches (negative): turn it into a small positive rank
        return [(int(r[0]), -float(r[1]) / (1.0 - float(r[1]))) for r in rows]
    weights = []  # (the phrase's tokens, its inverse document frequency), as bm25() has them
    for word, rows_with_it in zip(words, found, strict=True):
        idf = math.log((total_rows - rows_with_it + 0.5) / (rows_with_it + 0.5))
        weights.append((tokens(word), idf if idf > 0 else 1e-6))
    average = total_tokens / total_rows if total_rows else 1.0
    return _ranked_here(session, name, column, match, weights, average)


def _ranked_here(
    session: Session,
    name: str,
    column: str,
    match: str,
    weights: list[tuple[list[str], float]],
    average: float,
) -> list[tuple[int, float]]:
    """FTS5's BM25 of the newest matching rows, from their text: each phrase's occurrences
    weighed by its inverse document frequency, the row's length against the `average`."""
    rows = session.exec(  # type: ignore[call-overload]
        text(
            f"SELECT rowid, {column} FROM {name} WHERE {name} MATCH :m "
            f"ORDER BY rowid DESC LIMIT {WORD_CANDIDATES}"
        ),
        params={"m": match},
    ).all()
    ranked = []
    for row_id, body in rows:
        held = tokens(str(body or ""))
        norm = BM25_K1 * (1 - BM25_B + BM25_B * len(held) / average)
        score = 0.0
        for phrase_tokens, idf in weights:
            hits = _occurrences(held, phrase_tokens)
            score += idf * hits * (BM25_K1 + 1) / (hits + norm)
        # as bm25() but positive (higher is better): turned into a small rank below 1
        ranked.append((int(row_id), score / (1.0 + score)))
    return ranked


def _sqlite_totals(session: Session, name: str) -> tuple[int, int]:
    """FTS5's own count of rows and of tokens (the first column's), from its averages record
    (rowid 1 of `<name>_data`: varints, as bm25() reads them)."""
    block = session.exec(  # type: ignore[call-overload]
        text(f"SELECT block FROM {name}_data WHERE id = 1")
    ).first()
    values: list[int] = []
    at = 0
    data = bytes(block[0]) if block else b""
    while at < len(data) and len(values) < 2:
        value, at = _varint(data, at)
        values.append(value)
    return (values + [0, 0])[0], (values + [0, 0])[1]


def _varint(data: bytes, at: int) -> tuple[int, int]:
    """SQLite's varint at `at`: 7 bits a byte, high bit set while more follow, the ninth byte
    whole."""
    value = 0
    for i in range(9):
        byte = data[at + i]
        if i == 8:
            return (value << 8) | byte, at + 9
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, at + i + 1
    raise AssertionError("unreachable")  # pragma: no cover


def _sqlite_document_frequency(
    session: Session, name: str, phrase: str, newest: int, total_rows: int
) -> int:
    """How many rows hold `phrase`: counted exactly up to `DF_EXACT`; beyond, the share of rows
    holding it among those since its `DF_EXACT`-th newest row (ids given in order), times all rows.
    Reading `DF_EXACT` index entries costs well under a millisecond; counting a word in most
    of a million rows cost 15-20 ms."""
    count, oldest = session.exec(  # type: ignore[call-overload]
        text(
            f"SELECT count(*), min(rowid) FROM (SELECT rowid FROM {name} WHERE {name} MATCH :p "
            f"ORDER BY rowid DESC LIMIT {DF_EXACT})"
        ),
        params={"p": phrase},
    ).one()
    if int(count) < DF_EXACT:
        return int(count)
    return min(total_rows, round(int(count) * total_rows / max(1, newest - int(oldest) + 1)))


def _occurrences(held: list[str], phrase: list[str]) -> int:
    if not phrase:
        return 0
    if len(phrase) == 1:
        return held.count(phrase[0])
    n = len(phrase)
    return sum(1 for i in range(len(held) - n + 1) if held[i : i + n] == phrase)


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
