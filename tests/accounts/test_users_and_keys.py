"""Staff users, password hashing, API keys: created, used, revoked; secrets never stored."""

import pytest
from sqlalchemy import text
from sqlmodel import select

from hostguard.accounts.models import ApiKey, User


def test_user_create_reads_password_from_stdin_and_stores_argon2(cli, runtime):
    result = cli(
        "user",
        "create",
        "Mod@Example.org",
        "--role",
        "moderator",
        "--password-stdin",
        input="correct horse battery\n",
    )
    assert result.exit_code == 0, result.output
    with runtime.engine.connect() as conn:
        stored = conn.execute(
            text("SELECT password_hash FROM users WHERE email='mod@example.org'")
        ).scalar()
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored


@pytest.mark.parametrize(
    "args,stdin,message",
    [
        (["not-an-email", "--role", "moderator"], "long enough password\n", "not an e-mail"),
        (["a@b.org", "--role", "moderator"], "short\n", "at least 12"),
        (["a@b.org", "--role", "moderator"], "\n", "no password"),
    ],
)
def test_user_create_errors_are_one_line(cli, args, stdin, message):
    result = cli("user", "create", *args, "--password-stdin", input=stdin)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_unknown_role_is_refused(cli):
    result = cli("user", "create", "a@b.org", "--role", "boss", "--password-stdin", input="x" * 20)
    assert result.exit_code == 2
    assert "boss" in result.stderr


def test_duplicate_user_is_refused(cli):
    assert (
        cli(
            "user", "create", "a@b.org", "--role", "legal", "--password-stdin", input="x" * 20
        ).exit_code
        == 0
    )
    again = cli("user", "create", "A@b.org", "--role", "legal", "--password-stdin", input="y" * 20)
    assert again.exit_code == 2
    assert "already exists" in again.stderr


def pin_prefixes(monkeypatch, *prefixes: str) -> None:
    """Make the next API keys get these prefixes (they are otherwise random)."""
    import secrets
    from types import SimpleNamespace

    queue = list(prefixes)
    monkeypatch.setattr(
        "hostguard.accounts.service.secrets",
        SimpleNamespace(token_hex=lambda n: queue.pop(0), token_urlsafe=secrets.token_urlsafe),
    )


