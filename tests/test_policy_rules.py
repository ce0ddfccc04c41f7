"""Every policy rule the docs document is read from the policy file.

For each rule of `policies/default.yaml`, a test changes that one rule in a policy file laid over
the shipped one (naming only `id`, `version` and the section changed), makes it the runtime's
policy, and sees the behaviour change through the product's entry points (the API, or the
domain function a job or the console calls), next to what the shipped policy does. The overlay
rules themselves (sections left out, settings merged key by key, tables replaced whole, `id`
required) are tested at the end.
"""

from __future__ import annotations

import copy
import hashlib
import io
import itertools
import uuid
from datetime import datetime, timedelta

import numpy as np
import pytest
import yaml
from PIL import Image
from sqlmodel import select

from hostguard.accounts.models import ApiKey
from hostguard.accounts.service import set_teams
from hostguard.cases.models import Case, CaseEvidence, Decision, Notifier, QualitySample
from hostguard.cases.queue import reprioritise
from hostguard.cases.sampling import drawn
from hostguard.db.types import utcnow
from hostguard.hashing.service import import_list, scan_images
from hostguard.jobs.models import Job
from hostguard.jobs.service import run_due
from hostguard.platform.models import DeliveryStatus, ModelRepo, Uploader, WebhookDelivery
from hostguard.policy import DEFAULT_POLICY_PATH, PolicyError, load_policy, parse_policy
from hostguard.uploads.kyu import read_personal_data, reject_kyu, verify_kyu
from hostguard.uploads.models import KyuSubmission, PersonalDataAccess, UploadCheck
from hostguard.workflows.retention import sweep_kyu
from hostguard.workflows.retention import sweep_records as retention_sweep
from tests.conftest import extract_csrf
from tests.hashing.images import encode, make_image
from tests.hashing.videos import encode as encode_video
from tests.hashing.videos import scene_frames
from tests.uploads.conftest import KYU_FORM, check_body
from tests.uploads.provenance import with_xmp_source_type
from tests.web.test_pages_a11y import _case

SHIPPED = load_policy()
OWN = {"id": "rules-test", "version": 2}


def shipped(section: str):
    """A copy of one section of the shipped policy file, as YAML data, to change and write."""
    return copy.deepcopy(yaml.safe_load(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))[section])


# --- fixtures and helpers ----------------------------------------------------------------------


@pytest.fixture
def use_policy(runtime, tmp_path):
    """use_policy(**sections) -> Policy: a file with `id`, `version` and these sections, laid over
    the shipped policy, in force for this test (a test that does not call it runs under the
    shipped policy)."""
    numbers = itertools.count()

    def use(**sections):
        # a new file each time: the policy cache is keyed by path and modification time
        path = tmp_path / f"policy-{next(numbers)}.yaml"
        path.write_text(yaml.safe_dump({**OWN, **sections}, sort_keys=False), encoding="utf-8")
        runtime.settings.policy_file = path
        assert runtime.policy.ref == OWN
        return runtime.policy

    return use


@pytest.fixture
def operator(api_headers):
    return api_headers("operator")


@pytest.fixture
def moderator(api_headers):
    return api_headers("moderator")


def check(client, operator, **body) -> dict:
    response = client.post("/api/v1/uploads/check", json=check_body(**body), headers=operator)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def codes(answer: dict) -> list[str]:
    return [r["code"] for r in answer["reasons"]]


def certify(client, operator, *statements, revision="r" * 40):
    """Sign statements (dicts) for u-1's alice/model at `revision` through the API."""
    return client.post(
        "/api/v1/certifications",
        headers=operator,
        json={
            "uploader_id": "u-1",
            "repo_id": "alice/model",
            "revision": revision,
            "signed_name": "Alice Example",
            "statements": list(statements),
        },
    )


TRAINING_DATA = {"id": "no-csam-training-data", "version": 1, "accepted": True}


def watermark(method: str) -> dict:
    fields = {"method": method} if method != "other" else {"method": "other", "description": "x"}
    return {"id": "output-watermark", "version": 1, "accepted": True, "fields": fields}


def private_and_certified(client, operator, *statements) -> None:
    """u-1's alice/model, checked as private and with the training-data statement signed."""
    check(client, operator, visibility="private")
    assert certify(client, operator, TRAINING_DATA, *statements).status_code == 201


def sample(seed: int) -> bytes:
    return encode(make_image(seed, (320, 240)), "PNG")


def put_on_a_list(runtime, image: bytes, *, name: str, category: str, action: str) -> None:
    with runtime.session() as s:
        pdq = scan_images(session=s, runtime=runtime, images=[("x.png", image)])[0].hashes["pdq"]
        import_list(
            session=s,
            actor="test",
            name=name,
            data=pdq + "\n",
            algorithm="pdq",
            category=category,
            action=action,
        )


@pytest.mark.parametrize("changed", [False, True], ids=["shipped", "changed"])
def test_retroactive_match_quarantines_by_category(client, operator, runtime, use_policy, changed):
    """Shipped: a published model whose sample a CSAM list gains is quarantined at once, with a
    case; `retroactive: case` only opens the case."""
    if changed:
        categories = shipped("hash_categories")
        for name in ("csam", "child_sexual_abuse"):
            categories[name]["retroactive"] = "case"
        use_policy(hash_categories=categories)
    assert SHIPPED.retroactive_measure("csam") == "quarantine"
    image = sample(64)
    private_and_certified(client, operator)
    allowed = check(client, operator, visibility="private", images=[("samples/a.png", image)])
    assert allowed["decision"] == "allow"
    put_on_a_list(runtime, image, name="late-list", category="csam", action="block")
    run_due(runtime.engine, runtime=runtime)
    with runtime.session() as s:
        repo = s.exec(select(ModelRepo)).one()
        actions = [
            j.payload["kind"] for j in s.exec(select(Job).where(Job.kind == "platform.action"))
        ]
        assert len(s.exec(select(Case)).all()) == 1
    assert repo.status == ("active" if changed else "quarantined")
    assert actions == ([] if changed else ["quarantine"])
    read = client.get(f"/api/v1/uploads/checks/{allowed['check_id']}", headers=operator)
    assert read.get_json()["decision"] == "block"
    assert read.get_json()["reasons"][-1]["code"] == "retroactive_match"


def submit_kyu(client, operator, document: bytes):
    form = {**KYU_FORM, "id_document": (io.BytesIO(document), "id.png")}
    return client.post(
        "/api/v1/uploaders/u-1/kyu",
        data=form,
        headers=operator,
        content_type="multipart/form-data",
    )


