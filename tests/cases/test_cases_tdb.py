"""The Transparency Database export: every statement we build passes the spec's field rules."""

from __future__ import annotations

from datetime import date

import pytest

from hostguard.cases.statements.transparency_database import (
    CATEGORIES,
    EU_EEA,
    StatementFacts,
    build_tdb_statement,
    make_puid,
    scrub_personal_data,
    validate_tdb_statement,
)
from hostguard.policy import load_policy

CATS = load_policy().categories
DEFAULT_CATEGORIES = tuple(CATS.values())


def facts(**overrides) -> StatementFacts:
    base = dict(
        statement_id=42,
        action="take_down",
        ground="illegal_content",
        ground_reference="Directive 2011/93/EU, Art. 5",
        explanation="Sample images depict abuse.",
        category=CATS["child_sexual_abuse"],
        source="hash_match",
        decision_facts="Sample images of the model matched a hash list of known material.",
        content_date=date(2025, 3, 1),
        application_date=date(2026, 1, 2),
        automated_detection=True,
    )
    base.update(overrides)
    return StatementFacts(**base)


ACTIONS = [
    ("take_down", None),
    ("restrict", "gate"),
    ("restrict", "label"),
    ("suspend_uploader", None),
    ("report", None),
]


@pytest.mark.parametrize("action,mode", ACTIONS)
@pytest.mark.parametrize("ground", ["illegal_content", "terms_of_service"])
@pytest.mark.parametrize(
    "source", ["notice", "trusted_flagger", "order", "hash_match", "own_initiative"]
)
def test_every_restriction_builds_a_valid_statement(action, mode, ground, source):
    stmt = build_tdb_statement(
        facts(
            action=action,
            restrict_mode=mode,
            ground=ground,
            source=source,
            source_identity="Stichting Offlimits",
        )
    )
    assert validate_tdb_statement(stmt) == []


@pytest.mark.parametrize("category", DEFAULT_CATEGORIES, ids=lambda c: c.id)
def test_every_default_category_maps_to_a_tdb_category(category):
    assert category.tdb_category in CATEGORIES
    stmt = build_tdb_statement(facts(category=category))
    assert stmt["category"] == category.tdb_category
    assert validate_tdb_statement(stmt) == []


def test_field_values_follow_the_mapping_hints():
    stmt = build_tdb_statement(facts(sample_images=True))
    assert stmt["decision_ground"] == "DECISION_GROUND_ILLEGAL_CONTENT"
    assert stmt["content_type"] == [
        "CONTENT_TYPE_OTHER",
        "CONTENT_TYPE_IMAGE",
        "CONTENT_TYPE_SYNTHETIC_MEDIA",
    ]
    assert stmt["content_type_other"] == "AI model repository"
    assert stmt["category"] == "STATEMENT_CATEGORY_PROTECTION_OF_MINORS"
    assert stmt["category_specification"][0] == "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL"
    assert stmt["content_date"] == "2025-03-01"
    assert stmt["application_date"] == "2026-01-02"
    assert stmt["source_type"] == "SOURCE_VOLUNTARY"
    assert stmt["automated_detection"] == "Yes"
    assert stmt["automated_decision"] == "AUTOMATED_DECISION_NOT_AUTOMATED"
    assert stmt["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_REMOVED"]
    assert stmt["illegal_content_legal_ground"] == "Directive 2011/93/EU, Art. 5"
    assert stmt["illegal_content_explanation"] == "Sample images depict abuse."
    assert "incompatible_content_ground" not in stmt
    assert stmt["territorial_scope"] == sorted(EU_EEA) and "GR" in stmt["territorial_scope"]
    assert stmt["puid"] == "hostguard-sor-42"


def test_source_types_and_decision_fields():
    assert build_tdb_statement(facts(source="notice"))["source_type"] == "SOURCE_ARTICLE_16"
    assert (
        build_tdb_statement(facts(source="trusted_flagger"))["source_type"]
        == "SOURCE_TRUSTED_FLAGGER"
    )
    assert (
        build_tdb_statement(facts(source="order"))["source_type"]
        == "SOURCE_TYPE_OTHER_NOTIFICATION"
    )
    held = build_tdb_statement(facts(legal_hold=True))
    assert held["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_DISABLED"]
    suspended = build_tdb_statement(
        facts(action="suspend_uploader", end_date_account_restriction=date(2026, 2, 1))
    )
    assert suspended["decision_account"] == "DECISION_ACCOUNT_SUSPENDED"
    assert suspended["end_date_account_restriction"] == "2026-02-01"
    tos = build_tdb_statement(facts(ground="terms_of_service", ground_reference="Terms §4.2"))
    assert tos["decision_ground"] == "DECISION_GROUND_INCOMPATIBLE_CONTENT"
    assert tos["incompatible_content_ground"] == "Terms §4.2"
    label = build_tdb_statement(facts(action="restrict", restrict_mode="label"))
    assert label["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_LABELLED"]
    gate = build_tdb_statement(facts(action="restrict", restrict_mode="gate"))
    assert (
        gate["decision_visibility"] == ["DECISION_VISIBILITY_OTHER"]
        and gate["decision_visibility_other"]
    )
    voluntary = build_tdb_statement(facts(source="hash_match", source_identity="Someone"))
    assert "source_identity" not in voluntary  # ignored for SOURCE_VOLUNTARY


