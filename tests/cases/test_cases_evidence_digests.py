"""A matched file's own digests reach legal's report package, never case workers' pages or API."""

from __future__ import annotations

from hostguard.cases.intake import open_case
from hostguard.platform.service import get_or_create_repo, get_or_create_uploader

SHA256 = "5" * 64
PDQ = "a5" * 32


def _csam_case(runtime) -> int:
    with runtime.session() as s:
        uploader = get_or_create_uploader(s, platform_id="u-ev", username="ev", keys=runtime.keys)
        repo = get_or_create_repo(s, repo_id="ev/model", uploader=uploader)
        case = open_case(
            policy=runtime.policy,
            session=s,
            repo=repo,
            source="hash_match",
            category="child_sexual_abuse",
            actor="system",
            kind="hash_match",
            automated=True,
            details={
                "matches": [
                    {
                        "path": "samples/a.png",
                        "list": "csam-list",
                        "algorithm": "pdq",
                        "distance": 4,
                        "threshold": 31,
                        "category": "csam",
                    }
                ],
                "file_digests": {"samples/a.png": {"sha256": SHA256, "pdq": PDQ}},
            },
        )
        return case.id


def test_case_workers_see_match_details_but_not_the_files_digests(
    client, runtime, api_headers, login, make_user
):
    case_id = _csam_case(runtime)
    moderator, _ = make_user("senior_moderator")
    body = client.get(
        f"/api/v1/cases/{case_id}", headers=api_headers("moderator", moderator)
    ).get_data(as_text=True)
    assert "csam-list" in body  # the match details are there
    assert SHA256 not in body and PDQ not in body and "file_digests" not in body

    login(client, "senior_moderator")
    page = client.get(f"/console/cases/{case_id}").get_data(as_text=True)
    assert "csam-list" in page
    assert SHA256 not in page and PDQ not in page


def test_legal_report_package_carries_the_files_digests(client, runtime, api_headers, make_user):
    case_id = _csam_case(runtime)
    legal, _ = make_user("legal")
    package = client.get(
        f"/api/v1/cases/{case_id}/report-package", headers=api_headers("moderator", legal)
    )
    assert package.status_code == 200, package.get_data(as_text=True)
    (evidence,) = [e for e in package.get_json()["evidence"] if e["kind"] == "hash_match"]
    assert evidence["details"]["file_digests"]["samples/a.png"]["sha256"] == SHA256