def id_document(side: int = 48) -> bytes:
    """A PNG of noise: a few kilobytes however it is compressed."""
    rng = np.random.default_rng(side)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (side, side, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def notice(client, *, category="hate", items=None, explanation=None, email="nora@example.org"):
    return client.post(
        "/api/v1/notices",
        json={
            "items": items or [f"someone/{category}-model"],
            "category": category,
            "explanation": explanation or "This model generates illegal imagery.",
            "notifier": {"name": "Nora Notifier", "email": email} if email else None,
            "good_faith": True,
        },
    )


def notice_case(client, **kwargs) -> int:
    response = notice(client, **kwargs)
    assert response.status_code == 201, response.get_data(as_text=True)
    (case_id,) = response.get_json()["case_ids"]
    return case_id


def decide(client, moderator, case_id: int, **overrides) -> dict:
    assert client.post(f"/api/v1/cases/{case_id}/claim", headers=moderator).status_code == 200
    body = {
        "action": "take_down",
        "ground": "illegal_content",
        "ground_reference": "StGB § 130",
        "category": "hate",
        "explanation": "The model's samples incite hatred.",
        **overrides,
    }
    response = client.post(f"/api/v1/cases/{case_id}/decision", json=body, headers=moderator)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def get_case(runtime, case_id: int) -> Case:
    with runtime.session() as s:
        case = s.get(Case, case_id)
        s.expunge(case)
    return case


def the_notifier(runtime) -> Notifier:
    with runtime.session() as s:
        (notifier,) = s.exec(select(Notifier)).all()
        s.expunge(notifier)
    return notifier


def days(delta: timedelta) -> float:
    return delta / timedelta(days=1)


# --- kyu ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("private_level", "before", "after_submitting"),
    [
        (None, [], []),  # shipped: private uploads need no identity
        ("submitted", ["kyu_required"], []),
        ("verified", ["kyu_required"], ["kyu_pending"]),
    ],
    ids=["shipped-none", "submitted", "verified"],
)
def test_kyu_required_level_per_visibility(
    client, operator, use_policy, private_level, before, after_submitting
):
    if private_level:
        use_policy(kyu={"required": {**shipped("kyu")["required"], "private": private_level}})
    answer = check(client, operator, visibility="private")
    assert codes(answer) == [*before, "certification_required"]
    assert submit_kyu(client, operator, id_document()).status_code == 201
    answer = check(client, operator, visibility="private")
    assert codes(answer) == [*after_submitting, "certification_required"]


@pytest.mark.parametrize("valid_for_days", [None, 30], ids=["shipped", "changed"])
def test_kyu_valid_for_days(client, operator, runtime, use_policy, valid_for_days):
    if valid_for_days:
        use_policy(kyu={"valid_for_days": valid_for_days})
    check(client, operator)
    assert submit_kyu(client, operator, id_document()).status_code == 201
    with runtime.session() as s:
        kyu_id = s.exec(select(KyuSubmission.id)).one()
        verified = verify_kyu(session=s, actor="test", kyu_id=kyu_id, policy=runtime.policy)
        given = days(verified.expires_at - verified.reviewed_at)
    assert given == (valid_for_days or SHIPPED.kyu.valid_for_days)


@pytest.mark.parametrize(
    ("max_document_bytes", "status"), [(None, 201), (4096, 413)], ids=["shipped", "changed"]
)
def test_kyu_max_document_bytes(client, operator, use_policy, max_document_bytes, status):
    if max_document_bytes:
        use_policy(kyu={"max_document_bytes": max_document_bytes})
    document = id_document(64)
    assert 4096 < len(document) < SHIPPED.kyu.max_document_bytes
    check(client, operator)
    response = submit_kyu(client, operator, document)
    assert response.status_code == status, response.get_data(as_text=True)


# --- certifications ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("private", "owed"),
    [
        (None, ["no-csam-training-data"]),
        ([], []),
        (
            ["no-csam-training-data", "output-watermark"],
            ["no-csam-training-data", "output-watermark"],
        ),
    ],
    ids=["shipped", "none", "both"],
)
def test_certifications_required_per_visibility(client, operator, use_policy, private, owed):
    if private is not None:
        required = {**shipped("certifications")["required"], "private": private}
        use_policy(certifications={"required": required})
    answer = check(client, operator, visibility="private")
    steps = [s for s in answer["required_steps"] if s["type"] == "certification"]
    assert [st["id"] for step in steps for st in step["statements"]] == owed
    assert answer["decision"] == ("hold" if owed else "allow")


@pytest.mark.parametrize("scope", [None, "revision"], ids=["shipped", "revision"])
def test_certification_scope_decides_whether_later_revisions_are_covered(
    client, operator, use_policy, scope
):
    """Shipped `repo`: certifying revision A covers revision B of the same repo; `revision`:
    B is owed again."""
    if scope is not None:
        use_policy(certifications={"scope": scope})
    check(client, operator, visibility="private", revision="a" * 40)
    assert certify(client, operator, TRAINING_DATA, revision="a" * 40).status_code == 201
    answer = check(client, operator, visibility="private", revision="b" * 40)
    if scope is None:
        assert answer["decision"] == "allow" and codes(answer) == []
    else:
        assert answer["decision"] == "hold" and codes(answer) == ["certification_required"]


def test_a_new_statement_version_is_owed_again_for_a_certified_repo(client, operator, use_policy):
    """Under the shipped `repo` scope, a statement whose version changed is owed again (for
    every revision), with the reason that it changed."""
    private_and_certified(client, operator)
    assert check(client, operator, visibility="private", revision="b" * 40)["decision"] == "allow"
    certifications = shipped("certifications")
    certifications["statements"][0]["version"] = 2
    use_policy(certifications=certifications)
    answer = check(client, operator, visibility="private", revision="c" * 40)
    assert answer["decision"] == "hold" and codes(answer) == ["certification_outdated"]
    assert "changed" in answer["reasons"][0]["message"]
    assert certify(client, operator, {**TRAINING_DATA, "version": 2}).status_code == 201
    answer = check(client, operator, visibility="private", revision="d" * 40)
    assert answer["decision"] == "allow"


def check_model(client, operator, *, repo_extra: dict, revision: str = "r" * 40) -> dict:
    body = check_body(visibility="private", revision=revision)
    body["repo"].update(repo_extra)
    response = client.post("/api/v1/uploads/check", json=body, headers=operator)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


@pytest.mark.parametrize("changed", [False, True], ids=["shipped", "changed"])
def test_statement_outputs_decide_which_models_are_asked(client, operator, use_policy, changed):
    """Shipped: the watermark statement is asked of image, video and audio models, not of text
    models; with `outputs: []` it is asked of every model."""
    certifications = shipped("certifications")
    certifications["required"]["private"] = ["no-csam-training-data", "output-watermark"]
    if changed:
        for statement in certifications["statements"]:
            statement["outputs"] = []
    use_policy(certifications=certifications)

    def owed(answer):
        steps = [s for s in answer["required_steps"] if s["type"] == "certification"]
        return [st["id"] for step in steps for st in step["statements"]]

    both = ["no-csam-training-data", "output-watermark"]
    text = check_model(client, operator, repo_extra={"pipeline_tag": "text-generation"})
    assert owed(text) == (both if changed else ["no-csam-training-data"])
    audio = check_model(client, operator, repo_extra={"outputs": ["audio"]}, revision="a" * 40)
    assert owed(audio) == both
    image = check_model(
        client, operator, repo_extra={"pipeline_tag": "text-to-image"}, revision="b" * 40
    )
    assert owed(image) == both


@pytest.mark.parametrize("new_version", [2, 1], ids=["text-and-version", "text-only"])
def test_a_statements_text_and_version_are_the_policys(client, operator, use_policy, new_version):
    """A changed statement is shown as the policy words it; what was signed before no longer
    counts, an outdated version is refused, and the receipt holds the new text's hash."""
    private_and_certified(client, operator)
    assert check(client, operator, visibility="private")["decision"] == "allow"

    new_text = "I certify that no training image shows a child in a sexual way, and I checked."
    certifications = shipped("certifications")
    statement = next(s for s in certifications["statements"] if s["id"] == TRAINING_DATA["id"])
    statement.update(text=new_text, version=new_version)
    use_policy(certifications={"statements": certifications["statements"]})

    answer = check(client, operator, visibility="private")
    assert codes(answer) == ["certification_outdated"]  # signed before, changed since
    (shown,) = answer["required_steps"][0]["statements"]
    assert (shown["version"], shown["text"]) == (new_version, new_text)
    if new_version != 1:
        outdated = certify(client, operator, TRAINING_DATA)
        assert outdated.status_code == 409
        assert outdated.get_json()["error"]["code"] == "statement_outdated"
    signed = certify(client, operator, {**TRAINING_DATA, "version": new_version})
    assert signed.status_code == 201, signed.get_data(as_text=True)
    (entry,) = signed.get_json()["receipt"]["receipt"]["statements"]
    assert entry["text_sha256"] == hashlib.sha256(new_text.encode()).hexdigest()
    assert signed.get_json()["receipt"]["receipt"]["policy"] == OWN
    assert check(client, operator, visibility="private")["decision"] == "allow"