def test_no_action_and_escalation_have_no_statement():
    for action in ("no_action", "escalate"):
        with pytest.raises(ValueError):
            build_tdb_statement(facts(action=action))


def test_puid_is_stable_and_well_formed():
    assert make_puid("hostguard", 7) == make_puid("hostguard", 7) == "hostguard-sor-7"
    assert make_puid("my hub/eu", 7) == "my-hub-eu-sor-7"
    assert build_tdb_statement(facts())["puid"] == build_tdb_statement(facts())["puid"]


def test_personal_data_is_scrubbed_from_free_text():
    stmt = build_tdb_statement(
        facts(
            explanation="Reported by jane.doe@example.org (+49 30 1234 5678) about alice/face-model",
            decision_facts="Uploader alice published alice/face-model.",
            private_names=("alice/face-model", "alice"),
        )
    )
    blob = " ".join(str(v) for v in stmt.values())
    assert "jane.doe@example.org" not in blob
    assert "1234 5678" not in blob
    assert "alice" not in blob.lower()
    assert validate_tdb_statement(stmt) == []
    assert scrub_personal_data("mail me: a@b.co") == "mail me: [redacted]"


def test_long_texts_are_cut_to_the_limits():
    stmt = build_tdb_statement(
        facts(explanation="x" * 3000, ground_reference="y" * 700, decision_facts="z" * 6000)
    )
    assert len(stmt["illegal_content_explanation"]) == 2000
    assert len(stmt["illegal_content_legal_ground"]) == 500
    assert len(stmt["decision_facts"]) == 5000
    assert validate_tdb_statement(stmt) == []


VALID = build_tdb_statement(facts())


def broken(**changes):
    stmt = dict(VALID)
    for key, value in changes.items():
        if value is ...:
            stmt.pop(key, None)
        else:
            stmt[key] = value
    return validate_tdb_statement(stmt)


@pytest.mark.parametrize(
    "field",
    [
        "decision_ground",
        "content_type",
        "category",
        "content_date",
        "application_date",
        "decision_facts",
        "source_type",
        "automated_detection",
        "automated_decision",
        "puid",
    ],
)
def test_validator_requires_each_required_field(field):
    assert any(e.startswith(f"{field}:") for e in broken(**{field: ...}))


@pytest.mark.parametrize(
    "changes,field",
    [
        ({"decision_ground": "ILLEGAL"}, "decision_ground"),
        ({"content_type": ["CONTENT_TYPE_MODEL"]}, "content_type"),
        ({"content_type": []}, "content_type"),
        ({"content_type_other": ...}, "content_type_other"),
        ({"content_type_other": "x" * 501}, "content_type_other"),
        ({"category": "STATEMENT_CATEGORY_CSAM"}, "category"),
        ({"content_date": "1999-12-31"}, "content_date"),
        ({"content_date": "2025-02-30"}, "content_date"),
        ({"application_date": "2019-12-31"}, "application_date"),
        ({"application_date": "02/01/2026"}, "application_date"),
        ({"decision_facts": "x" * 5001}, "decision_facts"),
        ({"source_type": "SOURCE_NOTICE"}, "source_type"),
        ({"automated_detection": True}, "automated_detection"),
        ({"automated_decision": "AUTOMATED_DECISION_NO"}, "automated_decision"),
        ({"puid": "has space"}, "puid"),
        ({"puid": "a" * 501}, "puid"),
        ({"decision_visibility": ...}, "decision"),
        ({"decision_visibility": ["DECISION_VISIBILITY_OTHER"]}, "decision_visibility_other"),
        ({"decision_visibility": ["CONTENT_REMOVED"]}, "decision_visibility"),
        ({"decision_monetary": "DECISION_MONETARY_OTHER"}, "decision_monetary_other"),
        ({"decision_provision": "DECISION_PROVISION_SOME"}, "decision_provision"),
        ({"decision_account": "DECISION_ACCOUNT_BANNED"}, "decision_account"),
        ({"illegal_content_legal_ground": ...}, "illegal_content_legal_ground"),
        ({"illegal_content_explanation": "x" * 2001}, "illegal_content_explanation"),
        (
            {"decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT"},
            "incompatible_content_ground",
        ),
        ({"territorial_scope": ["EL"]}, "territorial_scope"),
        ({"territorial_scope": ["US"]}, "territorial_scope"),
        ({"content_language": "en"}, "content_language"),
        ({"account_type": "ACCOUNT_TYPE_ROBOT"}, "account_type"),
        ({"category_specification": ["HATE"]}, "category_specification"),
        ({"category_addition": ["STATEMENT_CATEGORY_NOPE"]}, "category_addition"),
        ({"end_date_account_restriction": "2025-01-01"}, "end_date_account_restriction"),
        ({"source_identity": "x" * 501}, "source_identity"),
        ({"decision_ground_reference_url": "not a url"}, "decision_ground_reference_url"),
        ({"repo_id": "alice/model"}, "repo_id"),
        ({"decision_facts": "Contact bob@example.com"}, "decision_facts"),
    ],
)
def test_validator_names_the_broken_field(changes, field):
    errors = broken(**changes)
    assert any(e.startswith(f"{field}:") for e in errors), errors
