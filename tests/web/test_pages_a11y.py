"""Accessibility a user relies on, on the key pages: labels, one h1, heading order, lang, alt text,
fieldset legends, the skip link, focus order, contrast, and overdue cases that stand out."""

from __future__ import annotations

import itertools
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from playwright.sync_api import expect

from hostguard.db.types import utcnow
from hostguard.platform.tokens import make_portal_token
from tests.uploads.conftest import check_body

CONTROLS = {"input", "select", "textarea"}
NOT_LABELLED = {"hidden", "submit", "button", "reset", "image"}


class Page(HTMLParser):
    """The facts about a page that assistive technology depends on."""

    def __init__(self, html: str):
        super().__init__()
        self.lang = None
        self.headings: list[tuple[int, str]] = []
        self.controls: list[dict] = []
        self.label_for: set[str] = set()
        self.ids: list[str] = []
        self.images: list[dict] = []
        self.fieldsets: list[bool] = []  # has a legend as its first element
        self.first_link: dict | None = None
        self._label_depth = 0
        self._heading: list | None = None
        self._fieldset_stack: list[list] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if "id" in a:
            self.ids.append(a["id"])
        if self._fieldset_stack and not self._fieldset_stack[-1][1]:
            self._fieldset_stack[-1][0] = tag == "legend"
            self._fieldset_stack[-1][1] = True
        if tag == "html":
            self.lang = a.get("lang")
        elif tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            self._heading = [int(tag[1]), ""]
        elif tag == "label":
            self._label_depth += 1
            if a.get("for"):
                self.label_for.add(a["for"])
        elif tag in CONTROLS and a.get("type", "text") not in NOT_LABELLED:
            self.controls.append({**a, "tag": tag, "wrapped": self._label_depth > 0})
        elif tag == "img":
            self.images.append(a)
        elif tag == "fieldset":
            self._fieldset_stack.append([False, False])
        elif tag == "a" and self.first_link is None:
            self.first_link = a

    def handle_endtag(self, tag):
        if tag == "label":
            self._label_depth -= 1
        elif tag == "fieldset" and self._fieldset_stack:
            self.fieldsets.append(self._fieldset_stack.pop()[0])
        elif self._heading and tag == f"h{self._heading[0]}":
            self.headings.append((self._heading[0], self._heading[1].strip()))
            self._heading = None

    def handle_data(self, data):
        if self._heading is not None:
            self._heading[1] += data


def assert_accessible(html: str, where: str) -> Page:
    page = Page(html)
    assert page.lang, f"{where}: <html> has no lang"
    h1s = [text for level, text in page.headings if level == 1]
    assert len(h1s) == 1, f"{where}: expected exactly one h1, got {h1s}"
    assert page.headings[0][0] == 1, (
        f"{where}: the first heading is not the h1: {page.headings[:2]}"
    )
    for (before, _), (level, text) in itertools.pairwise(page.headings):
        assert level <= before + 1, f"{where}: heading {text!r} skips from h{before} to h{level}"
    for control in page.controls:
        labelled = (
            control["wrapped"]
            or control.get("id") in page.label_for
            or control.get("aria-label")
            or control.get("aria-labelledby")
        )
        assert labelled, f"{where}: {control['tag']} name={control.get('name')!r} has no label"
    for image in page.images:
        assert "alt" in image, f"{where}: image {image.get('src', '')[:60]!r} has no alt text"
    assert all(page.fieldsets), f"{where}: a fieldset has no legend as its first element"
    duplicates = {i for i in page.ids if page.ids.count(i) > 1}
    assert not duplicates, f"{where}: duplicate ids {duplicates}"
    assert page.first_link and page.first_link.get("href") == "#main" and "main" in page.ids, (
        f"{where}: the first link is not a skip link to #main"
    )
    return page


def test_the_parser_catches_what_it_should():
    good = (
        '<html lang="en"><body><a href="#main">Skip</a><main id="main"><h1>T</h1><h2>S</h2>'
        '<label for="a">A</label><input id="a"><label><input type="checkbox"> B</label>'
        '<fieldset><legend>L</legend></fieldset><img src="x" alt=""></main></body></html>'
    )
    assert_accessible(good, "good")
    for broken in (
        good.replace(' lang="en"', ""),
        good.replace("<h2>S</h2>", "<h1>S</h1>"),
        good.replace("<h2>S</h2>", "<h3>S</h3>"),
        good.replace('<label for="a">A</label>', ""),
        good.replace(' alt=""', ""),
        good.replace("<legend>L</legend>", ""),
        good.replace('href="#main"', 'href="/"'),
        good.replace('id="a"', 'id="main"'),
    ):
        with pytest.raises(AssertionError):
            assert_accessible(broken, "broken")


