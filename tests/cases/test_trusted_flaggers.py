"""The trusted-flagger register (Art. 22 DSA) through the command line and the API; priority by
area of expertise; suspension (Art. 22(6)); the per-flagger figures for the Art. 22(3) report,
checked against a hand count."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta

from sqlmodel import select

from hostguard.accounts.flaggers import add_flagger, suspend_flagger
from hostguard.accounts.models import TrustedFlagger
from hostguard.accounts.service import create_api_key
from hostguard.audit.models import AuditRecord
from hostguard.cases.flaggers import flagger_figures
from hostguard.cases.models import Case, Notice
from hostguard.db.types import utcnow
from tests.web.test_pages_a11y import assert_accessible

ENTRY = {
    "name": "Hate Watch e.V.",
    "coordinator": "Bundesnetzagentur",
    "member_state": "DE",
    "areas": ["hate"],
    "designated_on": "2025-03-01",
    "designation_reference": "BNetzA-TF-2025-007",
}


def register(runtime, *, name: str | None = None, areas=("hate",)) -> TrustedFlagger:
    with runtime.session() as s:
        flagger = add_flagger(
            session=s,
            actor="test",
            policy=runtime.policy,
            **{**ENTRY, "name": name or f"Flagger {secrets.token_hex(3)}", "areas": list(areas)},
        )
        s.flush()
        s.expunge(flagger)
        return flagger


def flagger_headers(runtime, *, areas=("hate",), flagger: TrustedFlagger | None = None) -> dict:
    """Authorization headers of a new key of a (new, unless given) register entry."""
    flagger = flagger or register(runtime, areas=areas)
    with runtime.session() as s:
        _, plaintext = create_api_key(
            session=s,
            name=f"{flagger.name} key",
            scopes=["trusted_flagger"],
            actor="test",
            flagger=flagger.name,
        )
    return {"Authorization": f"Bearer {plaintext}"}


def _notice(client, headers, *, category: str, item: str):
    body = {
        "items": [item],
        "category": category,
        "explanation": "This model generates illegal imagery of the kind named.",
        "good_faith": True,
    }
    response = client.post("/api/v1/notices", json=body, headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["case_ids"][0]


def _public_notice(client, *, category: str, item: str, n: int):
    body = {
        "items": [item],
        "category": category,
        "explanation": "This model generates illegal imagery of the kind named.",
        "notifier": {"name": "Pat Public", "email": f"pat{n}@example.org"},
        "good_faith": True,
    }
    response = client.post(
        "/api/v1/notices", json=body, environ_base={"REMOTE_ADDR": f"198.51.100.{n}"}
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["case_ids"][0]


def _case(runtime, case_id: int) -> Case:
    with runtime.session() as s:
        case = s.get(Case, case_id)
        s.expunge(case)
        return case


def test_register_through_the_command_line(cli, runtime):
    bad = cli(
        "flaggers", "add", "Somewhere Inc", "--coordinator", "FCC", "--member-state", "US",
        "--area", "hate", "--area", "astrology", "--designated-on", "2025-13-01",
        "--reference", "X",
    )  # fmt: skip
    assert bad.exit_code == 2 and len(bad.output.strip().splitlines()) == 1
    for word in ("member_state", "US", "astrology", "designated_on"):
        assert word in bad.output
    added = cli(
        "flaggers", "add", ENTRY["name"], "--coordinator", ENTRY["coordinator"],
        "--member-state", "de", "--area", "hate", "--area", "terrorism",
        "--designated-on", ENTRY["designated_on"], "--reference", ENTRY["designation_reference"],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    key = cli("apikey", "create", "hate watch feed", "--flagger", ENTRY["name"])
    assert key.exit_code == 0, key.output
    wrong = cli("apikey", "create", "x", "--scope", "operator", "--flagger", ENTRY["name"])
    assert wrong.exit_code == 2 and "trusted_flagger scope" in wrong.output
    nobody = cli("apikey", "create", "x", "--flagger", "Nobody")
    assert nobody.exit_code == 2 and "Nobody" in nobody.output
    listed = cli("flaggers", "list")
    assert ENTRY["name"] in listed.output and "DE\tactive\thate,terrorism" in listed.output
    shown = json.loads(cli("flaggers", "show", ENTRY["name"]).output)
    assert shown["coordinator"] == "Bundesnetzagentur" and shown["areas"] == ["hate", "terrorism"]
    assert shown["designated_on"] == "2025-03-01" and len(shown["api_keys"]) == 1
    assert shown["figures"]["notices"] == 0
    no_reason = cli("flaggers", "suspend", ENTRY["name"], "--reason", "")
    assert no_reason.exit_code == 2 and "reason" in no_reason.output
    assert (
        cli("flaggers", "suspend", ENTRY["name"], "--reason", "BNetzA request 2026-11").exit_code
        == 0
    )
    assert json.loads(cli("flaggers", "show", "1").output)["status"] == "suspended"
    again = cli("flaggers", "suspend", ENTRY["name"], "--reason", "BNetzA request 2026-11")
    assert again.exit_code == 2 and "already suspended" in again.output
    assert (
        cli("flaggers", "reinstate", ENTRY["name"], "--reason", "BNetzA lifted it").exit_code == 0
    )
    assert cli("flaggers", "show", "Nobody").exit_code == 2
    with runtime.session() as s:
        trail = [
            (r.action, r.reason)
            for r in s.exec(select(AuditRecord).order_by(AuditRecord.id))
            if r.action.startswith("flagger.")
        ]
    assert trail == [
        ("flagger.add", None),
        ("flagger.suspend", "BNetzA request 2026-11"),
        ("flagger.reinstate", "BNetzA lifted it"),
    ]


def test_register_through_the_api(client, runtime, api_headers, make_user):
    admin, _ = make_user("admin")
    admin_key = api_headers("moderator", admin)
    moderator = api_headers("moderator")
    assert client.post("/api/v1/trusted-flaggers", json=ENTRY, headers=moderator).status_code == 403
    bad = client.post(
        "/api/v1/trusted-flaggers",
        json={**ENTRY, "member_state": "CH", "areas": [], "designation_reference": " "},
        headers=admin_key,
    )
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "invalid_flagger"
    fields = {f["field"] for f in bad.get_json()["error"]["details"]["fields"]}
    assert fields == {"member_state", "areas", "designation_reference"}
    created = client.post("/api/v1/trusted-flaggers", json=ENTRY, headers=admin_key)
    assert created.status_code == 201, created.get_data(as_text=True)
    entry = created.get_json()
    assert entry["member_state"] == "DE" and entry["status"] == "active"
    assert client.post("/api/v1/trusted-flaggers", json=ENTRY, headers=admin_key).status_code == 409
    listing = client.get("/api/v1/trusted-flaggers", headers=moderator).get_json()["items"]
    assert [f["name"] for f in listing] == [ENTRY["name"]]
    assert listing[0]["figures"]["notices"] == 0
    missing = client.get("/api/v1/trusted-flaggers/nobody", headers=moderator)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "flagger_not_found"
    path = f"/api/v1/trusted-flaggers/{entry['id']}"
    assert (
        client.post(
            f"{path}/suspend", json={"reason": "DSC request"}, headers=moderator
        ).status_code
        == 403
    )
    suspended = client.post(f"{path}/suspend", json={"reason": "DSC request"}, headers=admin_key)
    assert suspended.status_code == 200 and suspended.get_json()["status"] == "suspended"
    assert client.get(path, headers=moderator).get_json()["status_reason"] == "DSC request"
    back = client.post(f"{path}/reinstate", json={"reason": "DSC lifted it"}, headers=admin_key)
    assert back.get_json()["status"] == "active"
    assert client.post("/api/v1/trusted-flaggers", json=ENTRY).status_code == 401


def test_notices_go_first_only_in_the_flaggers_areas(client, runtime):
    flagger = register(runtime, areas=["hate"])
    headers = flagger_headers(runtime, flagger=flagger)
    in_area = _case(runtime, _notice(client, headers, category="hate", item="a/in-area"))
    public_same = _case(runtime, _public_notice(client, category="hate", item="a/public", n=1))
    outside = _case(runtime, _notice(client, headers, category="fraud", item="a/outside"))
    public_fraud = _case(runtime, _public_notice(client, category="fraud", item="a/pf", n=2))
    assert in_area.source == "trusted_flagger" and in_area.priority > public_same.priority
    assert outside.source == "notice" and outside.priority == public_fraud.priority
    # suspended at a coordinator's request: an ordinary notice, even in its area
    with runtime.session() as s:
        suspend_flagger(session=s, actor="test", ident=flagger.id, reason="DSC request")
    during = _case(runtime, _notice(client, headers, category="hate", item="a/during"))
    assert during.source == "notice" and during.priority == public_same.priority
    # a trusted_flagger key that belongs to no register entry sends ordinary notices
    with runtime.session() as s:
        _, loose = create_api_key(
            session=s, name="not in the register", scopes=["trusted_flagger"], actor="test"
        )
    unlisted = _case(
        runtime,
        _notice(client, {"Authorization": f"Bearer {loose}"}, category="hate", item="a/loose"),
    )
    assert unlisted.source == "notice"
    with runtime.session() as s:  # every notice sent with the entry's key is counted as its own
        assert len(s.exec(select(Notice).where(Notice.flagger_id == flagger.id)).all()) == 3


def test_figures_match_a_hand_count(db, runtime, client, people, decided):
    """Five notices of one flagger: 2 upheld, 1 not acted on, 1 unfounded, 1 open; another
    flagger's notice and a public one count for neither."""
    flagger = register(runtime, name="Counted", areas=["hate"])
    other = register(runtime, name="Other", areas=["hate"])
    headers = flagger_headers(runtime, flagger=flagger)
    ids = [_notice(client, headers, category="hate", item=f"c/m{i}") for i in range(4)] + [
        _notice(client, headers, category="fraud", item="c/open")
    ]
    _notice(client, flagger_headers(runtime, flagger=other), category="hate", item="c/other")
    _public_notice(client, category="hate", item="c/public", n=3)
    hours_waited = [10, 20, 40, 60]  # received this long before the decisions below
    now = utcnow()
    mine_notices = db.exec(select(Notice).where(Notice.flagger_id == flagger.id)).all()
    for i, hours in enumerate(hours_waited):
        (n,) = [n for n in mine_notices if n.items == [f"c/m{i}"]]
        n.received_at = now - timedelta(hours=hours)
    db.commit()
    moderator = people("moderator")
    cases = [db.get(Case, i) for i in ids]
    decided(cases[0], moderator)  # take-down: upheld
    decided(cases[1], moderator)  # upheld
    decided(
        cases[2],
        moderator,
        action="no_action",
        ground="terms_of_service",
        ground_reference="Terms §3",
        explanation="Nothing against our terms.",
    )
    decided(
        cases[3],
        moderator,
        action="no_action",
        notices_unfounded=True,
        ground="terms_of_service",
        ground_reference="Terms §3",
        explanation="Manifestly unfounded.",
    )
    (mine,) = [f for f in flagger_figures(db) if f["name"] == "Counted"]
    assert mine["notices"] == 5 and mine["prioritised"] == 4  # the fraud one was ordinary
    assert mine["decided"] == 4 and mine["upheld"] == 2 and mine["share_upheld"] == 0.5
    assert abs(mine["median_hours_to_decision"] - 30.0) < 0.1  # median of 10, 20, 40, 60
    assert mine["by_category"] == {"hate": 4, "fraud": 1}
    (theirs,) = [f for f in flagger_figures(db) if f["name"] == "Other"]
    assert theirs["notices"] == 1 and theirs["decided"] == 0 and theirs["share_upheld"] is None
    later = flagger_figures(db, since=utcnow() + timedelta(hours=1))
    assert all(f["notices"] == 0 for f in later)


def test_console_pages_are_accessible_and_name_every_error(client, runtime, login, csrf_token):
    flagger = register(runtime, name="Listed", areas=["hate"])
    login(client, "admin")
    listing = client.get("/console/trusted-flaggers").get_data(as_text=True)
    assert_accessible(listing, "register")
    assert "Listed" in listing and 'aria-current="page"' in listing
    refused = client.post(
        "/console/trusted-flaggers",
        data={"member_state": "US", "csrf_token": csrf_token(client, "/console/trusted-flaggers")},
    )
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert_accessible(html, "register with errors")
    assert html.count('aria-invalid="true"') == 6 and "US is not an EU member state" in html
    detail = client.get(f"/console/trusted-flaggers/{flagger.id}").get_data(as_text=True)
    assert_accessible(detail, "register entry")
    page = f"/console/trusted-flaggers/{flagger.id}"
    no_reason = client.post(
        f"{page}/status",
        data={"to": "suspended", "reason": "", "csrf_token": csrf_token(client, page)},
    )
    assert no_reason.status_code == 422
    assert "give a reason" in no_reason.get_data(as_text=True).lower()
