"""Schemathesis against a live hostguard: 0 server errors and 0 answers that break the OpenAPI
document (schemas, status codes, content types, headers, the Allow header, refused bad input),
with a bounded number of generated requests per operation, in one run.

Every operation is called with a credential that gets past its guard
(`tests/web/schemathesis_hooks.py`):

- an operator key for operator routes;
- a moderator, authority or trusted-flagger key for the routes of its scope (a trusted flagger
  sends notices);
- a sandbox key for the upload check;
- an upload token for the operations it may call (`x-upload-token`).

An operation that several credentials may call gets them in turn.

Every check runs, `positive_data_acceptance` too (a request the document allows must be
accepted): the document carries the rules the checks apply. It is off only for the operations
in POSITIVE_DATA_EXCLUDED, whose rules JSON Schema cannot say (between fields, against stored
data, a file's content); each names them in its description in the document.

The PostgreSQL half makes fewer requests per operation (POSTGRES_MAX_EXAMPLES): the document,
the generated requests and the checks are the same on both databases, and what differs by
database (storage: lengths, integer ranges, NUL bytes, constraints) is reached by the examples
and one generated request per operation; the SQLite half does the wider search. Measured under
a load average of 7 to 9 on 2 cores: 22-24 s on SQLite; on PostgreSQL 15 s with 1 request
against 20 s with 3 (same run; both pass). Before: 40 s and 32 s.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hostguard.accounts.service import create_api_key
from hostguard.accounts.upload_tokens import mint_upload_token

ROOT = Path(__file__).resolve().parents[2]
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
MAX_EXAMPLES = "3"  # generated requests per operation, besides the examples
POSTGRES_MAX_EXAMPLES = "1"  # see the docstring
SEED = "20261207"  # the same requests every run, so a failure reproduces


# Operations whose `positive_data_acceptance` check is off, and why: a rule JSON Schema cannot
# say (a cross-field rule, something that must exist, a file's content). Each one's description
# in the document says the rule. Every other operation must accept every request it allows.
POSITIVE_DATA_EXCLUDED = {
    "api_decision_post": "the action decides which other fields are needed (a ground and its "
    "reference, a restriction's mode, an escalation's target) unless a template gives them",
    "api_bulk_post": "each action needs its own field (assign: user_id, decide: a template)",
    "api_link_post": "a case cannot be linked to itself (the path's id and the body's)",
    "api_reassign_post": "the user must be an active case worker",
    "api_post_certification_post": "statement ids and versions are the policy's statements in force",
    "api_add_post": "the exchange type decides which settings are needed",
    "api_upload_check_post": "the multipart `check` part is a string holding the JSON body",
    "api_submit_kyu_post": "the ID document must be a JPEG, PNG or PDF file",
    "api_import_hashlist_post": "the list file must parse in the format named",
    "api_suppress_hash_post": "the hash's form follows the algorithm of the list in the path",
    "api_wrong_match_post": "the case must have a hash match",
    "api_post_order_post": "a deadline must be in the future; items must name the platform's models",
}


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "schemathesis.toml"
    ids = ", ".join(json.dumps(o) for o in sorted(POSITIVE_DATA_EXCLUDED))
    config.write_text(
        "[checks]\nenabled = true\n\n"  # every check, for every operation but as below
        "[[operations]]\n"
        f"include-operation-id = [{ids}]\n"
        "checks.positive_data_acceptance.enabled = false\n"
    )
    return config


def _run(url: str, credentials: dict[str, list[str]], tmp_path: Path, examples: str) -> None:
    pattern = "^(" + "|".join(re.escape(o) for o in credentials) + ")$"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "SCHEMATHESIS_HOOKS": "tests.web.schemathesis_hooks",
        "HOSTGUARD_SCHEMATHESIS_KEYS": json.dumps(credentials),
        "NO_COLOR": "1",
    }
    result = subprocess.run(
        [
            str(SCHEMATHESIS),
            "--config-file",
            str(_config(tmp_path)),
            "run",
            f"{url}/api/v1/openapi.json",
            "--include-operation-id-regex",
            pattern,
            "--phases",
            "examples,fuzzing",
            "--max-examples",
            examples,
            "--seed",
            SEED,
            "--generation-database",
            "none",
            "--no-color",
            "--report-dir",
            str(tmp_path / "schemathesis"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=env,
    )
    assert result.returncode == 0, result.stdout[-80000:] + result.stderr[-2000:]
    assert f"Tested: {len(credentials)}" in result.stdout, result.stdout[-3000:]


@pytest.fixture
def live(live_server, runtime):
    runtime.settings.hf_webhook_secret = "hub-secret"  # configured, as in production
    runtime.settings.ratelimit_enabled = False
    return live_server


def test_no_server_errors_and_no_schema_violations_for_any_credential(
    live, runtime, client, make_user, tmp_path
):
    document = client.get("/api/v1/openapi.json").get_json()
    moderator, _ = make_user("admin")
    with runtime.session() as session:
        keys = {
            scope: create_api_key(
                session=session,
                name=scope,
                scopes=[scope],
                actor="test",
                user_email=moderator.email if scope == "moderator" else None,
            )[1]
            for scope in ("operator", "moderator", "authority", "trusted_flagger")
        }
        sandbox = create_api_key(
            session=session, name="sandbox", scopes=["operator"], actor="test", sandbox=True
        )[1]
        token = mint_upload_token(
            session=session,
            actor="test",
            uploader_id="u-1",
            repo_id="alice/model",
            ttl_seconds=None,
            default_ttl=3600,
            max_ttl=3600,
        )[1]
    operations = [op for ops in document["paths"].values() for op in ops.values()]
    described = {op["operationId"] for op in operations if op.get("description")}
    assert set(POSITIVE_DATA_EXCLUDED) <= described  # each says its rules in the document
    credentials: dict[str, list[str]] = {}
    for op in operations:
        scopes = op.get("x-scopes", [])
        if scopes:
            own = [keys["operator" if "operator" in scopes else scopes[0]]]
        else:  # public: a trusted flagger's key counts where one is accepted (notices)
            own = [keys["trusted_flagger"]]
        if op["operationId"] == "api_upload_check_post":
            own.append(sandbox)
        if op.get("x-upload-token"):
            own.append(token)
        credentials[op["operationId"]] = own
    postgres = runtime.settings.effective_database_url.startswith("postgresql")
    _run(live.url, credentials, tmp_path, POSTGRES_MAX_EXAMPLES if postgres else MAX_EXAMPLES)