# --- hash lists ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "decision"),
    [(None, "hold"), ("block", "block"), ("record", "allow")],
    ids=["shipped-hold", "block", "record"],
)
def test_hash_categories_action(client, operator, runtime, use_policy, action, decision):
    """A `review` list leaves it to the policy's rule for the match's category."""
    if action:
        use_policy(hash_categories={"terrorism": {"action": action}, "default": {"action": "hold"}})
    image = sample(61)
    put_on_a_list(runtime, image, name="extremism", category="terrorism", action="review")
    private_and_certified(client, operator)
    answer = check(client, operator, visibility="private", images=[("samples/a.png", image)])
    assert answer["decision"] == decision, answer
    with runtime.session() as s:  # whatever the action, a moderator looks at the match
        assert [c.source for c in s.exec(select(Case))] == ["hash_match"]


@pytest.mark.parametrize(
    ("aliases", "category"), [(None, "other"), (True, "terrorism")], ids=["shipped", "changed"]
)
def test_category_aliases(client, operator, runtime, use_policy, aliases, category):
    """A list's own category name becomes a case category through the aliases."""
    if aliases:
        use_policy(category_aliases={**shipped("category_aliases"), "extremism": "terrorism"})
    image = sample(62)
    put_on_a_list(runtime, image, name="extremism", category="extremism", action="review")
    check(client, operator, images=[("samples/a.png", image)])
    with runtime.session() as s:
        (case,) = s.exec(select(Case)).all()
        assert case.category == category
        evidence = s.exec(select(CaseEvidence).where(CaseEvidence.case_id == case.id)).one()
    assert evidence.details["matches"][0]["category"] == "extremism"


# --- case categories, deadlines, priorities ------------------------------------------------------


def test_categories_a_new_category_is_accepted_by_the_notice_api(client, runtime, use_policy):
    refused = notice(client, category="deepfake_fraud")
    assert refused.status_code in (400, 422)
    assert refused.get_json()["error"]["code"] == "invalid_category"

    categories = shipped("categories")
    categories["deepfake_fraud"] = {
        "label": "Deepfake scams",
        "tdb_category": "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
        "severity": 700,
    }
    use_policy(categories=categories)
    case = get_case(runtime, notice_case(client, category="deepfake_fraud"))
    assert case.category == "deepfake_fraud"
    assert case.priority == 700 + SHIPPED.priorities.sources["notice"]


@pytest.mark.parametrize(
    ("fraud_severity", "first"), [(None, "hate"), (900, "fraud")], ids=["shipped", "changed"]
)
def test_categories_severity_orders_the_queue(client, moderator, use_policy, fraud_severity, first):
    if fraud_severity:
        categories = shipped("categories")
        categories["fraud"]["severity"] = fraud_severity
        use_policy(categories=categories)
    notice_case(client, category="fraud")
    notice_case(client, category="hate")
    queue = client.get("/api/v1/cases?sort=priority", headers=moderator).get_json()["items"]
    assert [c["category"] for c in queue][0] == first


@pytest.mark.parametrize("changed", [False, True], ids=["shipped", "changed"])
def test_deadlines_and_default_deadline_hours(client, runtime, use_policy, changed):
    """The first matching `deadlines` rule, else `default_deadline_hours`."""
    if changed:
        use_policy(
            deadlines=[{"source": "notice", "category": "hate", "hours": 5}],
            default_deadline_hours=10,
        )
    if changed:
        expected = {"hate": 5, "fraud": 10}
    else:  # no shipped rule names notices about hate or fraud: the shipped default
        expected = dict.fromkeys(["hate", "fraud"], SHIPPED.default_deadline_hours)
        assert SHIPPED.default_deadline_hours not in (5, 10)
    for category, hours in expected.items():
        case = get_case(runtime, notice_case(client, category=category))
        assert (case.deadline_at - case.opened_at) / timedelta(hours=1) == hours


@pytest.mark.parametrize("weight", [None, 500], ids=["shipped", "changed"])
def test_priorities_source_weight(client, runtime, use_policy, weight):
    if weight:
        use_policy(priorities={"sources": {**shipped("priorities")["sources"], "notice": weight}})
    case = get_case(runtime, notice_case(client, category="hate"))
    weight = weight or SHIPPED.priorities.sources["notice"]
    assert case.priority == SHIPPED.categories["hate"].severity + weight


P = SHIPPED.priorities
AGING = [
    # (changed priorities, hours waited, points added to the priority at opening)
    (None, 10, 10 * P.age_points_per_hour),
    ({"age_points_per_hour": 10}, 10, 100),
    (None, 200, P.age_points_max + P.overdue_points),  # the shipped deadline is 168 h
    ({"age_points_max": 50}, 200, 50 + P.overdue_points),
    ({"overdue_points": 1000}, 200, P.age_points_max + 1000),
]


@pytest.mark.parametrize(
    ("priorities", "hours", "added"),
    AGING,
    ids=[
        "age-shipped",
        "age_points_per_hour",
        "overdue-shipped",
        "age_points_max",
        "overdue_points",
    ],
)
def test_priorities_age_and_overdue_points(client, runtime, use_policy, priorities, hours, added):
    """The `cases.reprioritise` job's function, as the case waits."""
    if priorities:
        use_policy(priorities=priorities)
    opened = get_case(runtime, notice_case(client, category="hate"))
    with runtime.session() as s:
        reprioritise(s, policy=runtime.policy, now=opened.opened_at + timedelta(hours=hours))
    assert get_case(runtime, opened.id).priority - opened.priority == added


@pytest.mark.parametrize("penalty", [None, 250], ids=["shipped", "changed"])
def test_priorities_unreliable_notifier_penalty(client, runtime, use_policy, penalty):
    if penalty:
        use_policy(priorities={"unreliable_notifier_penalty": penalty})
    first = get_case(runtime, notice_case(client, items=["someone/one"]))
    with runtime.session() as s:  # a record of ten decided notices, six of them unfounded
        notifier = s.exec(select(Notifier)).one()
        notifier.decided, notifier.unfounded = 10, 6
    second = get_case(runtime, notice_case(client, items=["someone/two"]))
    penalty = penalty or SHIPPED.priorities.unreliable_notifier_penalty
    assert first.priority - second.priority == round(penalty * 0.6)


# --- periods from a decision -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("appeal_months", "status"), [(None, 409), (12, 201)], ids=["shipped", "changed"]
)
def test_cases_appeal_months(
    client, operator, moderator, runtime, use_policy, appeal_months, status
):
    """An appeal eight months after the decision: too late under the shipped six months."""
    if appeal_months:
        use_policy(cases={"appeal_months": appeal_months})
    case_id = notice_case(client)
    notice_id = client.get(f"/api/v1/cases/{case_id}", headers=moderator).get_json()
    notice_id = notice_id["notices"][0]["id"]
    decision = decide(client, moderator, case_id, action="no_action")["decision"]
    with runtime.session() as s:
        s.get(Decision, decision["id"]).decided_at = utcnow() - timedelta(days=8 * 31)
    response = client.post(
        f"/api/v1/cases/{case_id}/appeal",
        headers=operator,
        json={
            "appellant": "notifier",
            "reason": "The model is still illegal.",
            "notice_id": notice_id,
        },
    )
    assert response.status_code == status, response.get_data(as_text=True)
    if status == 409:
        assert response.get_json()["error"]["code"] == "appeal_window_closed"