def _case(runtime, *, overdue: bool = False, repo_id: str = "alice/face-model") -> int:
    from hostguard.cases.intake import open_case
    from hostguard.cases.models import Case
    from hostguard.platform.service import get_or_create_repo

    with runtime.session() as s:
        repo = get_or_create_repo(s, repo_id=repo_id)
        case = open_case(
            policy=runtime.policy,
            session=s,
            repo=repo,
            source="hash_match",
            category="violence",
            actor="system",
            kind="hash_match",
            automated=True,
            details={
                "list": "demo",
                "distance": 3,
                "sample_image_urls": ["https://hub.example/img/a.png"],
            },
        )
        if overdue:
            row = s.get(Case, case.id)
            row.deadline_at = utcnow() - timedelta(hours=2)
        return case.id


def test_console_pages_have_labels_headings_and_a_skip_link(client, login, runtime, csrf_token):
    assert_accessible(client.get("/console/login").get_data(as_text=True), "login")
    case_id = _case(runtime)
    login(client, "moderator")
    assert_accessible(client.get("/console/").get_data(as_text=True), "home")
    assert_accessible(client.get("/console/cases").get_data(as_text=True), "queue")
    assert_accessible(
        client.get("/console/cases?status=decided").get_data(as_text=True), "empty queue"
    )
    token = csrf_token(client, f"/console/cases/{case_id}")
    client.post(f"/console/cases/{case_id}/claim", data={"csrf_token": token})
    case_html = client.get(f"/console/cases/{case_id}").get_data(as_text=True)
    page = assert_accessible(case_html, "case page")
    assert any(c.get("id") == "d-explanation" for c in page.controls)  # the decision form is there
    assert page.images, "the case page should show the sample image (blurred)"
    assert_accessible(client.get("/console/appeals").get_data(as_text=True), "appeals")
    assert_accessible(client.get("/console/hashlists").get_data(as_text=True), "hash lists")
    assert_accessible(client.get("/console/nowhere").get_data(as_text=True), "not found")


def test_console_navigation_shows_the_sections_a_role_may_open(client, login):
    login(client, "moderator")
    html = client.get("/console/cases").get_data(as_text=True)
    nav = html[html.index('<nav aria-label="Console"') : html.index("</nav>")]
    assert 'href="/console/cases" aria-current="page"' in nav
    assert 'href="/console/appeals"' in nav
    assert (
        "/console/audit" not in nav and "/console/kyu" not in nav and "/console/orders" not in nav
    )
    other = client.get("/console/appeals").get_data(as_text=True)
    assert other[other.index('<nav aria-label="Console"') : other.index("</nav>")].replace(
        ' aria-current="page"', ""
    ) == nav.replace(' aria-current="page"', "")  # same nav on every page


def test_legal_sees_kyu_review_pages_accessible(client, login, api_headers):
    operator = api_headers("operator")
    client.post("/api/v1/uploads/check", json=check_body(), headers=operator)
    login(client, "legal")
    listing = client.get("/console/kyu?status=all").get_data(as_text=True)
    assert_accessible(listing, "kyu list")
    nav = listing[listing.index('<nav aria-label="Console"') : listing.index("</nav>")]
    assert 'href="/console/kyu" aria-current="page"' in nav and "/console/orders" in nav
    assert_accessible(client.get("/console/kyu/1").get_data(as_text=True), "kyu detail")
    assert_accessible(client.get("/console/orders").get_data(as_text=True), "orders")
    assert_accessible(client.get("/console/audit").get_data(as_text=True), "audit")


def test_portal_and_public_pages_are_accessible(client, runtime, api_headers):
    operator = api_headers("operator")
    body = client.post("/api/v1/uploads/check", json=check_body(), headers=operator).get_json()
    urls = {
        s["type"]: s["url"].replace(runtime.settings.base_url, "") for s in body["required_steps"]
    }
    kyu = client.get(urls["kyu"]).get_data(as_text=True)
    assert_accessible(kyu, "portal kyu")
    assert (
        "What happens next" in kyu and "What you need" in kyu
    )  # says what is needed and what follows
    token = make_portal_token(runtime, "u-1", purpose="kyu")
    refused = client.post(
        "/portal/kyu", data={"token": token, "csrf_token": _csrf(client, urls["kyu"])}
    )
    assert refused.status_code == 422
    assert_accessible(refused.get_data(as_text=True), "portal kyu with an error")
    cert = client.get(urls["certification"]).get_data(as_text=True)
    page = assert_accessible(cert, "portal certifications")
    assert len(page.fieldsets) >= 2  # one fieldset with a legend per statement
    assert_accessible(client.get("/notices/").get_data(as_text=True), "notice form")
    bad = client.post(
        "/notices/", data={"csrf_token": _csrf(client, "/notices/"), "items": "not a model!!"}
    )
    assert bad.status_code == 422
    assert_accessible(bad.get_data(as_text=True), "notice form with an error")


def _csrf(client, url: str) -> str:
    from tests.conftest import extract_csrf

    return extract_csrf(client.get(url).get_data(as_text=True))


# --- in the browser ------------------------------------------------------------------------------

