"""Exchanges feeding hash lists: the file source and StopNCII through python-threatexchange's client,
against fake servers on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import signal

import numpy as np
import pytest
from sqlalchemy import text
from sqlmodel import SQLModel, select

from hostguard.exchanges.models import Exchange, ExchangeRecord
from hostguard.hashing.models import HashEntry, HashList
from hostguard.jobs.service import run_due
from tests.exchanges.fakes import FakeFileServer, FakeStopNCII
from tests.ops.helpers import process_env, start, stop, wait_for

GROUP = 1000  # records a group of the fetching processes holds in the kill tests


def hashes(count: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return ["".join(f"{b:02x}" for b in rng.integers(1, 255, 32)) for _ in range(count)]


def entries(runtime, name: str) -> set[str]:
    with runtime.session() as s:
        hash_list = s.exec(select(HashList).where(HashList.name == name)).one()
        found = set(s.exec(select(HashEntry.hash).where(HashEntry.list_id == hash_list.id)).all())
        assert hash_list.entry_count == len(found)
        return found


def state(cli, name: str) -> dict:
    rows = json.loads(cli("exchange", "list", "--json").output)["exchanges"]
    return next(r for r in rows if r["name"] == name)


def add_stopncii(cli, server: FakeStopNCII, name: str = "stopncii", *extra: str):
    result = cli(
        "exchange",
        "add",
        name,
        "--type",
        "stopncii",
        "--base-url",
        server.url,
        "--subscription-key",
        server.SUBSCRIPTION,
        "--fetch-key",
        server.FETCH,
        "--feedback-key",
        server.FEEDBACK,
        *extra,
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_a_file_exchange_is_read_again_on_every_fetch_and_applied_as_replace(cli, runtime):
    first, second = hashes(3, 1), hashes(2, 2)
    with FakeFileServer("".join(f"pdq {h} tag id:{i}\n" for i, h in enumerate(first))) as server:
        added = cli("exchange", "add", "partner-file", "--type", "file", "--url", server.url)
        assert added.exit_code == 0, added.output
        info = json.loads(added.output)
        assert info["list"] == "partner-file" and info["credentials"] == "none"
        assert cli("exchange", "fetch", "partner-file").exit_code == 0
        assert entries(runtime, "partner-file") == set(first)
        server.content = "\n".join([first[0], *second]) + "\n"  # plain text this time
        fetched = json.loads(cli("exchange", "fetch", "partner-file").output)
        assert (fetched["added"], fetched["removed"], fetched["ok"]) == (2, 2, True)
        assert entries(runtime, "partner-file") == {first[0], *second}
        # the list has the policy's settings for a file exchange
        shown = json.loads(cli("hashlist", "show", "partner-file").output)
        assert (shown["category"], shown["action"]) == ("other", "review")
        # a file that no longer reads keeps the last good list and is shown as failing
        server.content = ""
        failed = cli("exchange", "fetch", "partner-file")
        assert failed.exit_code == 1 and json.loads(failed.output)["ok"] is False
        assert entries(runtime, "partner-file") == {first[0], *second}
        row = state(cli, "partner-file")
        assert row["failures"] == 1 and "refused" in row["last_error"]
        assert row["last_added"] == 2 and row["last_success_at"]


def test_stopncii_first_full_fetch_then_incremental_with_removals(cli, runtime):
    values = hashes(5, 3)
    with FakeStopNCII(page_size=2) as server:
        for value in values:
            server.put(value)
        info = add_stopncii(cli, server)
        assert info["credentials"] == "stored" and "subscription_key" not in json.dumps(info)
        result = json.loads(cli("exchange", "fetch", "stopncii").output)
        assert result["ok"] and result["added"] == 5 and result["batches"] == 3
        assert entries(runtime, "stopncii") == set(values)
        # every request carried the client's two keys
        assert all(
            h.get("Ocp-Apim-Subscription-Key") == server.SUBSCRIPTION for _, _, h in server.requests
        )

        asked = len(server.requests)
        new = hashes(2, 4)
        for value in new:
            server.put(value)
        server.put(values[0], status="Withdrawn")
        server.put(values[1], status="Deleted")
        result = json.loads(cli("exchange", "fetch", "stopncii").output)
        assert (result["added"], result["removed"]) == (2, 2), result
        assert entries(runtime, "stopncii") == set(values[2:]) | set(new)
        # incremental: the second fetch asked from the checkpoint, not from the start
        starts = [p for _, p, _ in server.requests[asked:] if "startTimestamp" in p]
        assert starts and all("startTimestamp=10&" not in p for p in starts)
        row = state(cli, "stopncii")
        assert (row["added_total"], row["removed_total"]) == (7, 2)
        assert row["last_error"] is None and row["lag_seconds"] is not None
        shown = json.loads(cli("hashlist", "show", "stopncii").output)
        assert (shown["category"], shown["action"]) == ("ncii", "block")


def test_a_server_answering_500_or_429_for_a_while(cli, runtime, caplog):
    values = hashes(3, 5)
    with FakeStopNCII(page_size=5) as server:
        for value in values:
            server.put(value)
        add_stopncii(cli, server)
        # a short spell: the client's own retries ride it out
        server.faults.statuses = [500, 429, 500]
        assert json.loads(cli("exchange", "fetch", "stopncii").output)["added"] == 3
        # a long one: the fetch fails, the list stays, the state shows it, an alert is raised
        server.put(hashes(1, 6)[0])
        server.faults.statuses = [500] * 20
        with caplog.at_level(logging.WARNING):
            failed = cli("exchange", "fetch", "stopncii")
        assert failed.exit_code == 1
        assert entries(runtime, "stopncii") == set(values)
        row = state(cli, "stopncii")
        assert row["failures"] == 1 and "500" in row["last_error"]
        with runtime.session() as s:
            from hostguard.audit.models import AuditRecord

            assert s.exec(
                select(AuditRecord).where(AuditRecord.action == "exchange.fetch_failed")
            ).all()
        server.faults.statuses = []
        assert json.loads(cli("exchange", "fetch", "stopncii").output)["added"] == 1
        assert state(cli, "stopncii")["failures"] == 0


def test_credentials_are_absent_from_the_database_dump_and_the_logs(cli, runtime, caplog):
    with FakeStopNCII() as server:
        server.put(hashes(1, 7)[0])
        with caplog.at_level(logging.DEBUG):
            outputs = [add_stopncii(cli, server)]
            outputs.append(cli("exchange", "fetch", "stopncii").output)
            outputs.append(cli("exchange", "list").output)
            server.faults.statuses = [401] * 10  # a failing fetch writes its error too
            outputs.append(cli("exchange", "fetch", "stopncii").output)
        secrets = (server.SUBSCRIPTION, server.FETCH, server.FEEDBACK)
        dump = []
        with runtime.engine.connect() as connection:
            for table in SQLModel.metadata.sorted_tables:
                for row in connection.execute(text(f'SELECT * FROM "{table.name}"')):
                    dump.append(repr(tuple(row)))
        everything = "\n".join(dump) + json.dumps(outputs) + caplog.text
        for secret in secrets:
            assert secret not in everything
            assert secret.encode() not in b"".join(
                bytes(c) if isinstance(c, (bytes, memoryview)) else b"" for c in dump
            )
        with runtime.session() as s:
            assert s.exec(select(Exchange)).one().credentials_enc


def test_the_worker_fetches_on_schedule_and_a_new_entry_opens_a_case(
    cli, client, api_headers, runtime
):
    """A model published before the exchange listed its image gets a case within one fetch."""
    from hostguard.cases.models import Case
    from hostguard.jobs.periodic import schedule_due
    from tests.uploads.conftest import check_body
    from tests.uploads.test_check_api import certify_all, textured_png

    operator = api_headers("operator")
    image = textured_png(61)
    certify_all(client, operator)
    body = check_body(visibility="private", images=[("samples/a.png", image)])
    assert client.post("/api/v1/uploads/check", json=body, headers=operator).status_code == 200
    with runtime.session() as s:
        from hostguard.hashing.service import scan_images

        pdq = scan_images(session=s, runtime=runtime, images=[("a.png", image)])[0].hashes["pdq"]
        assert s.exec(select(Case).where(Case.source == "retroactive_match")).all() == []
    with FakeStopNCII() as server:
        server.put(pdq)
        add_stopncii(cli, server)
        assert "exchanges.schedule" in schedule_due(runtime.engine)
        run_due(runtime.engine, runtime=runtime)  # schedule -> fetch -> re-match
        with runtime.session() as s:
            (case,) = s.exec(select(Case).where(Case.source == "retroactive_match")).all()
            assert s.exec(select(Exchange)).one().last_success_at is not None
        # not due again before its interval: nothing more is fetched
        asked = len(server.requests)
        with runtime.session() as s:
            from hostguard.exchanges.service import due_exchanges

            assert due_exchanges(session=s) == []
        assert len(server.requests) == asked


def test_a_fetch_killed_mid_way_resumes_without_losing_or_doubling(runtime, cli, tmp_path):
    """Pages of 500; the first two (one group of 1,000) are applied, the third is held and
    the fetching process killed; a new fetch resumes from the checkpoint after page two."""
    page = GROUP // 2
    values = hashes(3 * page, 8)
    with FakeStopNCII(page_size=page) as server:
        for value in values:
            server.put(value)
        add_stopncii(cli, server)
        server.faults.hold_page = 3
        env = process_env(runtime, HOSTGUARD_EXCHANGE_GROUP_RECORDS=str(GROUP))
        proc = start(["exchange", "fetch", "stopncii"], env, tmp_path / "fetch.log")
        try:
            wait_for(server.faults.held.is_set, what="the fetch to ask for page 3", timeout=120)
            stop(proc, signal.SIGKILL)
        finally:
            if proc.poll() is None:
                stop(proc, signal.SIGKILL)
        # the first two pages are applied with their checkpoint, nothing of the third
        assert entries(runtime, "stopncii") == set(values[: 2 * page])
        with runtime.session() as s:
            exchange = s.exec(select(Exchange)).one()
            last = server.records[2 * page - 1]["lastModtimestamp"]
            assert exchange.checkpoint["update_time"] == last
            assert exchange.added_total == 2 * page
        server.faults.hold_page = None
        server.faults.release.set()
        result = json.loads(cli("exchange", "fetch", "stopncii").output)
        # page two's last record is sent again from the checkpoint: the same record, no change
        assert result["ok"] and result["added"] == page, result
        assert entries(runtime, "stopncii") == set(values)
        with runtime.session() as s:
            assert s.exec(select(Exchange)).one().added_total == 3 * page
            records = s.exec(select(ExchangeRecord)).all()
            assert len(records) == 3 * page == len({r.key for r in records})


def test_exchange_settings_are_checked_all_at_once(cli):
    result = cli("exchange", "add", "x", "--type", "stopncii")
    assert result.exit_code == 2
    assert "--subscription-key, --fetch-key" in result.stderr
    result = cli("exchange", "add", "y", "--type", "file", "--algorithm", "pdq")
    assert result.exit_code == 2 and "--url" in result.stderr
    result = cli("exchange", "add", "z", "--type", "threatexchange", "--app-token", "1|x")
    assert "--privacy-group" in result.stderr


def test_remove_disconnects_and_removes_the_list(cli, runtime):
    with FakeStopNCII() as server:
        server.put(hashes(1, 9)[0])
        add_stopncii(cli, server)
        assert cli("exchange", "fetch").exit_code == 0
        removed = cli("exchange", "remove", "stopncii")
        assert removed.exit_code == 0 and json.loads(removed.output)["entries"] == 1
        assert cli("exchange", "list").output.strip() == "no exchanges"
        with runtime.session() as s:
            assert s.exec(select(HashList)).all() == []
        assert cli("exchange", "remove", "stopncii").exit_code == 2


@pytest.fixture(autouse=True)
def _released():
    yield


def test_api_console_and_metrics_show_the_state(client, api_headers, runtime, login, csrf_token):
    operator = api_headers("operator")
    with FakeStopNCII() as server:
        server.put(hashes(1, 10)[0])
        body = {
            "name": "ncii",
            "type": "stopncii",
            "base_url": server.url,
            "credentials": {"subscription_key": server.SUBSCRIPTION, "fetch_key": server.FETCH},
        }
        created = client.post("/api/v1/exchanges", json=body, headers=operator)
        assert created.status_code == 201, created.get_json()
        assert created.get_json()["credentials"] == "stored"
        assert server.SUBSCRIPTION not in created.get_data(as_text=True)
        assert client.post("/api/v1/exchanges", json=body, headers=operator).status_code == 409
        bad = client.post(
            "/api/v1/exchanges", json={"name": "x", "type": "ncmec"}, headers=operator
        )
        assert bad.status_code == 422 and "--user, --password" in bad.get_json()["error"]["message"]
        queued = client.post("/api/v1/exchanges/ncii/fetch", headers=operator)
        assert queued.status_code == 202
        with runtime.session() as s:
            from hostguard.exchanges.service import enqueue_fetch
            from hostguard.jobs.models import Job

            enqueue_fetch(session=s, name="ncii")  # the schedule, while one is queued
            assert len(s.exec(select(Job).where(Job.kind == "exchanges.fetch")).all()) == 1
        run_due(runtime.engine, runtime=runtime)
        (row,) = client.get("/api/v1/exchanges", headers=operator).get_json()["exchanges"]
        assert row["entries"] == 1 and row["last_added"] == 1 and row["failures"] == 0
        assert server.FETCH not in json.dumps(row)

        metrics = client.get("/metrics").get_data(as_text=True)
        assert 'hostguard_exchange_added{exchange="ncii",type="stopncii"} 1.0' in metrics
        assert 'hostguard_exchange_failures{exchange="ncii",type="stopncii"} 0.0' in metrics
        assert "hostguard_exchange_lag_seconds{" in metrics

        login(client, "admin")
        page = client.get("/console/exchanges").get_data(as_text=True)
        assert "ncii" in page and "stopncii (pdq)" in page and server.SUBSCRIPTION not in page
        response = client.post(
            "/console/exchanges/ncii/fetch",
            data={"csrf_token": csrf_token(client, "/console/exchanges")},
            follow_redirects=True,
        )
        assert "A fetch of ncii is queued" in response.get_data(as_text=True)
        assert client.delete("/api/v1/exchanges/ncii", headers=operator).status_code == 200