def test_cases_appeal_months_is_at_least_six():
    with pytest.raises(PolicyError) as refused:
        parse_policy(yaml.safe_dump({**OWN, "cases": {"appeal_months": 3}}), source="p.yaml")
    assert refused.value.problems == [
        "cases.appeal_months: Input should be greater than or equal to 6"
    ]


@pytest.mark.parametrize("legal_hold_days", [None, 30], ids=["shipped", "changed"])
def test_cases_legal_hold_days(client, runtime, use_policy, legal_hold_days):
    """Evidence of a legal-hold category (child sexual abuse material) is kept this long."""
    if legal_hold_days:
        use_policy(cases={"legal_hold_days": legal_hold_days})
    case = get_case(runtime, notice_case(client, category="child_sexual_abuse", email=None))
    assert days(case.legal_hold_until - case.opened_at) == (
        legal_hold_days or SHIPPED.cases.legal_hold_days
    )


@pytest.mark.parametrize("preservation_days", [None, 500], ids=["shipped", "changed"])
def test_cases_hotline_preservation_days(
    client, runtime, use_policy, api_headers, make_user, preservation_days
):
    """A hotline report preserves the case's evidence this long from its filing."""
    if preservation_days:
        use_policy(cases={"hotline_preservation_days": preservation_days})
    case_id = notice_case(client, category="child_sexual_abuse", email=None)
    legal, _ = make_user("legal")
    filed = client.post(
        f"/api/v1/cases/{case_id}/hotline-reports",
        json={"hotline": "NCMEC CyberTipline", "reference": "CT-1"},
        headers=api_headers("moderator", legal),
    )
    assert filed.status_code == 201, filed.get_data(as_text=True)
    expected = preservation_days or SHIPPED.cases.hotline_preservation_days
    report = filed.get_json()
    preserve_until = datetime.fromisoformat(report["preserve_until"])
    assert days(preserve_until - datetime.fromisoformat(report["filed_at"])) == expected
    assert get_case(runtime, case_id).legal_hold_until >= preserve_until


# --- notices -----------------------------------------------------------------------------------


def _three_items(client):
    return notice(client, items=["a/one", "a/two", "a/three"])


def _long_explanation(client):
    return notice(client, explanation="This model generates illegal imagery. " * 5)


def _third_notice_in_an_hour(client):
    for n in range(2):
        assert notice(client, items=[f"a/m{n}"]).status_code == 201
    return notice(client, items=["a/m2"])


@pytest.mark.parametrize(
    ("rule", "value", "send", "refused"),
    [
        ("max_items", 2, _three_items, 413),
        ("max_explanation_chars", 100, _long_explanation, 413),
        ("per_hour_from_one_address", 2, _third_notice_in_an_hour, 429),
    ],
)
@pytest.mark.parametrize("changed", [False, True], ids=["shipped", "changed"])
def test_notices_limits(client, use_policy, rule, value, send, refused, changed):
    if changed:
        use_policy(notices={rule: value})
    assert getattr(SHIPPED.notices, rule) > value
    response = send(client)
    assert response.status_code == (refused if changed else 201), response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("min_chars", "status"), [(None, 422), (5, 201)], ids=["shipped", "changed"]
)
def test_notices_min_explanation_chars(client, use_policy, min_chars, status):
    if min_chars:
        use_policy(notices={"min_explanation_chars": min_chars})
    assert SHIPPED.notices.min_explanation_chars > len("Hateful.") >= 5
    response = notice(client, explanation="Hateful.")
    assert response.status_code == status, response.get_data(as_text=True)


# --- misuse --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("warn_at", "status"), [(None, "warned"), (2, "active")], ids=["shipped", "changed"]
)
def test_misuse_uploader_warn_at(client, operator, moderator, use_policy, warn_at, status):
    if warn_at:
        use_policy(misuse={"uploader_warn_at": warn_at})
    check(client, operator)  # u-1 uploads alice/model
    decide(client, moderator, notice_case(client, items=["alice/model"]))
    uploader = client.get("/api/v1/uploaders/u-1", headers=operator).get_json()
    assert (uploader["strikes"], uploader["status"]) == (1, status)


@pytest.mark.parametrize(
    ("suspend_at", "status"), [(None, "warned"), (2, "suspended")], ids=["shipped", "changed"]
)
def test_misuse_uploader_suspend_at(client, operator, moderator, use_policy, suspend_at, status):
    """Two of u-1's models taken down: warned after the first, suspended after the second only
    when the policy suspends at two strikes (the shipped policy waits for three)."""
    if suspend_at:
        use_policy(misuse={"uploader_suspend_at": suspend_at})
    for repo in ("alice/model", "alice/other"):
        check(client, operator, repo=repo)
        decide(client, moderator, notice_case(client, items=[repo]))
    uploader = client.get("/api/v1/uploaders/u-1", headers=operator).get_json()
    assert (uploader["strikes"], uploader["status"]) == (2, status)


@pytest.mark.parametrize("suspension_days", [None, 7], ids=["shipped", "changed"])
def test_misuse_uploader_suspension_days(
    client, operator, moderator, runtime, use_policy, suspension_days
):
    if suspension_days:
        use_policy(misuse={"uploader_suspension_days": suspension_days})
    check(client, operator)
    decide(client, moderator, notice_case(client, items=["alice/model"]), action="suspend_uploader")
    with runtime.session() as s:
        uploader = s.exec(select(Uploader).where(Uploader.platform_id == "u-1")).one()
        decided_at = s.exec(select(Decision.decided_at)).one()
        assert uploader.status == "suspended"
        given = days(uploader.suspended_until - decided_at)
    assert given == (suspension_days or SHIPPED.misuse.uploader_suspension_days)


@pytest.mark.parametrize(
    ("misuse", "status"),
    [(None, "active"), ({"notifier_min_notices": 1, "notifier_unfounded_share": 0.5}, "warned")],
    ids=["shipped", "changed"],
)
def test_misuse_notifier_thresholds(client, moderator, runtime, use_policy, misuse, status):
    """One manifestly unfounded notice: too few to judge under the shipped policy (five)."""
    if misuse:
        use_policy(misuse=misuse)
    decide(client, moderator, notice_case(client), action="no_action", notices_unfounded=True)
    notifier = the_notifier(runtime)
    assert (notifier.decided, notifier.unfounded, notifier.status) == (1, 1, status)


@pytest.mark.parametrize("suspension_days", [None, 14], ids=["shipped", "changed"])
def test_misuse_notifier_suspension_days(client, moderator, runtime, use_policy, suspension_days):
    """A warned notifier whose next notice is unfounded too is suspended this long."""
    if suspension_days:
        use_policy(misuse={"notifier_suspension_days": suspension_days})
    case_id = notice_case(client)
    with runtime.session() as s:
        notifier = s.exec(select(Notifier)).one()
        notifier.decided, notifier.unfounded = 9, 9
        notifier.status, notifier.warned_at = "warned", utcnow()
    decide(client, moderator, case_id, action="no_action", notices_unfounded=True)
    notifier = the_notifier(runtime)
    assert notifier.status == "suspended"
    given = days(notifier.suspended_until - utcnow())
    expected = suspension_days or SHIPPED.misuse.notifier_suspension_days
    assert expected - 0.01 < given <= expected


