"""NCMEC hash sharing through python-threatexchange's NCMEC client, against a fake on 127.0.0.1."""

from __future__ import annotations

import json
import time

from sqlmodel import select

from hostguard.exchanges.models import Exchange
from hostguard.exchanges.service import queue_feedback
from hostguard.hashing.models import HashEntry
from hostguard.jobs.service import run_due
from tests.exchanges.fakes import FakeNCMEC
from tests.exchanges.test_exchanges import entries, hashes


def test_ncmec_full_fetch_then_paged_incremental_with_deletions_and_feedback(cli, runtime):
    now = int(time.time())
    values = hashes(4, 20)
    with FakeNCMEC() as server:
        for i, value in enumerate(values[:3]):
            server.put(f"img{i}", value, ts=now - 100 - i)
        added = cli(
            "exchange",
            "add",
            "ncmec",
            "--type",
            "ncmec",
            "--base-url",
            server.url,
            "--user",
            server.USER,
            "--password",
            server.PASSWORD,
        )
        assert added.exit_code == 0, added.output
        first = json.loads(cli("exchange", "fetch", "ncmec").output)
        assert first["ok"] and first["added"] == 3, first
        assert entries(runtime, "ncmec") == set(values[:3])
        with runtime.session() as s:
            refs = sorted(s.exec(select(HashEntry.ref)).all())
            assert refs == ["42-img0", "42-img1", "42-img2"]
            checkpoint = s.exec(select(Exchange)).one().checkpoint["get_entries_max_ts"]
        shown = json.loads(cli("hashlist", "show", "ncmec").output)
        assert (shown["category"], shown["action"]) == ("csam", "block")

        # the next window: one deletion and one new entry, one per page
        time.sleep(2.2)
        server.page_size = 1
        server.put("img0", None, ts=checkpoint + 1, deleted=True)
        server.put("img3", values[3], ts=checkpoint + 1)
        second = json.loads(cli("exchange", "fetch", "ncmec").output)
        assert (second["added"], second["removed"], second["batches"]) == (1, 1, 2), second
        assert entries(runtime, "ncmec") == set(values[1:])
        assert any("start=1" in p for _, p, _ in server.requests), "the second page was asked for"

        # a false-positive report goes to the entry's own feedback address, once
        with runtime.session() as s:
            assert queue_feedback(session=s, actor="test", list_name="ncmec", hashes=[values[1]])
        run_due(runtime.engine, runtime=runtime)
        ((path, body),) = server.feedback
        assert path == "/v2/entries/42/img1/PDQ/feedback"
        assert b"<negative>" in body and b"r-1" in body
        run_due(runtime.engine, runtime=runtime)
        assert len(server.feedback) == 1
