"""The public notice form and the appeal link: no account, clear errors, receipts, flood limits."""

from __future__ import annotations

from sqlmodel import select

from hostguard.cases.models import Notice


def form(csrf, **overrides):
    data = {
        "csrf_token": csrf,
        "items": "alice/face-model\nhttps://huggingface.co/bob/other",
        "category": "hate",
        "explanation": "Generates hateful imagery.",
        "name": "Nora",
        "email": "nora@example.org",
        "good_faith": "yes",
    }
    data.update(overrides)
    return data


def test_form_to_receipt(client, csrf_token, db):
    token = csrf_token(client, "/notices/")
    response = client.post("/notices/", data=form(token))
    assert response.status_code == 303
    receipt = client.get(response.headers["Location"])
    html = receipt.get_data(as_text=True)
    assert receipt.status_code == 200 and "Notice received" in html and "bob/other" in html
    notice = db.exec(select(Notice)).one()
    assert notice.items == ["alice/face-model", "bob/other"]
    assert client.get("/notices/receipt?r=forged").status_code == 404


def test_form_errors_keep_the_input(client, csrf_token):
    token = csrf_token(client, "/notices/")
    bad = client.post("/notices/", data=form(token, items="not a model"))
    html = bad.get_data(as_text=True)
    assert (
        bad.status_code == 422 and "not a model id" in html and "Generates hateful imagery." in html
    )
    anon = client.post("/notices/", data=form(token, name="", email=""))
    assert anon.status_code == 422 and "may be anonymous" in anon.get_data(as_text=True)
    ok = client.post(
        "/notices/", data=form(token, name="", email="", category="child_sexual_abuse")
    )
    assert ok.status_code == 303
    big = client.post("/notices/", data=form(token, explanation="x" * 70_000))
    assert big.status_code == 413


def test_flood_is_refused_with_429(client, csrf_token):
    token = csrf_token(client, "/notices/")
    codes = [
        client.post(
            "/notices/", data=form(token, items=f"flood/m{i}", email=f"f{i}@example.org")
        ).status_code
        for i in range(12)
    ]
    assert codes[:10] == [303] * 10 and codes[10] == 429
