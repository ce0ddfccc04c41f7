"""False-positive control per list: the allow-list (suppress) and the quarantine of flooding entries."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import requests
from PIL import Image
from sqlmodel import select

from hostguard.audit.models import AuditRecord
from hostguard.hashing.models import EntryState, HashEntry
from hostguard.platform.models import ModelRepo
from tests.ops.helpers import free_port, process_env, start, stop, wait_for
from tests.uploads.test_check_api import textured_png


def _pdq(runtime, image: bytes) -> str:
    from hostguard.hashing.service import scan_images

    with runtime.session() as s:
        return scan_images(session=s, runtime=runtime, images=[("x.png", image)])[0].hashes["pdq"]


def _import(cli, tmp_path, name: str, hashes: list[str], *extra: str):
    path = tmp_path / f"{name}.txt"
    path.write_text("".join(f"{h}\n" for h in hashes))
    result = cli("hashlist", "import", name, str(path), "-a", "pdq", "--action", "block", *extra)
    assert result.exit_code == 0, result.output
    return result


def _check(client, operator, image: bytes, repo: str = "alice/model") -> dict:
    from tests.uploads.conftest import check_body

    body = check_body(repo=repo, visibility="private", images=[("samples/a.png", image)])
    response = client.post("/api/v1/uploads/check", json=body, headers=operator)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.fixture
def operator(api_headers):
    return api_headers("operator")


def test_suppress_by_the_wrongly_matched_images_hash_stops_the_entry_and_is_audited(
    cli, client, operator, runtime, tmp_path
):
    image = textured_png(41)
    pdq = _pdq(runtime, image)
    flipped = format(int(pdq, 16) ^ 0b111, "064x")  # the list holds a near copy: distance 3
    _import(cli, tmp_path, "partner", [flipped])
    assert _check(client, operator, image)["matches"], "the list matches before suppression"

    result = cli("hashlist", "suppress", "partner", pdq, "--reason", "a stock photo, not abuse")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert (
        summary["suppressed"] == 1
        and summary["entries"] == ["entry-1"]
        or summary["entries"][0].startswith("entry-")
    )
    assert pdq not in result.output and flipped not in result.output

    assert _check(client, operator, image, repo="alice/other")["matches"] == []
    # a re-import (even --replace) does not bring the entry back
    _import(cli, tmp_path, "partner", [flipped, "f" * 60 + "1234"], "--replace")
    assert _check(client, operator, image, repo="alice/third")["matches"] == []
    shown = json.loads(cli("hashlist", "show", "partner", "--false-positives").output)
    assert shown["suppressions"] == 2 and shown["suppressed"] == 1
    with runtime.session() as s:
        (audit,) = s.exec(select(AuditRecord).where(AuditRecord.action == "hashlist.suppress"))
        assert audit.reason == "a stock photo, not abuse" and audit.actor.startswith("cli")
        assert pdq not in json.dumps(audit.details) and flipped not in json.dumps(audit.details)

    assert cli("hashlist", "unsuppress", "partner", flipped, "--reason", "after all").exit_code == 0
    assert _check(client, operator, image, repo="alice/fourth")["matches"]


def test_suppress_needs_a_reason_and_a_valid_hash(cli, tmp_path):
    _import(cli, tmp_path, "partner", ["f" * 60 + "1234"])
    no_reason = cli("hashlist", "suppress", "partner", "f" * 60 + "1234", "--reason", " ")
    assert no_reason.exit_code == 2 and "say why" in no_reason.stderr
    bad = cli("hashlist", "suppress", "partner", "abc", "--reason", "x")
    assert bad.exit_code == 2 and "64 hex digits" in bad.stderr
    missing = cli("hashlist", "suppress", "nope", "f" * 60 + "1234", "--reason", "x")
    assert missing.exit_code == 2 and "no hash list named" in missing.stderr


def _variant(seed: int, n: int) -> bytes:
    """Distinct files (other bytes, other SHA-256) with the same picture: one pixel differs."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)
    img = np.array(Image.fromarray(base).resize((256, 256), Image.BICUBIC))
    img[0, 0] = [n % 256, (n * 7) % 256, 3]
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "PNG")
    return buf.getvalue()