def test_apikey_is_shown_once_and_only_its_hash_is_stored(cli, runtime, client, monkeypatch):
    pin_prefixes(monkeypatch, "c0ffee42")
    result = cli("apikey", "create", "Acme Hub", "--scope", "operator")
    assert result.exit_code == 0, result.output
    key = result.stdout.strip()
    assert key.startswith("hg_")
    with runtime.engine.connect() as conn:
        dump = " ".join(str(v) for row in conn.execute(text("SELECT * FROM api_keys")) for v in row)
    assert key not in dump
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/openapi.json", headers=headers).status_code == 200
    listing = cli("apikey", "list")
    assert "Acme Hub" in listing.output and key not in listing.output

    assert key.split("_")[1] == "c0ffee42"
    assert cli("apikey", "revoke", "c0ffee42").exit_code == 0
    response = client.get("/api/v1/openapi.json", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_api_key"


def test_moderator_key_must_act_for_a_user(cli):
    result = cli("apikey", "create", "tool", "--scope", "moderator")
    assert result.exit_code == 2
    assert "--user" in result.stderr


def test_an_all_digit_prefix_is_a_prefix_never_an_id(cli, runtime, monkeypatch):
    pin_prefixes(monkeypatch, "aaaaaaaa", "bbbbbbbb", "00000002")
    for name in ("one", "two", "three"):
        assert cli("apikey", "create", name, "--scope", "operator").exit_code == 0
    with runtime.session() as session:
        ids = {k.name: k.id for k in session.exec(select(ApiKey))}
    assert ids["two"] == 2
    result = cli("apikey", "revoke", "00000002")
    assert result.exit_code == 0, result.output
    assert f"revoked API key {ids['three']} 'three'" in result.output
    with runtime.session() as session:
        revoked = {k.name for k in session.exec(select(ApiKey)) if k.revoked_at is not None}
    assert revoked == {"three"}
    # an id is given as a short number or as id:N
    assert "'two'" in cli("apikey", "revoke", "id:2").output
    assert "'one'" in cli("apikey", "revoke", str(ids["one"])).output
    # an 8-digit prefix nobody has is not read as an id
    missing = cli("apikey", "revoke", "00000001")
    assert missing.exit_code == 2 and "no API key" in missing.stderr


def test_a_prefix_shared_by_two_keys_is_refused(cli, runtime, monkeypatch):
    pin_prefixes(monkeypatch, "12345678", "12345678")
    cli("apikey", "create", "one", "--scope", "operator")
    cli("apikey", "create", "two", "--scope", "operator")
    result = cli("apikey", "revoke", "12345678")
    assert result.exit_code == 2 and "by id" in result.stderr
    with runtime.session() as session:
        assert all(k.revoked_at is None for k in session.exec(select(ApiKey)))


def test_revoke_refuses_what_is_neither_prefix_nor_id(cli):
    result = cli("apikey", "revoke", "hg_")
    assert result.exit_code == 2 and "8 hex digits" in result.stderr


def test_revoke_unknown_key(cli):
    result = cli("apikey", "revoke", "deadbeef")
    assert result.exit_code == 2
    assert "no API key" in result.stderr


def test_keys_and_users_are_audited(cli, runtime):
    cli("user", "create", "a@b.org", "--role", "auditor", "--password-stdin", input="x" * 20)
    cli("apikey", "create", "k", "--scope", "authority")
    with runtime.engine.connect() as conn:
        actions = [
            r[0] for r in conn.execute(text("SELECT action FROM audit_records ORDER BY seq"))
        ]
    assert actions == ["user.create", "apikey.create"]


def test_models_exist(db):
    assert db.exec(select(User)).all() == []
    assert db.exec(select(ApiKey)).all() == []


def test_moderator_key_only_for_case_workers(cli):
    cli("user", "create", "aud@b.org", "--role", "auditor", "--password-stdin", input="x" * 20)
    result = cli("apikey", "create", "aud tool", "--scope", "moderator", "--user", "aud@b.org")
    assert result.exit_code == 2
    assert "cannot" in result.stderr
    cli("user", "create", "mod@b.org", "--role", "moderator", "--password-stdin", input="x" * 20)
    assert (
        cli("apikey", "create", "mod tool", "--scope", "moderator", "--user", "mod@b.org").exit_code
        == 0
    )


def test_out_of_range_id_is_one_line(cli):
    result = cli("apikey", "revoke", "9" * 30)
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1


def test_last_used_is_recorded_without_a_write_per_request(runtime, client, cli):
    from datetime import timedelta

    from hostguard.db.types import utcnow

    key = cli("apikey", "create", "busy platform", "--scope", "operator").stdout.strip()
    headers = {"Authorization": f"Bearer {key}"}
    client.get("/api/v1/openapi.json", headers=headers)
    with runtime.session() as session:
        first = session.exec(select(ApiKey)).one().last_used_at
    assert first is not None
    client.get("/api/v1/openapi.json", headers=headers)
    with runtime.session() as session:
        row = session.exec(select(ApiKey)).one()
        assert row.last_used_at == first  # within the minute: no write, no row lock
        row.last_used_at = utcnow() - timedelta(minutes=5)
    client.get("/api/v1/openapi.json", headers=headers)
    with runtime.session() as session:
        assert session.exec(select(ApiKey)).one().last_used_at > first - timedelta(seconds=1)


def test_a_staff_key_first_use_is_recorded_and_answers(runtime, client, api_headers, make_user):
    """A moderator's key (a key behind a staff user) used for the first time: the request
    answers at once and the use is recorded. On SQLite authentication reads without the write
    lock; reading the user must not flush the noted use inside that read, or the write of it
    waits on the request's own lock until SQLite gives up (a 500 after 30 s)."""
    user, _ = make_user("moderator")
    response = client.get("/api/v1/queues", headers=api_headers("moderator", user))
    assert response.status_code == 200, response.get_json()
    with runtime.session() as session:
        (key,) = session.exec(select(ApiKey).where(ApiKey.user_id == user.id)).all()
        assert key.last_used_at is not None
