"""`POST /api/v1/hashlists/<name>/import`: the CLI's import through a web process, atomic, never echoing a hash."""

from __future__ import annotations

import io
import json

import pytest
from sqlmodel import select

from hostguard.audit.models import AuditRecord
from hostguard.hashing import service
from hostguard.hashing.models import HashList
from hostguard.jobs.models import Job
from tests.hashing.test_hashlists import list_hashes, pdq_hashes, write

URL = "/api/v1/hashlists/{}/import"


@pytest.fixture
def operator(api_headers):
    return api_headers("operator")


def post_file(client, headers, name: str, text: str, **fields):
    data = {
        "file": (io.BytesIO(text.encode()), "list.txt"),
        **{k: str(v) for k, v in fields.items()},
    }
    return client.post(
        URL.format(name), data=data, headers=headers, content_type="multipart/form-data"
    )


def assert_no_hash(body: str, hashes: list[str]) -> None:
    for value in hashes:
        assert value not in body and value.upper() not in body


def test_import_through_the_api_answers_the_cli_summary(client, cli, runtime, operator, tmp_path):
    hashes = pdq_hashes(3)
    text = "\n".join([*hashes, "not-a-hash", hashes[0]]) + "\n"
    response = post_file(
        client,
        operator,
        "partner",
        text,
        algorithm="pdq",
        category="csam",
        action="review",
        threshold=20,
        source="partner feed",
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    summary = response.get_json()
    assert_no_hash(response.get_data(as_text=True), hashes)

    printed = json.loads(
        cli(
            "hashlist",
            "import",
            "partner-cli",
            write(tmp_path, "l.txt", text),
            "--algorithm",
            "pdq",
            "--category",
            "csam",
            "--action",
            "review",
            "--threshold",
            "20",
            "--source",
            "partner feed",
        ).output
    )
    assert summary == printed | {"list": "partner"}
    assert summary["added"] == 3 and summary["invalid"] == 1 and summary["duplicates"] == 1
    assert summary["errors"] == [{"line": 4, "reason": summary["errors"][0]["reason"]}]
    assert list_hashes(runtime, "partner") == set(hashes)
    with runtime.session() as s:
        hash_list = s.exec(select(HashList).where(HashList.name == "partner")).one()
        assert (hash_list.threshold, hash_list.category, hash_list.action, hash_list.source) == (
            20,
            "csam",
            "review",
            "partner feed",
        )
        audit = s.exec(select(AuditRecord).where(AuditRecord.subject == "hashlist:partner")).one()
        assert audit.action == "hashlist.import" and audit.actor.startswith("apikey:")
        assert s.exec(select(Job).where(Job.kind == service.REMATCH_JOB)).all(), (
            "re-matching queued"
        )


def test_raw_body_with_query_options_and_replace(client, runtime, operator):
    first, second = pdq_hashes(2), pdq_hashes(2, start=10)
    created = client.post(
        URL.format("sync") + "?algorithm=pdq",
        data="\n".join(first),
        headers=operator,
        content_type="text/plain",
    )
    assert created.status_code == 200 and created.get_json()["created"] is True
    replaced = client.post(
        URL.format("sync") + "?replace=true",
        data="\n".join(second),
        headers=operator,
        content_type="text/plain",
    )
    assert replaced.status_code == 200
    assert (replaced.get_json()["added"], replaced.get_json()["removed"]) == (2, 2)
    assert replaced.get_json()["version"] == 2
    assert list_hashes(runtime, "sync") == set(second)


def test_strict_refusal_writes_nothing_and_reports_the_summary(client, runtime, operator):
    hashes = pdq_hashes(2)
    response = post_file(
        client, operator, "strict", "\n".join([*hashes, "zz"]), algorithm="pdq", strict="true"
    )
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid_lines"
    assert (
        error["details"]["summary"]["imported"] is False
        and error["details"]["summary"]["invalid"] == 1
    )
    assert_no_hash(response.get_data(as_text=True), hashes)
    with runtime.session() as s:
        assert s.exec(select(HashList)).all() == []


def test_replace_with_no_valid_line_is_refused(client, runtime, operator):
    kept = pdq_hashes(2)
    assert (
        post_file(client, operator, "guarded", "\n".join(kept), algorithm="pdq").status_code == 200
    )
    refused = post_file(client, operator, "guarded", "", replace="true")
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "empty_replace"
    assert list_hashes(runtime, "guarded") == set(kept)
    emptied = post_file(client, operator, "guarded", "", replace="true", allow_empty="true")
    assert emptied.status_code == 200 and emptied.get_json()["entries"] == 0


def test_an_import_that_fails_midway_changes_nothing(client, runtime, operator, monkeypatch):
    original = pdq_hashes(2)
    assert (
        post_file(client, operator, "atomic", "\n".join(original), algorithm="pdq").status_code
        == 200
    )

    def broken(session, hash_list):
        raise RuntimeError("the queue is down")

    monkeypatch.setattr(
        service, "_enqueue_rematch", broken
    )  # fails after entries and audit are written
    response = post_file(
        client, operator, "atomic", "\n".join(pdq_hashes(3, start=20)), replace="true"
    )
    assert response.status_code == 500
    assert list_hashes(runtime, "atomic") == set(original)
    with runtime.session() as s:
        assert s.exec(select(HashList).where(HashList.name == "atomic")).one().version == 1
        imports = s.exec(select(AuditRecord).where(AuditRecord.action == "hashlist.import")).all()
        assert len(imports) == 1


@pytest.mark.parametrize(
    "query,message",
    [
        ("algorithm=nope", "algorithm"),
        ("algorithm=pdq&threshold=500", "threshold must be between"),
        ("algorithm=pdq&action=delete", "action"),
        ("algorithm=pdq&colour=red", "colour"),
        ("", "name its --algorithm"),
    ],
)
def test_bad_options_are_refused(client, runtime, operator, query, message):
    response = client.post(
        URL.format("x") + f"?{query}",
        data="\n".join(pdq_hashes(1)),
        headers=operator,
        content_type="text/plain",
    )
    assert response.status_code == 422, response.get_data(as_text=True)
    assert message in response.get_json()["error"]["message"]
    with runtime.session() as s:
        assert s.exec(select(HashList)).all() == []


def test_internal_lists_cannot_be_imported_into(client, runtime, operator):
    with runtime.session() as s:
        s.add(HashList(name="reupload-test", algorithm="pdq", internal=True))
    response = client.post(
        URL.format("reupload-test"),
        data="\n".join(pdq_hashes(1)),
        headers=operator,
        content_type="text/plain",
    )
    assert response.status_code == 409


def test_deeply_nested_json_line_is_refused_and_a_strict_import_writes_nothing(
    client, runtime, operator
):
    hashes = pdq_hashes(1)
    text = json.dumps(hashes[0]) + "\n" + "[" * 100_000 + "\n"
    response = post_file(client, operator, "deep", text, algorithm="pdq", strict="true")
    assert response.status_code == 422, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == "invalid_lines"
    assert error["details"]["summary"]["imported"] is False
    assert {"line": 2, "reason": "the JSON is nested too deeply"} in error["details"]["summary"][
        "errors"
    ]
    with runtime.session() as s:
        assert s.exec(select(HashList)).all() == []
