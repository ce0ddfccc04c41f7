"""Meta ThreatExchange privacy groups and Tech Against Terrorism through python-threatexchange's
clients, against fakes on 127.0.0.1."""

from __future__ import annotations

import json
import logging

from sqlmodel import select

from hostguard.hashing.models import HashEntry
from tests.exchanges.fakes import FakeTAT, FakeThreatExchange
from tests.exchanges.test_exchanges import entries, hashes, state


def test_threatexchange_privacy_group_full_then_incremental_with_deletions(cli, runtime, caplog):
    values = hashes(4, 30)
    with FakeThreatExchange(page_size=2) as server:
        for value in values[:3]:
            server.put(value)
        added = cli(
            "exchange",
            "add",
            "te-group",
            "--type",
            "threatexchange",
            "--base-url",
            server.url,
            "--privacy-group",
            server.GROUP,
            "--app-token",
            server.TOKEN,
        )
        assert added.exit_code == 0, added.output
        with caplog.at_level(logging.DEBUG):
            first = json.loads(cli("exchange", "fetch", "te-group").output)
        assert first["ok"] and first["added"] == 3 and first["batches"] == 2, first
        assert entries(runtime, "te-group") == set(values[:3])
        server.put(values[0], delete=True)
        server.put(values[3])
        second = json.loads(cli("exchange", "fetch", "te-group").output)
        assert (second["added"], second["removed"]) == (1, 1), second
        assert entries(runtime, "te-group") == set(values[1:])
        # nothing new: an empty answer is an up-to-date list, not an error
        assert json.loads(cli("exchange", "fetch", "te-group").output)["ok"]
        # changed metadata (other tags) changes the entry's label, not the list
        with runtime.session() as s:
            before = s.exec(select(HashEntry.label).where(HashEntry.hash == values[1])).one()
        server.put(values[1], tags=("violence",))
        changed = json.loads(cli("exchange", "fetch", "te-group").output)
        assert (changed["added"], changed["removed"], changed["updated"]) == (0, 0, 1), changed
        with runtime.session() as s:
            after = s.exec(select(HashEntry.label).where(HashEntry.hash == values[1])).one()
        assert before != after and "violence" in after
        # the token travels in the URL: redacted from the log and from a stored error
        server.faults.statuses = [400] * 6
        failed = cli("exchange", "fetch", "te-group")
        assert failed.exit_code == 1
        secret = server.TOKEN.split("|")[1]
        assert secret not in caplog.text and secret not in failed.output
        assert secret not in (state(cli, "te-group")["last_error"] or "")


def test_tech_against_terrorism_full_then_incremental_with_deletions(cli, runtime):
    values = hashes(4, 31)
    with FakeTAT(page_size=2) as server:
        for number, value in enumerate(values[:3], start=1):
            server.put(number, value)
        added = cli(
            "exchange",
            "add",
            "tat",
            "--type",
            "tat",
            "--base-url",
            server.url,
            "--user",
            server.USER,
            "--password",
            server.PASSWORD,
        )
        assert added.exit_code == 0, added.output
        first = json.loads(cli("exchange", "fetch", "tat").output)
        assert first["ok"] and first["added"] == 3, first
        assert entries(runtime, "tat") == set(values[:3])
        server.put(1, values[0], deleted=True)
        server.put(4, values[3])
        second = json.loads(cli("exchange", "fetch", "tat").output)
        assert (second["added"], second["removed"]) == (1, 1), second
        assert entries(runtime, "tat") == set(values[1:])
        shown = json.loads(cli("hashlist", "show", "tat").output)
        assert (shown["category"], shown["action"]) == ("terrorism", "review")
