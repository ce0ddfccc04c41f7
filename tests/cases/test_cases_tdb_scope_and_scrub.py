"""Transparency Database statements: restrictions outside the EU/EEA, and notifiers' names kept out."""

from __future__ import annotations

import json

from sqlmodel import select

from hostguard.cases.models import StatementOfReasons
from hostguard.cases.statements.transparency_database import (
    build_tdb_statement,
    person_names,
    scrub_personal_data,
    validate_tdb_statement,
)

from .test_cases_cli import Receiver, receiver  # noqa: F401  (fixture)
from .test_cases_tdb import facts

DECISION = {
    "action": "restrict",
    "restrict_mode": "gate",
    "ground": "illegal_content",
    "ground_reference": "18 U.S.C. § 2252",
    "category": "hate",
    "explanation": "Unlawful in the US.",
}


def test_a_scope_outside_the_eu_leaves_the_field_out_and_says_so_in_the_facts():
    only_us = build_tdb_statement(facts(territorial_scope=("US",)))
    assert "territorial_scope" not in only_us
    assert only_us["decision_facts"].endswith(
        "The restriction applies only outside the EU/EEA (US)."
    )
    assert validate_tdb_statement(only_us) == []
    mixed = build_tdb_statement(facts(territorial_scope=("US", "DE", "EL")))
    assert mixed["territorial_scope"] == ["DE", "GR"]  # the database spells Greece GR
    assert mixed["decision_facts"].endswith("The restriction applies also outside the EU/EEA (US).")
    assert validate_tdb_statement(mixed) == []
    worldwide = build_tdb_statement(facts(territorial_scope=None))
    assert (
        len(worldwide["territorial_scope"]) == 30 and "outside" not in worldwide["decision_facts"]
    )
    long_facts = build_tdb_statement(facts(territorial_scope=("US",), decision_facts="z" * 6000))
    assert len(long_facts["decision_facts"]) == 5000 and validate_tdb_statement(long_facts) == []


def test_a_decision_restricted_to_the_us_is_accepted(client, api_headers, make_user):
    case_id = client.post(
        "/api/v1/notices",
        json={
            "items": ["us/model"],
            "category": "hate",
            "explanation": "Generates hateful imagery.",
            "notifier": {"name": "Nora", "email": "nora@example.org"},
            "good_faith": True,
        },
    ).get_json()["case_ids"][0]
    mod, _ = make_user("moderator")
    headers = api_headers("moderator", user=mod)
    assert client.post(f"/api/v1/cases/{case_id}/claim", headers=headers).status_code == 200
    answer = client.post(
        f"/api/v1/cases/{case_id}/decision",
        json={**DECISION, "territorial_scope": ["us"]},
        headers=headers,
    )
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert body["decision"]["territorial_scope"] == ["US"]
    statement = body["statement_of_reasons"]
    assert "Territorial scope: US." in statement["text"]  # the uploader is told the full scope
    assert (
        "territorial_scope" not in statement["tdb"]
        and validate_tdb_statement(statement["tdb"]) == []
    )


def test_person_names_are_scrubbed_as_whole_words_only():
    names = person_names("Jane Doeson", "jane@x.example") + person_names("Hate Watch")
    text = "Jane Doeson (jane@x.example) wrote; Ms Doeson agrees. JANE DOESON. Hate Watch too. Hate is bad, watch it."
    assert scrub_personal_data(text, names=names) == (
        "[redacted] ([redacted]) wrote; Ms [redacted] agrees. [redacted]. [redacted] too. [redacted] is bad, watch it."
    )
    assert (
        scrub_personal_data("Illegal under § 130", names=person_names("Al Illegal"))
        == "[redacted] under § 130"
    )
    assert (
        scrub_personal_data("the model is illegal", names=person_names("Al"))
        == "the model is illegal"
    )


WHO = {"name": "Nora Notifiersdottir", "email": "nora.n@mail.example"}


def test_notifiers_names_never_reach_the_transparency_database(
    db,
    runtime,
    notice,
    people,
    decided,
    cli,
    receiver,  # noqa: F811
):
    _, (case,) = notice(items=["zed/model"], name=WHO["name"], email=WHO["email"])
    m = people("moderator")
    d = decided(
        case,
        m,
        explanation=f"As {WHO['name']} ({WHO['email']}) showed, the samples incite hatred; "
        "Ms Notifiersdottir attached three examples.",
    )
    sor = db.exec(select(StatementOfReasons).where(StatementOfReasons.decision_id == d.id)).one()
    stored = json.dumps(sor.tdb)
    assert "Nora" not in stored and "Notifiersdottir" not in stored and "nora.n" not in stored
    assert "the samples incite hatred" in sor.tdb["illegal_content_explanation"]
    # a statement stored before the scrub knew the name: the export scrubs it on the way out
    sor.tdb = {
        **sor.tdb,
        "illegal_content_explanation": f"Reported by {WHO['name']}; Notifiersdottir was right.",
    }
    db.add(sor)
    db.commit()
    exported = cli("export", "statements", "--format", "dsa-tdb")
    assert exported.exit_code == 0, exported.stderr
    (line,) = exported.output.splitlines()
    assert "Nora" not in line and "Notifiersdottir" not in line
    assert (
        json.loads(line)["illegal_content_explanation"]
        == "Reported by [redacted]; [redacted] was right."
    )
    submitted = cli("export", "statements", "--submit", receiver)
    assert submitted.exit_code == 0, submitted.stderr
    (sent,) = Receiver.stored.values()
    assert "Notifiersdottir" not in json.dumps(sent) and validate_tdb_statement(sent) == []
