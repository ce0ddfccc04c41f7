"""Console pages: queue, case page, decision form, wellness blur, orders form, audit view."""

from __future__ import annotations

from sqlmodel import select

from hostguard.accounts.models import User
from hostguard.cases.models import Case, StatementOfReasons


def fresh(db, model, ident):
    """Read one row and end the read transaction (SQLite: it would block the app's writes)."""
    db.expire_all()
    row = db.get(model, ident)
    db.commit()
    return row


def new_notice(client, items=("alice/face-model",), category="hate"):
    r = client.post(
        "/api/v1/notices",
        json={
            "items": list(items),
            "category": category,
            "explanation": "This model generates hate imagery.",
            "good_faith": True,
            "notifier": {"name": "N", "email": "n@example.org"},
        },
    )
    assert r.status_code == 201, r.get_json()
    return r.get_json()["case_ids"][0]


def test_queue_claim_decide_in_the_console(client, login, csrf_token, db):
    case_id = new_notice(client)
    user = login(client, "moderator")
    queue = client.get("/console/cases").get_data(as_text=True)
    assert f"#{case_id}" in queue and "alice/face-model" in queue
    token = csrf_token(client, f"/console/cases/{case_id}")
    assert (
        client.post(f"/console/cases/{case_id}/claim", data={"csrf_token": token}).status_code
        == 303
    )
    assert fresh(db, Case, case_id).assigned_to == user.id
    missing = client.post(
        f"/console/cases/{case_id}/decision",
        follow_redirects=True,
        data={
            "csrf_token": token,
            "action": "take_down",
            "ground": "",
            "ground_reference": "x",
            "category": "hate",
            "explanation": "x",
        },
    ).get_data(as_text=True)
    assert "Choose a ground" in missing
    done = client.post(
        f"/console/cases/{case_id}/decision",
        follow_redirects=True,
        data={
            "csrf_token": token,
            "action": "take_down",
            "ground": "illegal_content",
            "ground_reference": "StGB § 130",
            "category": "hate",
            "explanation": "Incites hatred.",
        },
    ).get_data(as_text=True)
    assert "Decision recorded" in done and "Statement of reasons" in done
    assert fresh(db, Case, case_id).status == "decided"
    assert db.exec(select(StatementOfReasons)).one().case_id == case_id
    db.commit()
    mine = client.get("/console/cases?status=decided").get_data(as_text=True)
    assert f"#{case_id}" in mine


def test_media_is_blurred_by_default_with_a_per_user_override(
    client, login, csrf_token, db, runtime
):
    from hostguard.cases.intake import open_case
    from hostguard.platform.service import get_or_create_repo

    with runtime.session() as s:
        repo = get_or_create_repo(s, repo_id="img/model")
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
                "sample_image_urls": [
                    "https://hub.example/img/a.png",
                    "https://hub.example/img/b.png",
                ],
                "matched_image_urls": ["https://hub.example/img/b.png"],
            },
        )
        case_id = case.id
    user = login(client, "moderator")
    page = client.get(f"/console/cases/{case_id}").get_data(as_text=True)
    assert 'src="https://hub.example/img/a.png"' in page and 'class="media-safe"' in page
    assert "img/b.png" not in page  # the matched image is never shown
    assert "Matched image not shown" in page and "distance" in page
    token = csrf_token(client, f"/console/cases/{case_id}")
    client.post(
        "/console/preferences/blur", data={"csrf_token": token, "next": f"/console/cases/{case_id}"}
    )
    assert fresh(db, User, user.id).preferences["blur_media"] is False
    assert 'class="media-safe"' not in client.get(f"/console/cases/{case_id}").get_data(
        as_text=True
    )


def test_legal_records_an_order_and_sees_feedback(client, login, csrf_token):
    login(client, "legal")
    token = csrf_token(client, "/console/orders")
    created = client.post(
        "/console/orders",
        follow_redirects=True,
        data={
            "csrf_token": token,
            "authority": "Arcom",
            "member_state": "FR",
            "reference": "ARC-9",
            "legal_basis": "Art. 9 DSA",
            "category": "terrorism",
            "items": "t/model\nt/other",
            "territorial_scope": "FR",
            "deadline": "2030-01-01T10:00",
            "feedback_to": "o@arcom.example",
            "acknowledge": "yes",
        },
    )
    html = created.get_data(as_text=True)
    assert "2 case(s) opened" in html and "2030-01-01 10:00 UTC" in html
    assert "Received and acknowledged" in html and "not yet been given" in html


def test_moderators_cannot_open_the_orders_form_or_audit(client, login):
    login(client, "moderator")
    assert client.get("/console/orders").status_code == 403
    assert client.get("/console/audit").status_code == 403


def test_audit_view_lists_case_history(client, login):
    case_id = new_notice(client)
    login(client, "auditor")
    html = client.get(f"/console/audit?subject=case:{case_id}").get_data(as_text=True)
    assert "case.open" in html and "case.evidence" in html


def test_auditor_reads_the_queue_and_case_pages_but_changes_nothing(client, login, csrf_token, db):
    case_id = new_notice(client)
    login(client, "auditor")
    queue = client.get("/console/cases")
    assert queue.status_code == 200 and f"#{case_id}" in queue.get_data(as_text=True)
    assert 'href="/console/cases"' in client.get("/console/").get_data(
        as_text=True
    )  # in the navigation
    page = client.get(f"/console/cases/{case_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "alice/face-model" in html and 'id="read-only"' in html
    for form in ("claim-form", "decision-form", 'id="note-body"', 'id="link-id"', 'id="reassign"'):
        assert form not in html, f"an auditor is shown {form}"
    assert "case.open" in html  # the history
    token = csrf_token(
        client, f"/console/cases/{case_id}"
    )  # the blur toggle's form still carries one
    for path, data in (
        ("claim", {}),
        ("release", {}),
        ("notes", {"body": "x"}),
        ("links", {"other_case_id": "1"}),
        ("reassign", {"user_id": "1"}),
        (
            "decision",
            {
                "action": "no_action",
                "ground": "terms_of_service",
                "ground_reference": "x",
                "category": "hate",
                "explanation": "x",
            },
        ),
    ):
        answer = client.post(f"/console/cases/{case_id}/{path}", data={"csrf_token": token, **data})
        assert answer.status_code == 403, f"an auditor reached POST {path}"
    case = fresh(db, Case, case_id)
    assert case.assigned_to is None and case.status == "open"


def test_moderators_still_see_the_work_forms(client, login):
    case_id = new_notice(client)
    login(client, "moderator")
    html = client.get(f"/console/cases/{case_id}").get_data(as_text=True)
    assert all(f in html for f in ("claim-form", "decision-form", 'id="note-body"', 'id="link-id"'))
    assert 'id="read-only"' not in html


def test_the_queue_filters_by_whoever_holds_a_case(client, login, csrf_token, db):
    """`assigned=<user id>` (as a saved filter may say) shows that moderator's cases only."""
    held = new_notice(client, items=("alice/held-model",))
    free = new_notice(client, items=("alice/free-model",))
    user = login(client, "moderator")
    token = csrf_token(client, f"/console/cases/{held}")
    assert (
        client.post(f"/console/cases/{held}/claim", data={"csrf_token": token}).status_code == 303
    )
    theirs = client.get(f"/console/cases?assigned={user.id}").get_data(as_text=True)
    assert f"#{held}" in theirs and f"#{free}" not in theirs
    nobodys = client.get("/console/cases?assigned=none").get_data(as_text=True)
    assert f"#{free}" in nobodys and f"#{held}" not in nobodys