def test_an_entry_flooded_with_matches_is_quarantined_and_stops_acting(
    cli, client, operator, runtime, tmp_path, login
):
    from tests.test_policy_rules import OWN

    policy = tmp_path / "policy.yaml"
    policy.write_text(
        json.dumps({**OWN, "hash_lists": {"quarantine_distinct_images": 3}}), encoding="utf-8"
    )
    runtime.settings.policy_file = policy
    assert runtime.policy.hash_lists.quarantine_distinct_images == 3
    _import(cli, tmp_path, "flood", [_pdq(runtime, _variant(5, 0))])

    bodies = [_check(client, operator, _variant(5, n), repo=f"u/m{n}") for n in range(1, 6)]
    # the third distinct image quarantines the entry; the fourth and fifth are not matched
    assert [b["decision"] for b in bodies[:3]] == ["block", "block", "block"]
    assert [b["matches"] for b in bodies[3:]] == [[], []]
    assert all(b["decision"] != "block" for b in bodies[3:])
    with runtime.session() as s:
        entry = s.exec(select(HashEntry)).one()
        assert entry.state == EntryState.QUARANTINED
        (audit,) = s.exec(
            select(AuditRecord).where(AuditRecord.action == "hashlist.entry_quarantined")
        )
        assert audit.details["distinct_images"] == 3 and audit.details["list"] == "flood"
    login(client, "admin")
    console = client.get("/console/hashlists").get_data(as_text=True)
    assert "entry-1" in console  # the quarantined entry, for the admin who was alerted
    shown = json.loads(cli("hashlist", "show", "flood", "--false-positives").output)
    assert shown["quarantined"] == ["entry-1"] or len(shown["quarantined"]) == 1

    released = cli("hashlist", "release", "flood", shown["quarantined"][0], "--reason", "checked")
    assert released.exit_code == 0, released.output
    assert _check(client, operator, _variant(5, 9), repo="u/again")["decision"] == "block"


def test_the_same_image_again_does_not_count_towards_quarantine(
    cli, client, operator, runtime, tmp_path
):
    from tests.test_policy_rules import OWN

    policy = tmp_path / "policy.yaml"
    policy.write_text(
        json.dumps({**OWN, "hash_lists": {"quarantine_distinct_images": 2}}), encoding="utf-8"
    )
    runtime.settings.policy_file = policy
    image = _variant(6, 0)
    _import(cli, tmp_path, "same", [_pdq(runtime, image)])
    for n in range(4):
        assert _check(client, operator, image, repo=f"u/s{n}")["decision"] == "block"
    with runtime.session() as s:
        assert s.exec(select(HashEntry)).one().state == EntryState.ACTIVE
        assert s.exec(select(ModelRepo)).all()