# --- retention -----------------------------------------------------------------------------------


def _rejected_kyu(client, operator, runtime) -> None:
    check(client, operator)
    assert submit_kyu(client, operator, id_document()).status_code == 201
    with runtime.session() as s:
        reject_kyu(
            session=s,
            actor="test",
            kyu_id=s.exec(select(KyuSubmission.id)).one(),
            reason="The photo cannot be read.",
        )


def _verified_kyu(client, operator, runtime) -> None:
    check(client, operator)
    assert submit_kyu(client, operator, id_document()).status_code == 201
    with runtime.session() as s:
        verify_kyu(
            session=s,
            actor="test",
            kyu_id=s.exec(select(KyuSubmission.id)).one(),
            policy=runtime.policy,
        )


def _upload_check(client, operator, runtime) -> None:
    check(client, operator)


def _read_personal_data(client, operator, runtime) -> None:
    _rejected_kyu(client, operator, runtime)
    with runtime.session() as s:
        read_personal_data(
            session=s,
            runtime=runtime,
            actor="user:1",
            role="legal",
            kyu_id=s.exec(select(KyuSubmission.id)).one(),
            reason="Answering a law enforcement request.",
        )


def _delivered_webhook(client, operator, runtime) -> None:
    with runtime.session() as s:
        s.add(
            WebhookDelivery(
                delivery_id=str(uuid.uuid4()),
                event="case.decided",
                url="http://127.0.0.1:9/hook",
                status=DeliveryStatus.DELIVERED,
                delivered_at=utcnow(),
            )
        )


def _kyu_sweep(runtime, later: timedelta) -> None:
    with runtime.session() as s:
        sweep_kyu(session=s, runtime=runtime, policy=runtime.policy, now=utcnow() + later)


def _records_sweep(runtime, later: timedelta) -> None:
    with runtime.session() as s:
        retention_sweep(
            session=s,
            policy=runtime.policy,
            documents_dir=runtime.settings.documents_dir,
            now=utcnow() + later,
        )


def _unredacted_kyu(s) -> int:
    return len(s.exec(select(KyuSubmission).where(KyuSubmission.status != "redacted")).all())


def _rows(model):
    return lambda s: len(s.exec(select(model)).all())


# The sweep runs 40 days after the period starts: within every shipped period, past 30 days.
RETENTION = [
    # (rule, what is made, when its period starts, the sweep (job), how many of it are left)
    ("kyu_rejected_days", _rejected_kyu, timedelta(0), _kyu_sweep, _unredacted_kyu),
    (
        "kyu_after_expiry_days",
        _verified_kyu,
        timedelta(SHIPPED.kyu.valid_for_days),
        _kyu_sweep,
        _unredacted_kyu,
    ),
    ("upload_checks_days", _upload_check, timedelta(0), _records_sweep, _rows(UploadCheck)),
    (
        "personal_data_access_log_days",
        _read_personal_data,
        timedelta(0),
        _records_sweep,
        _rows(PersonalDataAccess),
    ),
    (
        "webhook_deliveries_days",
        _delivered_webhook,
        timedelta(0),
        _records_sweep,
        _rows(WebhookDelivery),
    ),
]


@pytest.mark.parametrize(
    ("rule", "make", "starts", "sweep", "left"), RETENTION, ids=[r[0] for r in RETENTION]
)
@pytest.mark.parametrize("changed", [False, True], ids=["shipped", "changed"])
def test_retention_periods(
    client, operator, runtime, use_policy, rule, make, starts, sweep, left, changed
):
    """What the shipped period keeps, a shorter one removes (or redacts)."""
    if changed:
        use_policy(retention={rule: 30})
    assert getattr(SHIPPED.retention, rule) > 40
    make(client, operator, runtime)
    sweep(runtime, starts + timedelta(days=40))
    with runtime.session() as s:
        assert left(s) == (0 if changed else 1)


# --- watermark -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "rule", "changed_to", "shipped_codes", "changed_codes"),
    [
        ("c2pa", "not_found", "record", ["watermark_not_found"], []),
        ("other", "inconclusive", "hold", [], ["watermark_inconclusive"]),
    ],
    ids=["not_found", "inconclusive"],
)
@pytest.mark.parametrize("changed", [False, True], ids=["shipped", "changed"])
def test_watermark_evidence(
    client, operator, use_policy, method, rule, changed_to, shipped_codes, changed_codes, changed
):
    """A plain PNG has no C2PA manifest (not found); `other` cannot be checked (inconclusive)."""
    if changed:
        use_policy(watermark={rule: changed_to})
    assert getattr(SHIPPED.watermark, rule) != changed_to
    private_and_certified(client, operator, watermark(method))
    answer = check(client, operator, visibility="private", images=[("samples/a.png", sample(63))])
    expected = changed_codes if changed else shipped_codes
    assert codes(answer) == expected
    assert answer["decision"] == ("hold" if expected else "allow")


@pytest.mark.parametrize("changed", [False, True], ids=["shipped", "changed"])
def test_watermark_samples_every_or_any(client, operator, use_policy, changed):
    """Shipped: every sample image must carry the mark; `any`: one marked image is enough."""
    if changed:
        use_policy(watermark={"samples": "any"})
    assert SHIPPED.watermark.samples == "every"
    private_and_certified(client, operator, watermark("iptc-metadata"))
    images = [("samples/a.png", with_xmp_source_type(sample(61))), ("samples/b.png", sample(62))]
    answer = check(client, operator, visibility="private", images=images)
    assert answer["watermark"]["result"] == ("verified" if changed else "not_found")
    assert codes(answer) == ([] if changed else ["watermark_not_found"])


CARD = """---
license: apache-2.0
tags: [text-to-image]
---
# Pixels

## Intended uses & limitations

Drawing pixels.
"""


@pytest.mark.parametrize("changed", [False, True], ids=["shipped", "changed"])
def test_documentation_required(client, operator, use_policy, changed):
    """Shipped: no model-card documentation is required; a policy naming metadata and sections
    holds a card without them (documentation_required, naming what is missing, with a link)."""
    if changed:
        use_policy(
            documentation={
                "required": {
                    "private": {
                        "metadata": ["license"],
                        "sections": ["Intended uses", "Training data"],
                    }
                }
            }
        )
    assert SHIPPED.documentation.required == {}
    private_and_certified(client, operator)
    body = check_body(visibility="private")
    body["repo"]["model_card"] = CARD
    answer = client.post("/api/v1/uploads/check", json=body, headers=operator).get_json()
    if not changed:
        assert answer["decision"] == "allow"
        return
    assert codes(answer) == ["documentation_required"]
    assert "section: Training data" in answer["reasons"][0]["message"]
    (step,) = answer["required_steps"]
    assert step == {
        "type": "documentation",
        "url": SHIPPED.documentation.guide_url,
        "missing": ["section: Training data"],
    }
    body["repo"]["model_card"] = CARD + "\n## Training data\n\nPublic-domain pixels.\n"
    assert (
        client.post("/api/v1/uploads/check", json=body, headers=operator).get_json()["decision"]
        == "allow"
    )
    del body["repo"]["model_card"]
    body["repo"]["card_url"] = "https://hub.example/alice/model/edit/README.md"
    bare = client.post("/api/v1/uploads/check", json=body, headers=operator).get_json()
    assert bare["required_steps"][0]["missing"] == [
        "metadata: license",
        "section: Intended uses",
        "section: Training data",
    ]
    assert bare["required_steps"][0]["url"] == "https://hub.example/alice/model/edit/README.md"


# --- the overlay rules ---------------------------------------------------------------------------


