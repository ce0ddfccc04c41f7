"""Fixes from the review of the case workflow: reversals, role checks, validation, idempotency."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from hostguard.accounts.models import User
from hostguard.cases.appeals import file_appeal
from hostguard.cases.intake import open_case
from hostguard.cases.models import AuthorityOrder, OrderItem, Sanction
from hostguard.hashing import service as hashing
from hostguard.hashing.models import REUPLOAD_LIST, HashEntry, HashList
from hostguard.jobs.models import Job
from hostguard.platform.models import Uploader, UploaderStatus
from hostguard.workflows.decisions import decide_appeal
from tests.hashing.images import encode, make_image


def _scan(db, runtime, image_bytes: bytes):
    db.commit()
    with runtime.session() as session:
        [scan] = hashing.scan_images(
            session=session, runtime=runtime, images=[("again.png", image_bytes)]
        )
    return scan


def test_overturned_take_down_takes_the_images_off_the_reupload_list(
    db, runtime, notice, people, owned_repo, decided
):
    mod, senior = people("moderator"), people("senior_moderator")
    repo, _ = owned_repo()
    sample = encode(make_image(31, (400, 300)), "PNG")
    scans = hashing.scan_images(session=db, runtime=runtime, images=[("sample.png", sample)])
    hashing.remember_sample_hashes(session=db, repo=repo, revision="r1", scans=scans, ref="check:1")
    db.commit()
    _, (case,) = notice()
    decided(case, mod)
    assert {m["list"] for m in _scan(db, runtime, sample).matches} == {
        REUPLOAD_LIST,
        f"{REUPLOAD_LIST}-sha256",
    }
    versions = {h.name: h.version for h in db.exec(select(HashList))}

    appeal = file_appeal(
        policy=runtime.policy,
        session=db,
        case_id=case.id,
        appellant="uploader",
        reason="Satire.",
        actor="x",
    )
    decide_appeal(
        session=db,
        runtime=runtime,
        appeal_id=appeal.id,
        user=senior,
        actor=senior.actor,
        outcome="overturned",
        explanation="Satire is allowed.",
    )
    db.commit()

    assert _scan(db, runtime, sample).matches == []
    assert db.exec(select(HashEntry).where(HashEntry.ref == f"case:{case.id}")).all() == []
    for hash_list in db.exec(select(HashList)):  # other processes reload their index
        assert hash_list.version > versions[hash_list.name] and hash_list.entry_count == 0


def test_image_taken_down_in_another_standing_case_stays_blocked_after_one_appeal(
    db, runtime, notice, people, owned_repo, decided
):
    mod, senior = people("moderator"), people("senior_moderator")
    sample = encode(make_image(32, (400, 300)), "PNG")
    repo_ids = ("alice/first", "alice/copy")  # both accepted the same picture before any take-down
    for repo_id, uploader in zip(repo_ids, ("u-a1", "u-a2"), strict=True):
        repo, _ = owned_repo(repo_id=repo_id, platform_id=uploader, username=uploader)
        scans = hashing.scan_images(session=db, runtime=runtime, images=[("sample.png", sample)])
        hashing.remember_sample_hashes(
            session=db, repo=repo, revision="r1", scans=scans, ref=f"check:{repo_id}"
        )
        db.commit()
    cases = []
    for repo_id in repo_ids:
        _, (case,) = notice(items=(repo_id,))
        decided(case, mod)
        cases.append(case)
    first, second = cases
    # the image went on the list once, carried by the first case
    assert db.exec(select(HashEntry).where(HashEntry.ref == f"case:{first.id}")).all()

    appeal = file_appeal(
        policy=runtime.policy,
        session=db,
        case_id=first.id,
        appellant="uploader",
        reason="Mine.",
        actor="x",
    )
    decide_appeal(
        session=db,
        runtime=runtime,
        appeal_id=appeal.id,
        user=senior,
        actor=senior.actor,
        outcome="overturned",
        explanation="Fine for the first model.",
    )
    db.commit()

    assert {m["list"] for m in _scan(db, runtime, sample).matches} == {
        REUPLOAD_LIST,
        f"{REUPLOAD_LIST}-sha256",
    }
    assert db.exec(select(HashEntry).where(HashEntry.ref == f"case:{first.id}")).all() == []
    assert db.exec(select(HashEntry).where(HashEntry.ref == f"case:{second.id}")).all()


def _platform_actions(db) -> list[str]:
    return [
        j.payload["kind"]
        for j in db.exec(select(Job).where(Job.kind == "platform.action").order_by(Job.id))
    ]


def test_overturning_the_strike_that_suspended_the_uploader_reinstates_them(
    db, runtime, people, owned_repo, decided
):
    mod, senior = people("moderator"), people("senior_moderator")
    cases = []
    for i in range(3):
        repo, uploader = owned_repo(repo_id=f"alice/model-{i}")
        cases.append(
            open_case(
                policy=runtime.policy,
                session=db,
                repo=repo,
                source="own_initiative",
                category="hate",
                actor="system",
                kind="review",
            )
        )
        db.commit()
        decided(cases[-1], mod)
    assert db.get(Uploader, uploader.id).status == UploaderStatus.SUSPENDED
    appeal = file_appeal(
        policy=runtime.policy,
        session=db,
        case_id=cases[-1].id,
        appellant="uploader",
        reason="Not mine.",
        actor="x",
    )
    decide_appeal(
        session=db,
        runtime=runtime,
        appeal_id=appeal.id,
        user=senior,
        actor=senior.actor,
        outcome="overturned",
        explanation="The third model was wrongly attributed.",
    )
    db.commit()
    uploader = db.get(Uploader, uploader.id)
    assert (
        uploader.status == UploaderStatus.WARNED
        and uploader.suspended_until is None
        and uploader.strikes == 2
    )
    assert [
        (s.action, s.case_id)
        for s in db.exec(
            select(Sanction).where(Sanction.case_id == cases[-1].id).order_by(Sanction.id)
        )
    ] == [("suspend", cases[-1].id), ("lift", cases[-1].id)]
    assert _platform_actions(db)[-2:] == ["restore", "reinstate_uploader"]


NOTICE = {
    "items": ["alice/face-model"],
    "category": "hate",
    "explanation": "Generates hateful imagery.",
    "notifier": {"name": "Nora", "email": "nora@example.org"},
    "good_faith": True,
}
ORDER = {
    "authority": "Arcom",
    "member_state": "FR",
    "reference": "ARC-1",
    "legal_basis": "Art. 9 DSA",
    "category": "terrorism",
    "items": ["t/model"],
    "territorial_scope": ["FR"],
}


def test_moderator_keys_of_non_case_workers_cannot_change_cases(
    client, runtime, api_headers, make_user
):
    first, second = (
        client.post("/api/v1/notices", json={**NOTICE, "items": [f"a/m{i}"]}).get_json()[
            "case_ids"
        ][0]
        for i in range(2)
    )
    worker, _ = make_user("moderator")
    moved, _ = make_user("moderator")
    headers = api_headers("moderator", user=moved)
    with runtime.session() as session:  # the key stays; its user has since become an auditor
        session.get(User, moved.id).role = "auditor"
    refused = {
        "note": client.post(
            f"/api/v1/cases/{first}/notes", json={"body": "looks bad"}, headers=headers
        ),
        "link": client.post(
            f"/api/v1/cases/{first}/links", json={"case_id": second}, headers=headers
        ),
        "claim": client.post(f"/api/v1/cases/{first}/claim", headers=headers),
        "release": client.post(f"/api/v1/cases/{first}/release", headers=headers),
        "reassign": client.post(
            f"/api/v1/cases/{first}/reassign", json={"user_id": worker.id}, headers=headers
        ),
        "decision": client.post(
            f"/api/v1/cases/{first}/decision", json={"action": "no_action"}, headers=headers
        ),
    }
    for what, response in refused.items():
        assert response.status_code == 403, what
        assert response.get_json()["error"]["code"] == "role_not_allowed", what
    detail = client.get(
        f"/api/v1/cases/{first}", headers=api_headers("moderator", user=worker)
    ).get_json()
    assert detail["notes"] == [] and detail["linked_cases"] == [] and detail["assigned_to"] is None
    ok = client.post(
        f"/api/v1/cases/{first}/notes",
        json={"body": "looks bad"},
        headers=api_headers("moderator", user=worker),
    )
    assert ok.status_code == 201


@pytest.mark.parametrize(
    "role,status", [("moderator", 403), ("senior_moderator", 403), ("legal", 200), ("admin", 200)]
)
def test_only_legal_and_admin_keys_acknowledge_orders(client, api_headers, make_user, role, status):
    order_id = client.post(
        "/api/v1/orders", json=ORDER, headers=api_headers("authority")
    ).get_json()["order_id"]
    response = client.post(
        f"/api/v1/orders/{order_id}/acknowledge",
        headers=api_headers("moderator", user=make_user(role)[0]),
    )
    assert response.status_code == status, response.get_json()
    assert (response.get_json().get("acknowledged_at") is not None) == (status == 200)


def test_an_authority_reads_only_its_own_orders(client, api_headers, make_user):
    arcom, other = api_headers("authority"), api_headers("authority")
    order_id = client.post("/api/v1/orders", json=ORDER, headers=arcom).get_json()["order_id"]
    assert (
        client.get(f"/api/v1/orders/{order_id}", headers=arcom).get_json()["reference"] == "ARC-1"
    )
    hidden = client.get(f"/api/v1/orders/{order_id}", headers=other)
    assert hidden.status_code == 404 and hidden.get_json()["error"]["code"] == "order_not_found"
    assert (
        client.get(
            f"/api/v1/orders/{order_id}",
            headers=api_headers("moderator", user=make_user("moderator")[0]),
        ).status_code
        == 404
    )
    legal = api_headers("moderator", user=make_user("legal")[0])
    assert client.get(f"/api/v1/orders/{order_id}", headers=legal).status_code == 200


def test_a_repeated_order_is_the_same_order(client, db, api_headers):
    arcom = api_headers("authority")
    first = client.post("/api/v1/orders", json=ORDER, headers=arcom)
    again = client.post("/api/v1/orders", json={**ORDER, "reference": " ARC-1 "}, headers=arcom)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["order_id"] == first.get_json()["order_id"]
    assert again.get_json()["case_ids"] == first.get_json()["case_ids"]
    assert db.exec(select(func.count()).select_from(AuthorityOrder)).one() == 1
    assert db.exec(select(func.count()).select_from(OrderItem)).one() == 1
    db.commit()
    other = client.post("/api/v1/orders", json=ORDER, headers=api_headers("authority"))
    assert other.status_code == 201 and other.get_json()["order_id"] != first.get_json()["order_id"]


def test_the_database_refuses_a_second_order_with_the_same_sender_and_reference(db):
    from sqlalchemy.exc import IntegrityError

    for _ in range(2):
        db.add(
            AuthorityOrder(
                authority="A",
                reference="R-1",
                legal_basis="x",
                category="other",
                created_by="apikey:1",
            )
        )
    with pytest.raises(IntegrityError):
        db.flush()
    db.rollback()


DECISION = {
    "action": "suspend_uploader",
    "ground": "illegal_content",
    "ground_reference": "StGB § 130",
    "category": "hate",
    "explanation": "Incites hatred.",
}


@pytest.mark.parametrize(
    "change,code",
    [
        ({"end_date": "2031-01-01T00:00:00"}, "invalid_input"),  # no time zone: pydantic refuses it
        ({"end_date": "2020-01-01T00:00:00Z"}, "invalid_end_date"),
        ({"territorial_scope": ["Germany"]}, "invalid_scope"),
        ({"territorial_scope": ["DE", "1x"]}, "invalid_scope"),
    ],
)
def test_bad_end_dates_and_scopes_are_refused_with_422(client, api_headers, change, code):
    case_id = client.post("/api/v1/notices", json=NOTICE).get_json()["case_ids"][0]
    headers = api_headers("moderator")
    client.post(f"/api/v1/cases/{case_id}/claim", headers=headers)
    response = client.post(
        f"/api/v1/cases/{case_id}/decision", json={**DECISION, **change}, headers=headers
    )
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    assert response.get_json()["error"]["code"] == code
    good = client.post(
        f"/api/v1/cases/{case_id}/decision",
        headers=headers,
        json={**DECISION, "end_date": "2031-01-01T00:00:00+01:00", "territorial_scope": ["de"]},
    )
    assert good.status_code == 201, good.get_json()
    assert good.get_json()["decision"]["territorial_scope"] == ["DE"]


def test_check_decision_refuses_naive_and_past_end_dates():
    from datetime import datetime, timedelta

    from hostguard.cases.decisions import DecisionInput, check_decision
    from hostguard.db.types import utcnow
    from hostguard.errors import InvalidInput
    from hostguard.policy import load_policy

    for end in (datetime(2031, 1, 1), utcnow() - timedelta(minutes=1)):
        with pytest.raises(InvalidInput) as exc:
            check_decision(DecisionInput(**DECISION, end_date=end), policy=load_policy())
        assert exc.value.code == "invalid_end_date"
    check_decision(
        DecisionInput(**DECISION, end_date=utcnow() + timedelta(days=30)), policy=load_policy()
    )


def test_a_decision_can_be_appealed_once_per_appellant(client, api_headers, make_user):
    case_id = client.post("/api/v1/notices", json=NOTICE).get_json()["case_ids"][0]
    mod = api_headers("moderator")
    senior = api_headers("moderator", user=make_user("senior_moderator")[0])
    operator = api_headers("operator")
    client.post(f"/api/v1/cases/{case_id}/claim", headers=mod)
    assert (
        client.post(f"/api/v1/cases/{case_id}/decision", json=DECISION, headers=mod).status_code
        == 201
    )
    body = {"appellant": "uploader", "reason": "It is a parody model."}
    appeal_id = client.post(
        f"/api/v1/cases/{case_id}/appeal", json=body, headers=operator
    ).get_json()["id"]
    again = client.post(f"/api/v1/cases/{case_id}/appeal", json=body, headers=operator)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "appeal_open"
    decided = client.post(
        f"/api/v1/appeals/{appeal_id}/decision",
        headers=senior,
        json={"outcome": "upheld", "explanation": "Not a parody."},
    )
    assert decided.status_code == 200
    after = client.post(f"/api/v1/cases/{case_id}/appeal", json=body, headers=operator)
    assert after.status_code == 409, after.get_json()
    error = after.get_json()["error"]
    assert error["code"] == "appeal_decided" and f"appeal {appeal_id}" in error["message"]
    assert len(client.get("/api/v1/appeals?status=all", headers=senior).get_json()["items"]) == 1


def test_refused_claims_say_why(runtime, db, notice, people):
    from hostguard.cases.claims import claim_case
    from hostguard.errors import PermissionDenied

    _, (case,) = notice()
    with pytest.raises(PermissionDenied) as exc:
        claim_case(
            session=db,
            case_id=case.id,
            user=people("auditor"),
            actor="user:x",
            policy=runtime.policy,
        )
    assert exc.value.message == "your role (auditor) cannot work on cases"
    case.status, case.escalated_to = "escalated", "legal"
    db.commit()
    with pytest.raises(PermissionDenied) as exc:
        claim_case(
            session=db,
            case_id=case.id,
            user=people("moderator"),
            actor="user:y",
            policy=runtime.policy,
        )
    assert (
        exc.value.message
        == f"case {case.id} is escalated to legal; only legal or an admin can take it"
    )


HUGE = 2**63  # one more than a BIGINT holds


def test_out_of_range_ids_answer_404_or_422_not_500(client, api_headers, make_user):
    case_id = client.post("/api/v1/notices", json=NOTICE).get_json()["case_ids"][0]
    mod = api_headers("moderator")
    senior = api_headers("moderator", user=make_user("senior_moderator")[0])
    legal = api_headers("moderator", user=make_user("legal")[0])
    not_found = [
        client.get(f"/api/v1/cases/{HUGE}", headers=mod),
        client.post(f"/api/v1/cases/{HUGE}/claim", headers=mod),
        client.post(f"/api/v1/cases/{HUGE}/notes", json={"body": "x"}, headers=mod),
        client.post(
            f"/api/v1/cases/{HUGE}/appeal",
            json={"appellant": "uploader", "reason": "x"},
            headers=api_headers("operator"),
        ),
        client.post(
            f"/api/v1/appeals/{HUGE}/decision",
            json={"outcome": "upheld", "explanation": "x"},
            headers=senior,
        ),
        client.get(f"/api/v1/orders/{HUGE}", headers=legal),
        client.post(f"/api/v1/orders/{HUGE}/acknowledge", headers=legal),
    ]
    assert [r.status_code for r in not_found] == [404] * len(not_found)
    client.post(f"/api/v1/cases/{case_id}/claim", headers=mod)
    invalid = [
        client.post(f"/api/v1/cases/{case_id}/links", json={"case_id": HUGE}, headers=mod),
        client.post(f"/api/v1/cases/{case_id}/reassign", json={"user_id": HUGE}, headers=mod),
        client.get(f"/api/v1/cases?cursor={HUGE}.1", headers=mod),
        client.get(f"/api/v1/cases?cursor=1.{HUGE}", headers=mod),
        client.get(f"/api/v1/cases?sort=oldest&cursor={HUGE}", headers=mod),
        client.get(f"/api/v1/cases?assigned={HUGE}", headers=mod),
    ]
    assert [r.status_code for r in invalid] == [422] * len(invalid), [r.get_json() for r in invalid]
    assert [r.get_json()["error"]["code"] for r in invalid[2:5]] == ["invalid_cursor"] * 3