CONTRAST_JS = """
(el) => {
  function rgb(s) { const m = s.match(/[\\d.]+/g).map(Number); return {r: m[0], g: m[1], b: m[2], a: m.length > 3 ? m[3] : 1}; }
  function lum(c) { return [c.r, c.g, c.b].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); })
                     .reduce((acc, v, i) => acc + v * [0.2126, 0.7152, 0.0722][i], 0); }
  let bg = null, node = el;
  while (node && node.nodeType === 1) { const c = rgb(getComputedStyle(node).backgroundColor); if (c.a > 0.5) { bg = c; break; } node = node.parentElement; }
  bg = bg || {r: 255, g: 255, b: 255};
  const fg = rgb(getComputedStyle(el).color);
  const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}
"""


def _sign_in(page, live_server, make_user, role: str):
    user, password = make_user(role)
    page.goto(f"{live_server.url}/console/login")
    page.get_by_label("E-mail").fill(user.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/console/login" not in url)  # signed in before the next goto
    return user


def _focused(page) -> str:
    return page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()")


@pytest.mark.browser
def test_skip_link_jumps_past_the_header_to_the_form(page, live_server):
    page.goto(f"{live_server.url}/notices/")
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    box = page.locator(".skip-link").bounding_box()
    assert box and box["x"] >= 0 and box["y"] >= 0, "the focused skip link must be on screen"
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#items")).to_be_focused()  # the first field of the notice form


@pytest.mark.browser
def test_focus_order_on_the_login_page(page, live_server):
    page.goto(f"{live_server.url}/console/login")
    # Chromium applies autofocus on a later rendering step, not by the end of goto(): wait for it.
    expect(page.locator("#email")).to_be_focused()
    for name, stop in [
        ("password", page.locator("#password")),
        ("Sign in", page.get_by_role("button", name="Sign in", exact=True)),
        ("report a model", page.get_by_role("link", name="report a model", exact=True)),
    ]:
        page.keyboard.press("Tab")
        expect(stop, f"Tab should move focus to {name!r} next").to_be_focused()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    expect(page.locator(".skip-link")).to_be_focused()  # reachable from the field


@pytest.mark.browser
def test_portal_kyu_form_is_in_reading_order(page, live_server, client, api_headers):
    body = client.post(
        "/api/v1/uploads/check", json=check_body(), headers=api_headers("operator")
    ).get_json()
    page.goto(next(s["url"] for s in body["required_steps"] if s["type"] == "kyu"))
    page.get_by_label("Your full legal name").focus()
    seen = ["legal_name"]
    for _ in range(12):
        page.keyboard.press("Tab")
        current = _focused(page)
        if current != seen[-1]:
            seen.append(current)
        if current == "Send my details":
            break
    assert seen == [
        "legal_name",
        "address",
        "country",
        "date_of_birth",
        "id_document",
        "Send my details",
    ]


@pytest.mark.browser
def test_overdue_cases_stand_out_and_text_has_enough_contrast(
    page, live_server, make_user, runtime
):
    overdue = _case(runtime, overdue=True, repo_id="late/model")
    on_time = _case(runtime, repo_id="fine/model")
    others = [
        _case(runtime, repo_id=f"fine/model-{n}") for n in range(2)
    ]  # rows of both stripe colours
    _sign_in(page, live_server, make_user, "moderator")
    page.goto(f"{live_server.url}/console/cases")
    late_row = page.locator(
        "tr[data-case-row]", has=page.get_by_role("link", name=f"#{overdue}", exact=True)
    )
    fine_row = page.locator(
        "tr[data-case-row]", has=page.get_by_role("link", name=f"#{on_time}", exact=True)
    )
    assert "overdue" in late_row.inner_text() and "overdue" not in fine_row.inner_text()
    background = "el => getComputedStyle(el).backgroundColor"
    normal = {
        page.locator(
            "tr[data-case-row]", has=page.get_by_role("link", name=f"#{case_id}", exact=True)
        ).evaluate(background)
        for case_id in [on_time, *others]
    }
    assert late_row.evaluate(background) not in normal
    checks = {
        "overdue badge": late_row.locator(".badge-overdue"),
        "current section": page.locator('.console-nav a[aria-current="page"]'),
        "other section": page.locator(".console-nav a:not([aria-current])").first,
        "filter button": page.get_by_role("button", name="Filter"),
        "shortcut help": page.locator(".shortcuts"),
        "case link": late_row.get_by_role("link"),
        "overdue deadline": late_row.locator(".deadline"),
    }
    for name, locator in checks.items():
        ratio = locator.evaluate(CONTRAST_JS)
        assert ratio >= 4.5, f"{name}: contrast {ratio:.2f} is below WCAG AA 4.5:1"
    page.goto(f"{live_server.url}/console/cases/{on_time}")
    image = page.locator(".samples img")
    assert "blur" in image.evaluate("el => getComputedStyle(el).filter")  # wellness default
    assert page.evaluate("document.querySelectorAll('h1').length") == 1