def _rules(policy) -> dict:
    return policy.model_dump(exclude={"id", "version", "description"})


def test_a_file_naming_only_id_and_version_has_every_shipped_rule(client, operator, use_policy):
    bare = parse_policy("id: bare\nversion: 7\n")
    assert bare.ref == {"id": "bare", "version": 7}
    assert _rules(bare) == _rules(SHIPPED)
    shipped_answer = check(client, operator, revision="a" * 40)
    assert shipped_answer["policy"] == SHIPPED.ref
    assert _rules(use_policy()) == _rules(SHIPPED)
    answer = check(client, operator, revision="b" * 40)
    assert answer["policy"] == OWN
    assert codes(answer) == codes(shipped_answer) == ["kyu_required", "certification_required"]
    assert answer["required_steps"][1] == {
        **shipped_answer["required_steps"][1],
        "url": answer["required_steps"][1]["url"],
    }


def test_a_settings_section_naming_one_key_keeps_the_other_shipped_keys(
    client, operator, use_policy
):
    policy = use_policy(kyu={"valid_for_days": 30}, notices={"max_items": 2})
    assert policy.kyu.valid_for_days == 30
    assert policy.kyu.required == SHIPPED.kyu.required
    assert policy.kyu.max_document_bytes == SHIPPED.kyu.max_document_bytes
    assert policy.notices.max_items == 2
    assert policy.notices.max_explanation_chars == SHIPPED.notices.max_explanation_chars
    assert policy.notices.per_hour_from_one_address == SHIPPED.notices.per_hour_from_one_address
    assert _rules(policy) | {"kyu": None, "notices": None} == _rules(SHIPPED) | {
        "kyu": None,
        "notices": None,
    }
    # the shipped KYU levels still apply: public uploads need a verified identity
    assert codes(check(client, operator)) == ["kyu_required", "certification_required"]


@pytest.mark.parametrize("changed", [False, True], ids=["shipped", "changed"])
def test_a_table_named_replaces_the_shipped_table_whole(
    client, operator, runtime, use_policy, changed
):
    """Naming `hash_categories` with only `default: record` removes the shipped `csam: block`."""
    if changed:
        policy = use_policy(hash_categories={"default": {"action": "record"}})
        assert set(policy.hash_categories) == {"default"}
    image = sample(64)
    put_on_a_list(runtime, image, name="csam-review", category="csam", action="review")
    private_and_certified(client, operator)
    answer = check(client, operator, visibility="private", images=[("samples/a.png", image)])
    assert answer["decision"] == ("allow" if changed else "block")


def test_a_file_without_id_is_refused_with_a_clear_policy_error(runtime, tmp_path):
    with pytest.raises(PolicyError) as refused:
        parse_policy("version: 3\nkyu: {valid_for_days: 30}\n", source="mine.yaml")
    assert refused.value.problems == ["id: Field required"]
    assert str(refused.value) == "mine.yaml: id: Field required"

    path = tmp_path / "no-id.yaml"
    path.write_text("description: no id, no version\n")
    runtime.settings.policy_file = path
    with pytest.raises(PolicyError) as refused:
        runtime.policy  # noqa: B018  (reading the policy in force is what is refused)
    assert str(refused.value) == f"{path}: id: Field required; version: Field required"


# --- moderation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("restricted", "refused", "allowed"),
    [(None, "child_sexual_abuse", "hate"), ({"hate": ["senior_moderator"]}, "hate", "terrorism")],
    ids=["shipped", "changed"],
)
def test_moderation_restricted_categories(
    client, moderator, use_policy, restricted, refused, allowed
):
    if restricted:
        use_policy(moderation={"restricted_categories": restricted})
    refused_case = notice_case(client, category=refused)
    answer = client.post(f"/api/v1/cases/{refused_case}/claim", headers=moderator)
    assert answer.status_code == 403
    assert answer.get_json()["error"]["code"] == "restricted_category"
    allowed_case = notice_case(client, category=allowed)
    assert client.post(f"/api/v1/cases/{allowed_case}/claim", headers=moderator).status_code == 200


@pytest.mark.parametrize(("lease", "status"), [(None, 409), (10, 200)], ids=["shipped", "changed"])
def test_moderation_claim_lease_minutes(
    client, moderator, api_headers, make_user, runtime, use_policy, lease, status
):
    """A claim idle for 30 minutes holds under the shipped hour, and lapses under ten minutes."""
    if lease:
        use_policy(moderation={"claim_lease_minutes": lease})
    case_id = notice_case(client)
    assert client.post(f"/api/v1/cases/{case_id}/claim", headers=moderator).status_code == 200
    with runtime.session() as s:
        case = s.get(Case, case_id)
        case.claimed_at = case.claim_active_at = utcnow() - timedelta(minutes=30)
    other = api_headers("moderator", user=make_user("moderator")[0])
    assert client.post(f"/api/v1/cases/{case_id}/claim", headers=other).status_code == status


@pytest.mark.parametrize("own", [False, True], ids=["shipped", "changed"])
def test_moderation_decision_templates(client, moderator, use_policy, own):
    if own:
        use_policy(
            moderation={
                "decision_templates": {
                    "own_hate": {
                        "key": "7",
                        "label": "Hate speech under our law",
                        "action": "take_down",
                        "ground": "illegal_content",
                        "ground_reference": "Our criminal code, section 9",
                        "category": "hate",
                        "explanation": "The samples incite hatred against a group.",
                    }
                }
            }
        )
    case_id = notice_case(client)
    assert client.post(f"/api/v1/cases/{case_id}/claim", headers=moderator).status_code == 200
    answer = client.post(
        f"/api/v1/cases/{case_id}/decision", json={"template": "own_hate"}, headers=moderator
    )
    if not own:
        assert answer.status_code == 422
        assert answer.get_json()["error"]["code"] == "invalid_template"
        return
    assert answer.status_code == 201, answer.get_data(as_text=True)
    decision = answer.get_json()["decision"]
    assert decision["ground_reference"] == "Our criminal code, section 9"
    assert decision["action"] == "take_down"


# named queues in routing order: the first a case fits takes it; a listed role or team works it
OWN_QUEUES = {
    "german_desk": {"label": "German desk", "languages": ["de"], "teams": ["dach"]},
    "hate_desk": {"label": "Hate desk", "categories": ["hate"], "roles": ["senior_moderator"]},
    "public_notices": {"label": "Public notices", "sources": ["notice"]},
    "rest": {"label": "Everything else"},
}
SHIPPED_REST = {"general": {"label": "General"}}  # the shipped last queue, which takes every case