def test_a_suppression_acts_at_once_in_every_web_process(pg_runtime, tmp_path):
    """Two `hostguard serve` processes on PostgreSQL, each with its index built, see it at once."""
    from click.testing import CliRunner

    from hostguard.accounts.service import create_api_key
    from hostguard.cli import main
    from tests.conftest import cli_env

    runtime = pg_runtime
    image = textured_png(43)
    pdq = _pdq(runtime, image)
    runner = CliRunner()
    env = cli_env(runtime)
    (tmp_path / "l.txt").write_text(pdq + "\n")
    imported = runner.invoke(
        main, ["hashlist", "import", "pg-list", str(tmp_path / "l.txt"), "-a", "pdq"], env=env
    )
    assert imported.exit_code == 0, imported.output
    with runtime.session() as s:
        _, key = create_api_key(session=s, name="scan", scopes=["operator"], actor="test")
    headers = {"Authorization": f"Bearer {key}"}
    ports = [free_port(), free_port()]
    procs = [
        start(
            ["serve", "--port", str(port), "--workers", "1", "--threads", "2"],
            process_env(runtime),
            tmp_path / f"web-{port}.log",
        )
        for port in ports
    ]
    try:

        def scan(port: int) -> list:
            response = requests.post(
                f"http://127.0.0.1:{port}/api/v1/scan",
                files={"images": ("a.png", image, "image/png")},
                headers=headers,
                timeout=30,
            )
            return response.json()["results"][0]["matches"]

        def up(port: int) -> bool:
            try:
                return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).ok
            except requests.RequestException:
                return False

        for port in ports:
            wait_for(lambda port=port: up(port), what=f"web process on {port}", timeout=60)
            assert scan(port), "each process matches (and caches its index) before"
        done = runner.invoke(
            main, ["hashlist", "suppress", "pg-list", pdq, "--reason", "wrong match"], env=env
        )
        assert done.exit_code == 0, done.output
        assert [scan(port) for port in ports] == [[], []]
    finally:
        for proc in procs:
            stop(proc)


def test_api_and_console_suppress(cli, client, operator, runtime, tmp_path, login, csrf_token):
    image = textured_png(44)
    pdq = _pdq(runtime, image)
    _import(cli, tmp_path, "partner", [pdq])
    refused = client.post(
        "/api/v1/hashlists/partner/suppressions", json={"hash": pdq, "reason": ""}, headers=operator
    )
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "reason_required"
    done = client.post(
        "/api/v1/hashlists/partner/suppressions",
        json={"hash": pdq, "reason": "matched a logo"},
        headers=operator,
    )
    assert done.status_code == 200 and done.get_json()["suppressed"] == 1
    assert pdq not in done.get_data(as_text=True)
    assert _check(client, operator, image)["matches"] == []

    _import(cli, tmp_path, "other", [pdq])
    login(client, "admin")
    page = client.get("/console/hashlists").get_data(as_text=True)
    assert "Suppress on other" in page and pdq not in page
    response = client.post(
        "/console/hashlists/other/suppress",
        data={
            "hash": pdq,
            "reason": "same logo",
            "csrf_token": csrf_token(client, "/console/hashlists"),
        },
        follow_redirects=True,
    )
    assert "1 entry(ies) of other suppressed" in response.get_data(as_text=True)
    assert _check(client, operator, image, repo="alice/again")["matches"] == []


def test_suppressing_entries_by_id_touches_only_that_lists_entries(cli, runtime, tmp_path):
    """What `mark match wrong` calls for a video match: entries named by id, on one list (an id
    of another list's entry is ignored), allow-listed by their own hashes; a reason is needed."""
    from hostguard.errors import InvalidInput
    from hostguard.hashing.models import HashSuppression
    from hostguard.hashing.service import suppress_entries

    listed, other = _pdq(runtime, textured_png(51)), _pdq(runtime, textured_png(52))
    _import(cli, tmp_path, "mine", [listed])
    _import(cli, tmp_path, "theirs", [other])
    with runtime.session() as s:
        ids = {e.hash: e.id for e in s.exec(select(HashEntry)).all()}
        with pytest.raises(InvalidInput):
            suppress_entries(
                session=s, actor="test", name="mine", entry_ids=ids.values(), reason=" "
            )
        summary, hashes = suppress_entries(
            session=s, actor="test", name="mine", entry_ids=ids.values(), reason="a test card"
        )
    assert (summary["list"], summary["suppressed"], hashes) == ("mine", 1, [listed])
    with runtime.session() as s:
        states = {e.hash: e.state for e in s.exec(select(HashEntry)).all()}
        allowed = s.exec(select(HashSuppression.hash)).all()
    assert states == {listed: EntryState.SUPPRESSED, other: EntryState.ACTIVE}
    assert allowed == [listed]
