"""Pages people can read: errors beside the field they concern, people shown by e-mail, statuses,
sources and history in words (raw values kept for searching), messages starting with a capital."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

from hostguard.platform.tokens import make_portal_token
from tests.conftest import extract_csrf
from tests.uploads.conftest import check_body


class Elements(HTMLParser):
    """Attributes of every element with an id, and the text inside it."""

    def __init__(self, html: str):
        super().__init__()
        self.attrs: dict[str, dict] = {}
        self.text: dict[str, str] = {}
        self._open: list[tuple[str, str | None]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if "id" in a:
            self.attrs[a["id"]] = a
            self.text.setdefault(a["id"], "")
        if tag not in {"input", "br", "img", "meta", "link"}:
            self._open.append((tag, a.get("id")))

    def handle_endtag(self, tag):
        while self._open:
            open_tag, _ = self._open.pop()
            if open_tag == tag:
                break

    def handle_data(self, data):
        for _, ident in self._open:
            if ident:
                self.text[ident] += data


def field_in_error(page: Elements, element_id: str) -> str:
    """The message shown beside the field, after checking the field points assistive technology to it."""
    attrs = page.attrs[element_id]
    assert attrs.get("aria-invalid") == "true", f"{element_id} is not marked invalid: {attrs}"
    assert f"{element_id}-error" in attrs.get("aria-describedby", "").split(), attrs
    return " ".join(page.text[f"{element_id}-error"].split())


def summary_links(html: str) -> list[str]:
    block = re.search(r'<div[^>]*id="form-error".*?</div>', html, re.S)
    assert block, "no error summary at the top of the form"
    return re.findall(r'<a href="#([^"]+)"', block.group(0))


def _notice(client, **fields):
    data = {
        "csrf_token": extract_csrf(client.get("/notices/").get_data(as_text=True)),
        "items": "alice/model",
        "category": "hate",
        "explanation": "Its samples are clear: It incites hatred.",
        "name": "N",
        "email": "n@example.org",
        "good_faith": "yes",
        **fields,
    }
    return client.post("/notices/", data=data)


def test_notice_form_errors_sit_beside_their_field_and_the_summary_links_to_it(client):
    bad_item = _notice(client, items="alice/model\nnot a model!!")
    assert bad_item.status_code == 422
    html = bad_item.get_data(as_text=True)
    page = Elements(html)
    assert field_in_error(page, "items").startswith("Error: Item 2")  # capitalised, names the line
    assert summary_links(html) == ["items"]
    assert "aria-invalid" not in page.attrs["explanation"]  # only the field at fault is marked
    assert page.attrs["explanation"]["aria-describedby"] == "explanation-help"
    assert "It incites hatred." in html  # what was typed is kept

    no_contact = Elements(_notice(client, name="", email="").get_data(as_text=True))
    assert "name and e-mail" in field_in_error(no_contact, "name")
    no_email = Elements(_notice(client, email="").get_data(as_text=True))
    assert (
        "name and e-mail" in field_in_error(no_email, "email")
        and "aria-invalid" not in no_email.attrs["name"]
    )
    assert "good faith" in field_in_error(
        Elements(_notice(client, good_faith="").get_data(as_text=True)), "good_faith"
    )
    too_long = _notice(client, explanation="x" * 6000)
    assert too_long.status_code == 413
    assert "longer than" in field_in_error(Elements(too_long.get_data(as_text=True)), "explanation")


def test_kyu_form_marks_each_bad_field_with_its_own_message(client, runtime, api_headers):
    operator = api_headers("operator")
    client.post("/api/v1/uploads/check", json=check_body(), headers=operator)
    token = make_portal_token(runtime, "u-1", purpose="kyu")
    url = f"/portal/kyu?token={token}"
    response = client.post(
        url,
        data={
            "token": token,
            "csrf_token": extract_csrf(client.get(url).get_data(as_text=True)),
            "legal_name": "Alice Example",
            "address": "1 Quiet Street",
            "country": "Germany",
            "date_of_birth": "2020-01-01",
            "id_document": (__import__("io").BytesIO(b"%PDF-1.4 x"), "id.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    page = Elements(html)
    assert field_in_error(page, "country").startswith("Error: Country must be a two-letter")
    assert "at least 18" in field_in_error(page, "date_of_birth")
    assert (
        "aria-invalid" not in page.attrs["legal_name"]
        and "aria-invalid" not in page.attrs["address"]
    )
    assert sorted(summary_links(html)) == ["country", "date_of_birth"]

    missing_document = client.post(
        url,
        data={
            "token": token,
            "csrf_token": extract_csrf(client.get(url).get_data(as_text=True)),
            "legal_name": "Alice Example",
            "address": "1 Quiet Street",
            "country": "DE",
            "date_of_birth": "1990-04-30",
        },
        content_type="multipart/form-data",
    )
    assert "Choose a photo" in field_in_error(
        Elements(missing_document.get_data(as_text=True)), "id_document"
    )


def test_certification_form_points_at_the_unticked_statements(client, runtime, api_headers):
    operator = api_headers("operator")
    body = client.post("/api/v1/uploads/check", json=check_body(), headers=operator).get_json()
    url = next(s["url"] for s in body["required_steps"] if s["type"] == "certification")
    url = url.replace(runtime.settings.base_url, "")
    form = client.get(url).get_data(as_text=True)
    boxes = re.findall(r'name="([^"]+__accepted)"', form)
    assert len(boxes) >= 2
    response = client.post(
        url,
        data={"csrf_token": extract_csrf(form), "signed_name": "Alice Example", boxes[0]: "yes"},
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    page = Elements(html)
    assert "Tick the box under each statement" in page.text["form-error"]
    assert (
        "aria-invalid" not in page.attrs[boxes[0]]
        and page.attrs[boxes[0]].get("checked") is not None
    )
    for box in boxes[1:]:
        assert field_in_error(page, box).startswith("Error: Tick this box")
    assert summary_links(html) == boxes[1:]


def _open_case(client, repo_id="alice/face-model") -> int:
    r = client.post(
        "/api/v1/notices",
        json={
            "items": [repo_id],
            "category": "hate",
            "explanation": "This model generates hate imagery.",
            "good_faith": True,
            "notifier": {"name": "N", "email": "n@example.org"},
        },
    )
    assert r.status_code == 201, r.get_json()
    return r.get_json()["case_ids"][0]


def test_decision_form_keeps_what_was_typed_and_shows_the_error_at_the_field(
    client, login, csrf_token
):
    case_id = _open_case(client)
    login(client, "moderator")
    token = csrf_token(client, f"/console/cases/{case_id}")
    client.post(f"/console/cases/{case_id}/claim", data={"csrf_token": token})
    refused = client.post(
        f"/console/cases/{case_id}/decision",
        data={
            "csrf_token": token,
            "action": "take_down",
            "ground": "",
            "ground_reference": "StGB § 130",
            "category": "hate",
            "explanation": "Incites hatred against a group.",
        },
    )
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    page = Elements(html)
    assert field_in_error(page, "d-ground").startswith("Error: Choose a ground")
    assert summary_links(html) == ["d-ground"]
    assert page.text["d-explanation"] == "Incites hatred against a group."
    assert page.attrs["d-ref"]["value"] == "StGB § 130"
    assert 'value="take_down" selected' in html

    bad_scope = Elements(
        client.post(
            f"/console/cases/{case_id}/decision",
            data={
                "csrf_token": token,
                "action": "restrict",
                "ground": "terms_of_service",
                "ground_reference": "§4",
                "category": "hate",
                "explanation": "x",
                "territorial_scope": "Germany",
            },
        ).get_data(as_text=True)
    )
    assert "two-letter country codes" in field_in_error(bad_scope, "d-scope")


def test_queue_and_case_page_show_people_and_values_in_words(client, login, csrf_token, make_user):
    case_id = _open_case(client)
    moderator = login(client, "moderator")
    token = csrf_token(client, f"/console/cases/{case_id}")
    client.post(f"/console/cases/{case_id}/claim", data={"csrf_token": token})

    other = client.application.test_client()
    login(other, "senior_moderator")
    queue = other.get("/console/cases").get_data(as_text=True)
    row = re.search(
        rf'<tr[^>]*data-case-row>(?:(?!</tr>).)*?<td class="case-cell">'
        rf'<a href="/console/cases/{case_id}">.*?</tr>',
        queue,
        re.S,
    ).group(0)
    assert moderator.email in row and f"user {moderator.id}" not in row
    assert f'title="user:{moderator.id}"' in row  # the raw actor stays available
    assert '<span title="notice">Public notice</span>' in row
    assert 'title="open">Open</span>' in row
    assert ">Trusted flagger</option>" in queue and ">Failed upload check</option>" in queue
    assert ">Open, escalated or under appeal</option>" in queue

    case = unescape(other.get(f"/console/cases/{case_id}").get_data(as_text=True))
    history = re.search(r'<ol class="history">.*?</ol>', case, re.S).group(0)
    assert "Opened by a public notice" in history
    assert f"Claimed by {moderator.email}" in history
    assert (
        "<code" in history and "case.claim · user:" in history
    )  # raw values for searching the audit trail
    assert f'held by <abbr title="user:{moderator.id}">{moderator.email}</abbr>' in case


def test_messages_start_with_a_capital_letter(client, login):
    login(client, "moderator")
    refused = client.get("/console/audit")
    assert refused.status_code == 403
    message = re.search(
        r'<p class="error-message">(.*?)</p>', refused.get_data(as_text=True)
    ).group(1)
    assert message == "Your role does not allow this page"