def german_notice_case(client) -> int:
    response = client.post(
        "/api/v1/notices",
        json={
            "items": ["bernd/hetz-model"],
            "category": "hate",
            "explanation": "Dieses Modell erzeugt volksverhetzende Bilder.",
            "language": "de",
            "notifier": {"name": "Bernd Melder", "email": "bernd@example.org"},
            "good_faith": True,
        },
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["case_ids"][0]


@pytest.mark.parametrize("changed", [False, True], ids=["shipped", "changed"])
def test_moderation_queues_route_by_language_category_and_source(
    client, moderator, runtime, use_policy, changed
):
    """The first queue in the policy's order that a case fits takes it: a German hate notice
    goes to the German desk before the hate desk; the shipped queues put all three in General."""
    if changed:
        use_policy(moderation={"queues": OWN_QUEUES})
    german = german_notice_case(client)
    hate = notice_case(client, category="hate")
    terror = notice_case(client, category="terrorism")
    queues = [get_case(runtime, case_id).queue for case_id in (german, hate, terror)]
    assert queues == (
        ["german_desk", "hate_desk", "public_notices"] if changed else ["general"] * 3
    )
    listed = client.get("/api/v1/queues", headers=moderator).get_json()["items"]
    assert [(q["id"], q["label"]) for q in listed] == [
        (q.id, q.label) for q in runtime.policy.moderation.queues.values()
    ]
    assert [q["id"] for q in listed] == (
        list(OWN_QUEUES) if changed else list(SHIPPED.moderation.queues)
    )


@pytest.mark.parametrize("changed", [False, True], ids=["shipped", "changed"])
def test_moderation_queues_roles_and_teams_say_who_works_a_queue(
    client, moderator, runtime, use_policy, changed
):
    """A plain moderator claims a hate case and a German one from the shipped General queue;
    the hate desk is for senior moderators only, and the German desk for the team dach."""
    if changed:
        use_policy(moderation={"queues": OWN_QUEUES})
    german, hate = german_notice_case(client), notice_case(client, category="hate")
    answers = [
        client.post(f"/api/v1/cases/{case_id}/claim", headers=moderator)
        for case_id in (german, hate)
    ]
    assert [a.status_code for a in answers] == ([403, 403] if changed else [200, 200])
    if not changed:
        return
    assert {a.get_json()["error"]["code"] for a in answers} == {"not_your_queue"}
    with runtime.session() as s:
        user_id = s.exec(select(ApiKey.user_id).where(ApiKey.name == "test moderator")).one()
        set_teams(session=s, user_id=user_id, teams=["dach"], actor="test")
    assert client.post(f"/api/v1/cases/{german}/claim", headers=moderator).status_code == 200
    assert client.post(f"/api/v1/cases/{hate}/claim", headers=moderator).status_code == 403


@pytest.mark.parametrize("changed", [False, True], ids=["shipped", "changed"])
def test_moderation_queues_a_new_category_moves_the_case(
    client, api_headers, make_user, runtime, use_policy, changed
):
    """A senior escalating a case of another category as hate sends it to the hate desk; under
    the shipped policy hate has no queue of its own, so it stays in General."""
    if changed:
        use_policy(moderation={"queues": {"hate_desk": OWN_QUEUES["hate_desk"], **SHIPPED_REST}})
    case_id = notice_case(client, category="other")
    senior = api_headers("moderator", user=make_user("senior_moderator")[0])
    decide(
        client,
        senior,
        case_id,
        action="escalate",
        escalate_to="legal",
        category="hate",
        explanation="Hateful after all: legal should see it.",
    )
    assert get_case(runtime, case_id).queue == ("hate_desk" if changed else "general")


@pytest.mark.parametrize("share", [None, 1, 0], ids=["shipped", "every", "none"])
def test_moderation_sampling_share(client, moderator, runtime, use_policy, share):
    """The share of decisions drawn for a second review: the shipped 5 % draws the decisions
    `drawn` picks (an even spread over decision ids), 1 draws every one, 0 none."""
    if share is not None:
        roles = SHIPPED.moderation.sampling.roles
        use_policy(moderation={"sampling": {"share": share, "roles": roles}})
    decisions = [
        decide(client, moderator, notice_case(client, items=[f"alice/model-{n}"]))["decision"]
        for n in range(4)
    ]
    ids = [d["id"] for d in decisions]
    with runtime.session() as s:
        sampled = sorted(s.exec(select(QualitySample.decision_id)).all())
    expected = [i for i in ids if drawn(i, SHIPPED.moderation.sampling.share)]
    assert sampled == {None: expected, 1: ids, 0: []}[share]


@pytest.mark.parametrize("changed", [False, True], ids=["shipped", "changed"])
def test_moderation_sampling_roles(client, moderator, api_headers, make_user, use_policy, changed):
    """Who reviews a sample: any moderator under the shipped policy; only senior moderators when
    the policy says so (never the first decision's author either way)."""
    roles = ["senior_moderator"] if changed else SHIPPED.moderation.sampling.roles
    use_policy(moderation={"sampling": {"share": 1, "roles": roles}})
    decide(client, moderator, notice_case(client))
    colleague = api_headers("moderator")
    senior = api_headers("moderator", user=make_user("senior_moderator")[0])
    seen = [
        len(client.get("/api/v1/samples", headers=h).get_json()["items"])
        for h in (moderator, colleague, senior)
    ]
    assert seen == ([0, 0, 1] if changed else [0, 1, 1])
    (sample,) = client.get("/api/v1/samples", headers=senior).get_json()["items"]
    review = {"action": "take_down", "ground": "illegal_content", "category": "hate"}
    answer = client.post(
        f"/api/v1/samples/{sample['sample_id']}/review", json=review, headers=colleague
    )
    assert answer.status_code == (403 if changed else 200), answer.get_data(as_text=True)
    if changed:
        assert answer.get_json()["error"]["code"] == "not_a_reviewer"


@pytest.mark.parametrize(
    ("threshold", "decision"), [(None, "hold"), (0, "allow")], ids=["shipped-16", "off"]
)
def test_matching_low_quality_pdq_threshold(
    client, operator, runtime, use_policy, threshold, decision
):
    """A flat listed image's re-upload is held for review, or not matched at all with 0."""
    from PIL import ImageEnhance, ImageFilter

    if threshold is not None:
        use_policy(matching={"low_quality_pdq_threshold": threshold})
    flat = ImageEnhance.Contrast(make_image(5, (400, 300)).filter(ImageFilter.GaussianBlur(8)))
    image = encode(flat.enhance(0.3), "PNG")
    put_on_a_list(runtime, image, name="known", category="csam", action="block")
    private_and_certified(client, operator)
    answer = check(client, operator, visibility="private", images=[("samples/a.png", image)])
    assert answer["decision"] == decision, answer
    assert ("hash_match_low_quality" in codes(answer)) == (decision == "hold")


@pytest.mark.parametrize(
    ("rule", "value", "reason"),
    [
        (None, None, None),
        ("video_max_seconds", 2, "limit is 2 s"),
        ("video_max_side", 100, "too large"),
        ("video_max_frames", 6, "more than 6 frames"),
        ("video_timeout_seconds", 0.001, "longer than 0.001 s to decode"),
    ],
    ids=["shipped", "seconds", "side", "frames", "timeout"],
)
def test_matching_video_bounds(client, operator, runtime, use_policy, rule, value, reason):
    """A 3-second 320x240 sample video is hashed under the shipped bounds; a lower bound (or a
    shorter time to decode) makes it an unreadable sample, with the bound in its error."""
    if rule is not None:
        use_policy(matching={rule: value})
    video = encode_video(scene_frames(3, seed=4))
    answer = check(client, operator, visibility="private", images=[("samples/a.mp4", video)])
    assert ("image_unreadable" in codes(answer)) == (reason is not None), answer
    with runtime.session() as session:
        scan = scan_images(session=session, runtime=runtime, images=[("a.mp4", video)])[0]
    if reason is None:
        assert scan.error is None and scan.file_hashes.video
    else:
        assert reason in scan.error


# --- hash_lists (issue 14) ------------------------------------------------------------------------


@pytest.mark.parametrize("changed", [False, True], ids=["shipped", "changed"])
def test_hash_lists_quarantine_distinct_images_and_window(
    client, operator, runtime, use_policy, changed
):
    """Two distinct images matching one entry quarantine it under `quarantine_distinct_images: 2`;
    under the shipped 20 it keeps acting."""
    from hostguard.hashing.models import EntryState, HashEntry

    if changed:
        policy = use_policy(
            hash_lists={"quarantine_distinct_images": 2, "quarantine_window_minutes": 5}
        )
        assert policy.hash_lists.quarantine_window_minutes == 5
    base = make_image(81, (320, 240))
    first = encode(base, "PNG")
    tweaked = base.copy()
    tweaked.putpixel((0, 0), (1, 2, 3))
    put_on_a_list(runtime, first, name="partner", category="other", action="block")
    check(client, operator, repo="a/one", images=[("s.png", first)])
    check(client, operator, repo="a/two", images=[("s.png", encode(tweaked, "PNG"))])
    with runtime.session() as s:
        state = s.exec(select(HashEntry)).one().state
    assert state == (EntryState.QUARANTINED if changed else EntryState.ACTIVE)


@pytest.mark.parametrize("changed", [False, True], ids=["shipped", "changed"])
def test_hash_lists_exchanges_set_the_fed_lists_category_action_and_interval(
    runtime, use_policy, changed
):
    if changed:
        rule = shipped("hash_lists")["exchanges"]
        rule["file"] = {
            "category": "terrorism",
            "action": "block",
            "threshold": 10,
            "interval_minutes": 7,
        }
        use_policy(hash_lists={"exchanges": rule})
    from hostguard.exchanges.service import add_exchange

    with runtime.session() as s:
        info = add_exchange(
            session=s,
            runtime=runtime,
            actor="test",
            policy=runtime.policy,
            name="f",
            type="file",
            settings={"url": "https://lists.example/l.txt"},
        )
    assert info["interval_minutes"] == (7 if changed else 60)
    from hostguard.hashing.models import HashList

    with runtime.session() as s:
        hash_list = s.exec(select(HashList).where(HashList.name == "f")).one()
        assert (hash_list.category, hash_list.action, hash_list.threshold) == (
            ("terrorism", "block", 10) if changed else ("other", "review", None)
        )


# --- dataset_scans -------------------------------------------------------------------------------


def _scanned(runtime, repo_id: str, *, days_ago: int, clean: bool = True) -> None:
    """A finished scan of a Hub dataset, `days_ago` days old, clean or not."""
    from hostguard.datasets import service as dataset_scans

    with runtime.session() as s:
        scan = dataset_scans.create_scan(
            session=s, actor="test", sources=[f"hf://datasets/{repo_id}@{'d' * 40}"]
        )
        result = {"images": 10, "unreadable": 0, "matches": [] if clean else [{"row": 1}]}
        dataset_scans.finish_scan(
            session=s,
            actor="test",
            scan=scan,
            result={**result, "attestation": {"attestation": {"clean": clean}}},
        )
        scan.finished_at = utcnow() - timedelta(days=days_ago)


@pytest.mark.parametrize(
    "rule, scan, missing",
    [
        (None, None, None),
        ({"required_for": ["no-csam-training-data"]}, None, "alice/faces (not scanned)"),
        ({"required_for": ["no-csam-training-data"]}, (10, True), None),
        ({"required_for": ["no-csam-training-data"]}, (10, False), "not clean"),
        (
            {"required_for": ["no-csam-training-data"], "max_age_days": 5},
            (10, True),
            "alice/faces (last scanned more than 5 days ago)",
        ),
    ],
    ids=["shipped", "required-none", "required-clean", "required-dirty", "too-old"],
)
def test_dataset_scans_required_for_and_max_age_days(
    client, operator, runtime, use_policy, rule, scan, missing
):
    """The model card names alice/faces; the training-data statement is signed."""
    from hostguard.uploads.check import CheckRequest
    from hostguard.workflows.upload_check import run_check

    assert SHIPPED.dataset_scans.required_for == []
    if rule:
        use_policy(dataset_scans=rule)
    private_and_certified(client, operator)
    if scan:
        _scanned(runtime, "alice/faces", days_ago=scan[0], clean=scan[1])
    with runtime.session() as s:
        answer = run_check(
            session=s,
            runtime=runtime,
            actor="test",
            request=CheckRequest.model_validate(check_body(visibility="private")),
            images=[],
            policy=runtime.policy,
            card_datasets=["alice/faces"],
        )
    if missing is None:
        assert (codes(answer), answer["decision"]) == ([], "allow")
    else:
        assert (codes(answer), answer["decision"]) == (["dataset_scan_missing"], "hold")
        assert missing in answer["reasons"][0]["message"]


@pytest.mark.parametrize(
    "repo",
    [
        {"model_card": "---\nlicense: mit\ndatasets:\n- alice/faces\n- bob/cats\n---\n# m\n"},
        {"datasets": ["alice/faces", "bob/cats"]},
    ],
    ids=["card-in-body", "datasets-list"],
)
def test_the_api_check_holds_naming_the_datasets_the_body_names_without_a_clean_scan(
    client, operator, runtime, use_policy, repo
):
    """`POST /api/v1/uploads/check` reads the datasets from the card it carries (`datasets:`
    in its metadata) or from `repo.datasets`, as the Hub check reads them from the Hub."""
    use_policy(dataset_scans={"required_for": ["no-csam-training-data"]})
    private_and_certified(client, operator)
    _scanned(runtime, "bob/cats", days_ago=1)
    body = check_body(visibility="private")
    body["repo"].update(repo)
    response = client.post("/api/v1/uploads/check", json=body, headers=operator)
    assert response.status_code == 200, response.get_data(as_text=True)
    answer = response.get_json()
    assert (codes(answer), answer["decision"]) == (["dataset_scan_missing"], "hold")
    message = answer["reasons"][0]["message"]
    assert "alice/faces (not scanned)" in message and "bob/cats" not in message
    _scanned(runtime, "alice/faces", days_ago=1)
    again = client.post("/api/v1/uploads/check", json=body, headers=operator).get_json()
    assert (codes(again), again["decision"]) == ([], "allow")


def test_the_api_check_refuses_a_datasets_list_that_is_not_names(client, operator):
    body = check_body(visibility="private")
    body["repo"]["datasets"] = ["x" * 201]
    response = client.post("/api/v1/uploads/check", json=body, headers=operator)
    assert response.status_code in (400, 422)
    assert "datasets" in response.get_data(as_text=True)


def test_dataset_scans_required_for_names_a_statement():
    with pytest.raises(PolicyError, match="dataset_scans.required_for: no statement with id nope"):
        parse_policy(yaml.safe_dump({**OWN, "dataset_scans": {"required_for": ["nope"]}}))


@pytest.mark.parametrize("cap", [None, 2, 0], ids=["shipped", "two", "never"])
def test_wellness_exposure_cap_asks_for_a_break(client, login, runtime, use_policy, cap):
    """Each case page with a sample image counts one media item; at the cap the console asks for
    a break, and "I took a break" starts the count again. A cap of 0 never asks."""
    if cap is not None:
        use_policy(wellness={"exposure_cap": cap})
    limit = runtime.policy.wellness.exposure_cap
    case_id = _case(runtime)
    login(client, "moderator")
    pages = [client.get(f"/console/cases/{case_id}").get_data(as_text=True) for _ in range(3)]
    asked = ['id="wellness-break"' in html for html in pages]
    assert asked == [bool(limit) and n >= limit for n in (1, 2, 3)]
    assert 'class="media-safe"' in pages[0]  # blurred and grey-scale by default
    assert "Media seen this session: 1" in pages[0]
    if cap == 2:
        token = extract_csrf(pages[-1])
        back = client.post("/console/wellness/break", data={"csrf_token": token})
        assert back.status_code == 303
        again = client.get(f"/console/cases/{case_id}").get_data(as_text=True)
        assert 'id="wellness-break"' not in again and "Media seen this session: 1" in again
