"""Cases opened automatically are due when the policy's `deadlines:` rules say.

An upload check whose sample image matches a hash list, a list imported after a sample image
was checked and allowed (the `hashing.rematch` job) and a Hugging Face webhook each open a case
with no person involved. Under a policy file that gives those sources one hour, each case is due
one hour after it opened; under the shipped policy, when the shipped rules say (24 or 72 hours).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

import hostguard.registry  # noqa: F401  (every job handler, as the worker has)
from hostguard.cases.models import Case
from hostguard.hashing.service import import_list, scan_images
from hostguard.jobs.service import run_due
from hostguard.policy import load_policy
from tests.hashing.images import encode, make_image
from tests.integrations.test_huggingface import _configure, _event, _image, _post
from tests.uploads.conftest import check_body

# Laid over the shipped policy: only `deadlines` changes. The first rule that matches wins, so a
# hash match on child sexual abuse material is due in one hour, not two.
ONE_HOUR_POLICY = """\
id: fast-deadlines
version: 2
deadlines:
  - {source: hash_match, category: "*", hours: 1}
  - {source: retroactive_match, category: "*", hours: 1}
  - {source: upload_check, category: "*", hours: 1}
  - {source: "*", category: child_sexual_abuse, hours: 2}
  - {source: "*", category: other, hours: 2}
"""


@pytest.fixture(params=["policy_file", "shipped"])
def expected_hours(request, runtime, tmp_path):
    """expected_hours(source, category) -> the hours a new case should get under the policy in
    force: the one-hour file (set as the runtime's policy) or the shipped default."""
    if request.param == "shipped":
        shipped = load_policy()
        return lambda source, category: shipped.deadline_hours(source=source, category=category)
    path = tmp_path / "deadlines.yaml"
    path.write_text(ONE_HOUR_POLICY)
    runtime.settings.policy_file = path
    assert runtime.policy.ref == {"id": "fast-deadlines", "version": 2}

    def one_hour(source: str, category: str) -> int:
        # the file is only worth testing where the shipped rules say something else
        assert load_policy().deadline_hours(source=source, category=category) > 1
        return 1

    return one_hour


def _put_on_a_list(runtime, image: bytes, *, name: str, category: str) -> None:
    """Import a hash list holding the image's PDQ hash, as a list provider would send it."""
    with runtime.session() as s:
        pdq = scan_images(session=s, runtime=runtime, images=[("x.png", image)])[0].hashes["pdq"]
        import_list(
            session=s, actor="test", name=name, data=pdq + "\n", algorithm="pdq", category=category
        )


def _the_case(runtime) -> Case:
    with runtime.session() as s:
        (case,) = s.exec(select(Case)).all()
        s.expunge(case)
    return case


def _hours_given(case: Case) -> float:
    return (case.deadline_at - case.opened_at) / timedelta(hours=1)


def test_upload_check_matching_a_hash_list(client, api_headers, runtime, expected_hours):
    image = encode(make_image(41, (320, 240)), "PNG")
    _put_on_a_list(runtime, image, name="csam-partner", category="csam")
    response = client.post(
        "/api/v1/uploads/check",
        json=check_body(images=[("samples/a.png", image)]),
        headers=api_headers("operator"),
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["decision"] == "block"
    case = _the_case(runtime)
    assert (case.source, case.category) == ("hash_match", "child_sexual_abuse")
    assert _hours_given(case) == expected_hours("hash_match", "child_sexual_abuse")


def test_retroactive_match_of_an_allowed_sample_image(client, api_headers, runtime, expected_hours):
    operator = api_headers("operator")
    image = encode(make_image(42, (320, 240)), "PNG")
    body = check_body(visibility="private", images=[("samples/a.png", image)])
    first = client.post("/api/v1/uploads/check", json=body, headers=operator).get_json()
    assert first["decision"] == "hold"  # the training-data statement is not signed yet
    signed = client.post(
        "/api/v1/certifications",
        headers=operator,
        json={
            "uploader_id": "u-1",
            "repo_id": "alice/model",
            "revision": "r" * 40,
            "signed_name": "Alice Example",
            "statements": [{"id": "no-csam-training-data", "version": 1, "accepted": True}],
        },
    )
    assert signed.status_code == 201, signed.get_data(as_text=True)
    allowed = client.post("/api/v1/uploads/check", json=body, headers=operator).get_json()
    assert allowed["decision"] == "allow", allowed
    with runtime.session() as s:
        assert s.exec(select(Case)).all() == []

    _put_on_a_list(runtime, image, name="late-list", category="csam")  # queues hashing.rematch
    run_due(runtime.engine, runtime=runtime)
    case = _the_case(runtime)
    assert (case.source, case.category) == ("retroactive_match", "child_sexual_abuse")
    assert _hours_given(case) == expected_hours("retroactive_match", "child_sexual_abuse")


@pytest.mark.parametrize("matched", [False, True], ids=["no-identity", "matched-image"])
def test_hugging_face_webhook(client, runtime, fake_hub, expected_hours, matched):
    """A pushed revision fails the check (no verified identity, or a matched sample image): the
    repo is quarantined and a case opened, due when the policy says."""
    _configure(runtime, fake_hub)
    sample = _image(51)
    if matched:
        _put_on_a_list(runtime, sample, name="csam-partner", category="csam")
    sha = fake_hub.commit(
        "alice/pixels",
        {"README.md": b"# Pixels\n", "model.safetensors": b"\0" * 64, "samples/a.png": sample},
    )
    assert _post(client, _event("alice/pixels", sha)).status_code == 202
    run_due(runtime.engine, runtime=runtime)
    assert fake_hub.repos["alice/pixels"].private is True  # quarantined
    case = _the_case(runtime)
    if matched:  # the check's hash-match case, which the quarantine's evidence joins
        assert (case.source, case.category) == ("hash_match", "child_sexual_abuse")
        expected = min(
            expected_hours("hash_match", "child_sexual_abuse"),
            expected_hours("upload_check", "child_sexual_abuse"),
        )
    else:
        assert (case.source, case.category) == ("upload_check", "other")
        expected = expected_hours("upload_check", "other")
    assert _hours_given(case) == expected


def test_a_later_rule_still_applies_where_no_earlier_one_matches(client, runtime, tmp_path):
    """The two-hour rule for child sexual abuse material, behind the hash-match rule above, is
    what a notice gets; a source and category no rule names gets the shipped default."""
    path = tmp_path / "deadlines.yaml"
    path.write_text(ONE_HOUR_POLICY)
    runtime.settings.policy_file = path
    for category, hours in [
        ("child_sexual_abuse", 2),
        ("hate", load_policy().default_deadline_hours),
    ]:
        response = client.post(
            "/api/v1/notices",
            json={
                "items": [f"someone/{category}-model"],
                "category": category,
                "explanation": "This model produces illegal content.",
                "notifier": {"name": "Nora Notifier", "email": "nora@example.org"},
                "good_faith": True,
            },
        )
        assert response.status_code == 201, response.get_data(as_text=True)
        (case_id,) = response.get_json()["case_ids"]
        with runtime.session() as s:
            assert _hours_given(s.get(Case, case_id)) == hours
