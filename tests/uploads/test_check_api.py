"""POST /api/v1/uploads/check: every reason code, idempotent retries, and clear errors for bad input."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from sqlmodel import select

from hostguard.cases.models import Case
from hostguard.platform.models import Uploader, UploaderStatus
from hostguard.uploads.models import UploadCheck
from tests.uploads.conftest import check_body, png


def textured_png(seed: int = 1) -> bytes:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)
    img = Image.fromarray(base).resize((256, 256), Image.BICUBIC)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def codes(body) -> list[str]:
    return [r["code"] for r in body["reasons"]]


def certify_all(
    client, operator, *, uploader="u-1", repo="alice/model", revision="r" * 40, method="c2pa"
):
    return client.post(
        "/api/v1/certifications",
        headers=operator,
        json={
            "uploader_id": uploader,
            "repo_id": repo,
            "revision": revision,
            "signed_name": "Alice Example",
            "statements": [
                {"id": "no-csam-training-data", "version": 1, "accepted": True},
                {
                    "id": "output-watermark",
                    "version": 1,
                    "accepted": True,
                    "fields": {"method": method}
                    if method != "other"
                    else {"method": "other", "description": "a stamp"},
                },
            ],
        },
    )


def test_new_uploader_is_held_for_kyu_and_certification_with_portal_links(checker):
    status, body = checker()
    assert status == 200
    assert body["decision"] == "hold"
    assert codes(body) == ["kyu_required", "certification_required"]
    assert body["policy"] == {"id": "default", "version": 1}
    kyu_step, cert_step = body["required_steps"]
    assert kyu_step["type"] == "kyu" and "/portal/kyu?token=" in kyu_step["url"]
    assert (
        cert_step["type"] == "certification" and "/portal/certifications?token=" in cert_step["url"]
    )
    assert [s["id"] for s in cert_step["statements"]] == [
        "no-csam-training-data",
        "output-watermark",
    ]
    assert cert_step["statements"][1]["fields"][0]["options"] == [
        "c2pa",
        "invisible-watermark",
        "other",
        "iptc-metadata",
    ]
    assert body["matches"] == []


def test_private_upload_needs_no_kyu_but_the_training_data_statement(checker):
    _, body = checker(visibility="private")
    assert codes(body) == ["certification_required"]
    assert [s["id"] for s in body["required_steps"][0]["statements"]] == ["no-csam-training-data"]


def test_kyu_pending_then_rejected_then_verified_changes_the_answer(
    checker, submit_kyu, cli, client, operator
):
    checker()
    assert submit_kyu().status_code == 201
    _, body = checker()
    assert "kyu_pending" in codes(body)
    assert all(s["type"] != "kyu" for s in body["required_steps"])
    assert cli("kyu", "reject", "1", "--reason", "The photo is too blurry to read").exit_code == 0
    _, body = checker()
    assert "kyu_rejected" in codes(body)
    assert any(s["type"] == "kyu" for s in body["required_steps"])  # they may resubmit
    assert submit_kyu().status_code == 201
    assert cli("kyu", "verify", "2").exit_code == 0
    assert certify_all(client, operator).status_code == 201
    _, body = checker()
    assert body["decision"] == "allow" and body["reasons"] == [] and body["required_steps"] == []


def test_suspended_uploader_is_blocked(checker, runtime):
    checker()
    with runtime.session() as s:
        s.exec(
            select(Uploader).where(Uploader.platform_id == "u-1")
        ).one().status = UploaderStatus.SUSPENDED
    _, body = checker(revision="b" * 40)
    assert body["decision"] == "block"
    assert codes(body)[0] == "uploader_suspended"


def test_hash_match_blocks_opens_one_case_and_reveals_no_hash(checker, runtime, client, operator):
    from hostguard.hashing.service import import_list, scan_images

    image = textured_png()
    with runtime.session() as s:
        pdq = scan_images(session=s, runtime=runtime, images=[("x.png", image)])[0].hashes["pdq"]
        import_list(
            session=s,
            actor="test",
            name="test-list",
            data=pdq + "\n",
            algorithm="pdq",
            category="csam",
        )
    status, body = checker(
        images=[("samples/cat.png", image), ("samples/other.png", textured_png(2))]
    )
    assert status == 200, body
    assert body["decision"] == "block"
    assert "hash_match" in codes(body)
    assert body["matches"][0]["path"] == "samples/cat.png"
    assert body["matches"][0]["list"] == "test-list"
    assert pdq not in str(body)
    # a retry is the same check: same answer, no second case
    _, again = checker(images=[("samples/cat.png", image), ("samples/other.png", textured_png(2))])
    assert again == body
    with runtime.session() as s:
        cases = s.exec(select(Case)).all()
        assert len(cases) == 1 and cases[0].source == "hash_match"
        assert cases[0].category == "child_sexual_abuse"
        assert s.exec(select(UploadCheck)).one().case_id == cases[0].id


def test_the_same_content_asked_twice_gives_the_same_answer(checker, runtime):
    _, first = checker()
    _, second = checker()
    assert first == second
    _, other = checker(revision="c" * 40)
    assert other["check_id"] != first["check_id"]
    with runtime.session() as s:
        assert len(s.exec(select(UploadCheck)).all()) == 2


def test_multipart_check_with_image_parts(client, operator):
    import json

    data = {
        "check": json.dumps(check_body()),
        "sample_images": [(io.BytesIO(textured_png(3)), "a.png")],
    }
    response = client.post(
        "/api/v1/uploads/check", data=data, headers=operator, content_type="multipart/form-data"
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["decision"] == "hold"


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"data": "{not json", "content_type": "application/json"}, 400, "malformed_request"),
        ({"json": {"uploader": {"id": "u"}}}, 422, "invalid_input"),
        ({"json": check_body(repo="not a repo id")}, 422, "invalid_input"),
        (
            {
                "json": {
                    **check_body(),
                    "sample_images": [{"path": "a.png", "content_base64": "!!!"}],
                }
            },
            422,
            "invalid_image",
        ),
    ],
)
def test_bad_check_requests_get_clear_errors(client, operator, kwargs, status, code):
    response = client.post("/api/v1/uploads/check", headers=operator, **kwargs)
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["code"] == code and error["message"]


def test_check_needs_an_operator_key(client, api_headers):
    assert client.post("/api/v1/uploads/check", json=check_body()).status_code == 401
    assert (
        client.post(
            "/api/v1/uploads/check", json=check_body(), headers=api_headers("trusted_flagger")
        ).status_code
        == 403
    )


def test_uploader_status_shows_no_personal_data(checker, submit_kyu, client, operator):
    checker()
    submit_kyu()
    body = client.get("/api/v1/uploaders/u-1", headers=operator).get_json()
    assert body["kyu"]["status"] == "pending_review" and body["strikes"] == 0
    text = str(body)
    for secret in ("Alice Example-Person", "Quiet Street", "1990-04-30", "u-1@example.org"):
        assert secret not in text
    assert client.get("/api/v1/uploaders/nobody", headers=operator).status_code == 404


def test_kyu_api_refuses_bad_documents(checker, submit_kyu):
    checker()
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    response = submit_kyu(document=gif.getvalue())
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "document_type"
    response = submit_kyu(document=png() + b"\0" * (11 * 1024 * 1024))
    assert (
        response.status_code == 413 and response.get_json()["error"]["code"] == "document_too_large"
    )
    response = submit_kyu(country="Germany", date_of_birth="yesterday")
    error = response.get_json()["error"]
    assert (
        response.status_code == 422
        and "country" in error["message"]
        and "date of birth" in error["message"]
    )
    assert "Germany" not in error["message"]  # values are never echoed
    assert submit_kyu(uploader="stranger").status_code == 201  # an uploader no check has seen


def test_declared_c2pa_watermark_missing_from_samples_holds_for_review(
    checker, client, operator, runtime
):
    checker(visibility="private")
    response = certify_all(client, operator, method="c2pa")
    assert response.status_code == 201
    status, body = checker(visibility="private", images=[("samples/a.png", textured_png(4))])
    assert status == 200
    assert codes(body) == ["watermark_not_found"] and body["decision"] == "hold"
    assert body["watermark"]["method"] == "c2pa" and body["watermark"]["result"] == "not_found"
    with runtime.session() as s:
        assert (
            s.exec(select(UploadCheck).where(UploadCheck.image_count == 1))
            .one()
            .watermark["result"]
            == "not_found"
        )


def test_uncheckable_watermark_method_is_recorded_as_inconclusive_and_allowed(
    checker, client, operator
):
    checker(visibility="private")
    certify_all(client, operator, method="other")
    _, body = checker(visibility="private", images=[("samples/a.png", textured_png(4))])
    assert body["decision"] == "allow"
    assert body["watermark"]["result"] == "inconclusive"


@pytest.mark.parametrize(
    "keys, known",
    [("one key", False), ("a key per thread", False), ("a key per thread", True)],
    ids=["one-key", "key-per-thread-new-uploader", "key-per-thread-known-uploader"],
)
def test_the_same_check_sent_at_once_from_many_threads_gets_one_answer(
    live_server, api_headers, runtime, client, keys, known, request
):
    """Platforms retry: identical checks racing on the idempotency key all get the same 200 answer.

    With one API key the requests happen to queue behind the key's `last_used_at` row lock;
    separate keys (a platform and its git hook, or keys being rotated) really run at once.
    `known`: the uploader and repo exist already, so only the check row itself is contended.
    """
    import json
    import threading
    import urllib.error
    import urllib.request

    threads_count = 6
    headers = (
        [api_headers("operator")] * threads_count
        if keys == "one key"
        else [api_headers("operator") for _ in range(threads_count)]
    )
    data = check_body(
        uploader="u-race", repo="race/model", images=[("samples/a.png", textured_png(7))]
    )
    if known:  # without an e-mail to store, nothing else locks the uploader row
        data["uploader"].pop("email")
    body = json.dumps(data).encode()
    if known:
        earlier = client.post(
            "/api/v1/uploads/check",
            headers=headers[0],
            json=check_body(uploader="u-race", repo="race/model", revision="e" * 40),
        )
        assert earlier.status_code == 200
    barrier = threading.Barrier(threads_count)
    answers: list[tuple[int, dict | str]] = []

    def send(auth: dict) -> None:
        request = urllib.request.Request(
            f"{live_server.url}/api/v1/uploads/check",
            data=body,
            method="POST",
            headers={**auth, "Content-Type": "application/json"},
        )
        barrier.wait(timeout=30)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                answers.append((response.status, json.loads(response.read())))
        except urllib.error.HTTPError as exc:
            answers.append((exc.code, exc.read().decode(errors="replace")[:300]))

    threads = [threading.Thread(target=send, args=(auth,)) for auth in headers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert [status for status, _ in answers] == [200] * threads_count, answers
    assert len({answer["check_id"] for _, answer in answers}) == 1
    assert len({json.dumps(answer, sort_keys=True) for _, answer in answers}) == 1
    with runtime.session() as s:
        assert len(s.exec(select(UploadCheck).where(UploadCheck.revision == "r" * 40)).all()) == 1


def test_a_private_check_does_not_let_the_same_content_through_as_public(checker, client, operator):
    """Visibility is part of what makes two checks the same: public asks more than private."""
    _, private = checker(visibility="private")
    assert (
        client.post(
            "/api/v1/certifications",
            headers=operator,
            json={
                "uploader_id": "u-1",
                "repo_id": "alice/model",
                "revision": "r" * 40,
                "signed_name": "Alice Example",
                "statements": [{"id": "no-csam-training-data", "version": 1, "accepted": True}],
            },
        ).status_code
        == 201
    )
    _, allowed = checker(visibility="private")
    assert allowed["decision"] == "allow" and allowed["check_id"] == private["check_id"]
    _, public = checker(visibility="public")
    assert public["check_id"] != private["check_id"]
    assert public["decision"] == "hold"
    assert codes(public) == ["kyu_required", "certification_required"]
    assert [s["id"] for s in public["required_steps"][1]["statements"]] == ["output-watermark"]


def test_another_uploader_asking_about_the_same_content_is_a_new_check(checker):
    _, first = checker(uploader="u-1")
    _, second = checker(uploader="u-2")
    assert first["check_id"] != second["check_id"]
