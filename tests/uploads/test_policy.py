"""The upload policy: the shipped default loads, and bad files are refused with precise errors."""

from __future__ import annotations

import pytest

from hostguard.errors import InvalidInput
from hostguard.policy import (
    DEFAULT_POLICY_PATH,
    KyuLevel,
    MatchAction,
    PolicyError,
    load_policy,
    parse_policy,
)

MINIMAL = """
id: test
version: 3
certifications:
  required: {public: [a]}
  statements:
    - {id: a, version: 1, title: A, text: "I certify something important."}
hash_categories:
  default: {action: hold}
"""


def test_default_policy_loads_with_the_documented_defaults():
    policy = load_policy(DEFAULT_POLICY_PATH)
    assert policy.ref == {"id": "default", "version": 1}
    assert policy.kyu_level_for("public") == KyuLevel.VERIFIED
    assert policy.kyu_level_for("private") == KyuLevel.NONE
    assert [s.id for s in policy.statements_for("public")] == [
        "no-csam-training-data",
        "output-watermark",
    ]
    method = policy.statement("output-watermark").fields[0]
    assert method.options == ["c2pa", "invisible-watermark", "other", "iptc-metadata"]
    assert policy.hash_action("csam") == MatchAction.BLOCK
    assert policy.hash_action("never-heard-of") == MatchAction.HOLD
    assert policy.deadline_hours(source="order", category="privacy") == 24
    assert policy.deadline_hours(source="notice", category="child_sexual_abuse") == 24
    assert policy.deadline_hours(source="notice", category="non_consensual_intimate_imagery") == 48
    assert policy.deadline_hours(source="upload_check", category="other") == 72
    assert policy.deadline_hours(source="own_initiative", category="x") == 168
    assert policy.watermark.not_found == "hold"


def test_minimal_policy_fills_in_defaults():
    policy = parse_policy(MINIMAL)
    assert policy.ref == {"id": "test", "version": 3}
    assert policy.retention.kyu_rejected_days == 90


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("version: 3", "version: 0"), "version: Input should be greater than or equal to 1"),
        (
            ("default: {action: hold}", "default: {action: explode}"),
            "hash_categories.default.action",
        ),
        (("default: {action: hold}", "csam: {action: block}"), "needs a 'default' entry"),
        (("required: {public: [a]}", "required: {public: [b]}"), "no statement with id b"),
        (("required: {public: [a]}", "required: {open: [a]}"), "unknown visibility open"),
        (("version: 3", "version: 3\nsurprise: 1"), "surprise: Extra inputs are not permitted"),
        (("id: test", "id: Test Policy"), "id: String should match pattern"),
        (('text: "I certify something important."', "text: [unclosed"), "line "),
    ],
)
def test_bad_policies_are_refused_with_where_and_what(change, expected):
    with pytest.raises(PolicyError) as err:
        parse_policy(MINIMAL.replace(*change), source="p.yaml")
    assert expected in str(err.value)
    assert str(err.value).startswith("p.yaml: ")


def test_missing_file_is_a_policy_error(tmp_path):
    with pytest.raises(PolicyError, match="cannot read the file"):
        load_policy(tmp_path / "nope.yaml")


def test_select_field_needs_options():
    text = MINIMAL.replace(
        'text: "I certify something important."}',
        'text: "I certify something important.", fields: [{name: m, label: M, type: select}]}',
    )
    with pytest.raises(PolicyError, match="a select field needs options"):
        parse_policy(text)


def test_statement_fields_are_checked():
    statement = load_policy().statement("output-watermark")
    assert statement.clean_fields({"method": "c2pa"}) == {"method": "c2pa"}
    assert statement.clean_fields({"method": "other", "description": "stamp"}) == {
        "method": "other",
        "description": "stamp",
    }
    # the description is only asked when the method is "other"
    assert statement.clean_fields({"method": "c2pa", "description": "x"}) == {"method": "c2pa"}
    for bad, message in [
        ({}, "is required"),
        ({"method": "paint"}, "must be one of"),
        ({"method": "other"}, "'Describe the method' is required"),
        ({"method": "c2pa", "colour": "red"}, "has no field(s) colour"),
    ]:
        with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")):
            statement.clean_fields(bad)


def test_text_hash_changes_with_the_text():
    policy = parse_policy(MINIMAL)
    other = parse_policy(MINIMAL.replace("something important", "something else"))
    assert policy.statement("a").text_sha256 != other.statement("a").text_sha256
    assert len(policy.statement("a").text_sha256) == 64


def test_field_errors_and_unresolved_names_are_reported_together():
    text = MINIMAL.replace("version: 3", "version: 0").replace(
        "required: {public: [a]}", "required: {public: [nope]}"
    )
    with pytest.raises(PolicyError) as err:
        parse_policy(text, source="p.yaml")
    assert err.value.problems == [
        "version: Input should be greater than or equal to 1",
        "certifications.required.public: no statement with id nope",
    ]


def test_policy_check_command(cli, tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(MINIMAL)
    result = cli("policy", "check", str(good))
    assert result.exit_code == 0, result.output
    assert (
        result.output.strip()
        == f"{good}: policy test version 3 is valid (1 statements, 1 hash-list categories)"
    )
    assert cli("policy", "check", str(DEFAULT_POLICY_PATH)).exit_code == 0

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        MINIMAL.replace("default: {action: hold}", "default: {action: explode}").replace(
            "required: {public: [a]}", "required: {public: [a, b], open: [a]}"
        )
    )
    result = cli("policy", "check", str(bad))
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert lines[0] == f"{bad}: invalid policy"
    assert lines[1].startswith(
        "  hash_categories.default.action: Input should be 'block', 'hold' or 'record'"
    )
    assert lines[2:] == [
        "  certifications.required.public: no statement with id b",
        "  certifications.required: unknown visibility open",
    ]

    broken = tmp_path / "broken.yaml"
    broken.write_text("id: x\nversion: [\n")
    result = cli("policy", "check", str(broken))
    assert result.exit_code == 2 and "line 3, column 1" in result.output
    result = cli("policy", "check", str(tmp_path / "missing.yaml"))
    assert result.exit_code == 2 and "cannot read the file" in result.output
