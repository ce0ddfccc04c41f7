"""Issue 16, search: cases by model id, uploader, notifier e-mail (on its keyed digest), notice
or order reference, and words of notices, notes and decisions, with each database's own
full-text search (PostgreSQL tsvector, SQLite FTS5), ranked, in the queue's table."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import inspect, text
from sqlmodel import select

from hostguard.cases import search
from hostguard.cases.claims import add_note
from hostguard.cases.models import CaseNote
from hostguard.cases.orders import OrderInput, receive_order
from hostguard.cases.search import search_cases
from hostguard.db.types import utcnow
from tests.cases.test_cases_browser import shot, sign_in


@pytest.fixture
def seeded(db, runtime, notice, owned_repo):
    owned_repo(repo_id="pixel/portrait-xl", platform_id="u-pixel", username="pixelsmith")
    _, (portrait,) = notice(
        items=("pixel/portrait-xl",),
        category="non_consensual_intimate_imagery",
        email="Nora.Reporter@Example.org",
        explanation="The gallery shows intimate deepfakes of a well-known streamer.",
    )
    _, (lora,) = notice(
        items=("other/anime-lora",),
        email="someone@example.org",
        explanation="Reproduces our copyrighted character artwork of the streamer mascot.",
    )
    order, (ordered,) = receive_order(
        policy=runtime.policy,
        session=db,
        runtime=runtime,
        actor="apikey:1",
        data=OrderInput(
            authority="Arcom",
            member_state="FR",
            reference="ARC-2026-042",
            legal_basis="Art. 9 Regulation (EU) 2022/2065",
            category="terrorism",
            explanation="Propaganda generator.",
            items=["extreme/propaganda-gen"],
            deadline_at=utcnow() + timedelta(days=1),
        ),
    )
    add_note(
        session=db,
        case_id=portrait.id,
        body="Streamer confirmed by the trust team; deepfakes everywhere.",
        actor="user:1",
    )
    db.commit()
    return {"portrait": portrait.id, "lora": lora.id, "ordered": ordered.id}


def _ids(db, runtime, query: str) -> list[int]:
    return [h.case_id for h in search_cases(db, query=query, secret=runtime.keys.secret_key)]


def test_identifiers_find_their_case(db, runtime, seeded):
    assert _ids(db, runtime, "pixel/portrait-xl")[0] == seeded["portrait"]
    assert _ids(db, runtime, "pixelsmith") == [seeded["portrait"]]
    assert _ids(db, runtime, "ARC-2026-042")[0] == seeded["ordered"]
    assert _ids(db, runtime, f"#{seeded['lora']}")[0] == seeded["lora"]


def test_a_notifier_email_is_matched_on_its_keyed_digest_never_stored_plain(db, runtime, seeded):
    assert _ids(db, runtime, "nora.reporter@example.org") == [seeded["portrait"]]
    assert _ids(db, runtime, "nobody@example.org") == []
    for table in ("notices", "notifiers"):
        rows = db.exec(text(f"SELECT * FROM {table}")).all()  # type: ignore[call-overload]
        assert all("nora.reporter" not in str(row).lower() for row in rows), table


def test_words_are_ranked_with_the_database_full_text_search(db, runtime, seeded):
    # "streamer" is in both notices, and also in the portrait case's note: it ranks first
    assert _ids(db, runtime, "streamer") == [seeded["portrait"], seeded["lora"]]
    assert _ids(db, runtime, "copyrighted mascot") == [seeded["lora"]]
    assert _ids(db, runtime, "deepfakes")[0] == seeded["portrait"]
    assert _ids(db, runtime, 'NEAR("x" OR') == []  # FTS syntax is never an operator
    db.commit()  # SQLite: the inspector's connection needs the write lock the session holds
    dialect = db.get_bind().dialect.name
    names = set(inspect(db.get_bind()).get_table_names())
    if dialect == "sqlite":
        assert {"search_notices", "search_notes", "search_decisions"} <= names
    else:
        indexes = {i["name"] for i in inspect(db.get_bind()).get_indexes("notices")}
        assert "ix_search_notices" in indexes


def test_a_changed_note_is_found_by_its_new_words(db, runtime, seeded):

    note = db.exec(select(CaseNote)).one()
    note.body = "Escalation pending for the lighthouse keeper."
    db.commit()
    assert _ids(db, runtime, "lighthouse") == [seeded["portrait"]]
    assert seeded["portrait"] not in _ids(db, runtime, "everywhere")


def test_the_api_and_the_queue_show_the_results(client, api_headers, seeded, login, db):
    answer = client.get("/api/v1/cases/search?q=streamer", headers=api_headers("moderator"))
    assert answer.status_code == 200
    items = answer.get_json()["items"]
    assert [i["id"] for i in items] == [seeded["portrait"], seeded["lora"]]
    assert "note" in items[0]["matched"] and items[0]["repo_id"] == "pixel/portrait-xl"
    empty = client.get("/api/v1/cases/search?q=", headers=api_headers("moderator"))
    assert empty.status_code == 422
    login(client, "moderator")
    html = client.get("/console/cases?q=streamer").get_data(as_text=True)
    assert "2 cases found for “streamer”" in html
    assert html.index(f"#{seeded['portrait']}</a>") < html.index(f"#{seeded['lora']}</a>")


@pytest.mark.browser
def test_search_in_the_browser(page, live_server, make_user, seeded):
    moderator, password = make_user("moderator")
    base = live_server.url
    sign_in(page, base, moderator, password)
    page.goto(f"{base}/console/cases")
    page.get_by_label("Search", exact=True).fill("ARC-2026-042")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("#search-summary")).to_contain_text("1 case found")
    row = page.locator("tr[data-case-row]").first
    expect(row).to_contain_text("extreme/propaganda-gen")
    expect(row).to_contain_text("matched: order reference")
    shot(page, "search")


def test_part_of_a_model_id_is_found_through_the_trigram_index(db, runtime, seeded, owned_repo):
    # any case, any part of three letters or more; % and _ in the query are plain characters
    owned_repo(repo_id="pixel/port_x", platform_id="u-px", username="px")
    assert _ids(db, runtime, "PORTRAIT-X") == [seeded["portrait"]]
    assert _ids(db, runtime, "anime") == [seeded["lora"]]
    assert _ids(db, runtime, "port_x") == []  # the repo has no case; "portrait-xl" is no match
    assert _ids(db, runtime, "t%x") == []
    conn = db.connection()
    if conn.dialect.name == "postgresql":
        assert "ix_search_repos" in {i["name"] for i in inspect(conn).get_indexes("model_repos")}
    else:
        found = conn.execute(
            text("SELECT rowid FROM search_repos WHERE repo_id LIKE '%trait-x%'")
        ).all()
        assert len(found) == 1  # the trigger indexed the repo it was inserted with


def test_only_the_newest_matches_of_a_common_word_are_ranked(db, runtime, notice, monkeypatch):
    # a word found in every explanation costs the same as a rare one: the newest rows are ranked
    ids = [
        notice(items=(f"common/model-{i}",), explanation=f"Common words in notice number {i}.")[1][
            0
        ].id
        for i in range(4)
    ]
    db.commit()
    monkeypatch.setattr("hostguard.cases.search.WORD_CANDIDATES", 2)
    assert sorted(_ids(db, runtime, "common words")) == sorted(ids[-2:])


def test_a_busy_notifier_lists_the_cases_of_their_newest_notices(db, runtime, notice, monkeypatch):
    ids = [notice(items=(f"busy/model-{i}",), email="busy@example.org")[1][0].id for i in range(3)]
    db.commit()
    monkeypatch.setattr("hostguard.cases.search.NOTIFIER_NOTICES", 2)
    assert _ids(db, runtime, "busy@example.org") == ids[:0:-1]


def test_words_rank_as_the_database_ranks_them_without_counting_every_row(db, runtime, notice):
    # SQLite: FTS5's BM25, by bm25() or worked out for the candidates only (the same figures
    # while a word's rows are counted exactly; beyond DF_EXACT the count is estimated);
    # PostgreSQL: ts_rank, the rows joined to their cases in the same statement
    texts = [
        "Streamer deepfakes, deepfakes everywhere in the gallery.",
        "One deepfake of a streamer among many harmless portraits of landscapes and cats.",
        "Deepfakes of a streamer.",
        "Nothing to see here except one streamer.",
    ]
    for i, text_ in enumerate(texts):
        notice(items=(f"rank/model-{i}",), explanation=text_, email=f"r{i}@example.org")
    db.commit()
    if db.get_bind().dialect.name == "postgresql":
        for words in ("streamer", "deepfakes streamer"):
            expected = db.exec(  # type: ignore[call-overload]
                text(
                    "SELECT i.case_id, ts_rank(n.search_notices_tsv, q) FROM notices n "
                    "JOIN notice_items i ON i.notice_id = n.id, "
                    "plainto_tsquery('simple', :w) q WHERE n.search_notices_tsv @@ q"
                ),
                params={"w": words},
            ).all()
            got = search._postgres_words(db, "search_notices", "notices", words)
            assert dict(got) == pytest.approx({int(c): float(r) for c, r in expected})
            assert len(got) == (4 if words == "streamer" else 2)  # no stemming: "deepfake"
        return
    for words in (["streamer"], ["deepfakes", "streamer"], ["Déépfakes"]):
        match = " ".join(f'"{w}"' for w in words)
        expected = {
            int(row_id): -bm25 / (1 - bm25)
            for row_id, bm25 in db.exec(  # type: ignore[call-overload]
                text(
                    "SELECT rowid, bm25(search_notices) FROM search_notices "
                    "WHERE search_notices MATCH :m"
                ),
                params={"m": match},
            ).all()
        }
        assert dict(
            search._sqlite_words(db, "search_notices", "notices", "explanation", words)
        ) == (pytest.approx(expected))
        # the same formula worked out from the rows' text, with the same counts
        rows, tokens_ = search._sqlite_totals(db, "search_notices")
        assert rows == 4 and tokens_ == sum(len(search.tokens(t)) for t in texts)
        weights = []
        for w in words:
            n = db.exec(  # type: ignore[call-overload]
                text("SELECT count(*) FROM search_notices WHERE search_notices MATCH :m"),
                params={"m": f'"{w}"'},
            ).one()[0]
            weights.append((search.tokens(w), max(1e-6, math.log((4 - n + 0.5) / (n + 0.5)))))
        got = dict(
            search._ranked_here(db, "search_notices", "explanation", match, weights, tokens_ / 4)
        )
        assert got.keys() == expected.keys() and expected
        for row_id, rank in got.items():
            assert rank == pytest.approx(expected[row_id], rel=1e-9), (words, row_id)
    # "streamer" is in all four notices: counted up to 2, its count is estimated from how far
    # back its second newest row lies (two of the two newest rows: all four)
    newest = db.exec(text("SELECT max(id) FROM notices")).one()[0]  # type: ignore[call-overload]
    assert search._sqlite_document_frequency(db, "search_notices", '"streamer"', newest, 4) == 4
    monkeypatch = pytest.MonkeyPatch()
    with monkeypatch.context() as m:
        m.setattr(search, "DF_EXACT", 2)
        assert search._sqlite_document_frequency(db, "search_notices", '"streamer"', newest, 4) == 4
        assert search._sqlite_document_frequency(db, "search_notices", '"gallery"', newest, 4) == 1
        ranked = search._sqlite_words(db, "search_notices", "notices", "explanation", ["deepfakes"])
    assert max(ranked, key=lambda r: r[1])[0] == min(r[0] for r in ranked)  # two of them: first


def test_a_common_part_of_model_ids_lists_the_cases_of_those_models(db, runtime, notice):
    ids = [notice(items=(f"acme/model-{i}",), email=f"m{i}@example.org")[1][0].id for i in range(3)]
    notice(items=("acme/other",), email="o@example.org")
    db.commit()
    hits = search_cases(db, query="odel-", secret=runtime.keys.secret_key)  # no word of theirs
    assert [h.case_id for h in hits] == ids[::-1]  # identifiers tie: the newest case first
    assert all(h.why == ["model"] for h in hits)


def test_the_ranking_reads_fts5_varints_and_counts_phrases_as_fts5_does():
    # SQLite's varints: 7 bits a byte while the high bit is set, the ninth byte whole
    assert search._varint(bytes([0xA0, 0xAB, 0x25]), 0) == (529829, 3)
    assert search._varint(bytes([0x05, 0x81, 0x00]), 1) == (128, 3)
    assert search._varint(bytes([0xFF] * 8 + [0x01]), 0) == ((1 << 64) - 255, 9)
    # a word FTS5 splits ("foo_bar") is a phrase of its tokens; diacritics are dropped
    assert search.tokens("Foo_bar, Café FOO bar") == ["foo", "bar", "cafe", "foo", "bar"]
    held = search.tokens("foo bar baz foo bar")
    assert search._occurrences(held, ["foo", "bar"]) == 2
    assert search._occurrences(held, ["baz", "foo"]) == 1
    assert search._occurrences(held, ["bar", "foo"]) == 0
    assert search._occurrences(held, []) == 0
