"""The operators' page on the policy file names every rule the policy has, and no other.

`tests/test_policy_rules.py` shows that each rule is read from the file; this keeps the page
people read in step with the model, so a rule added to `hostguard/policy/model.py` is
documented or this test fails.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from hostguard.policy import Policy

PAGE = Path(__file__).resolve().parent.parent / "docs" / "operators" / "policy.md"
# what identifies a policy rather than deciding anything
NOT_RULES = {"id", "version", "description"}
# sections documented as a whole: tables of entries and the statements' definitions
WHOLE = {"hash_categories", "category_aliases", "categories", "deadlines"}


def policy_rules() -> set[str]:
    rules = set()
    for name, field in Policy.model_fields.items():
        kind = field.annotation
        if name in NOT_RULES:
            continue
        if name not in WHOLE and isinstance(kind, type) and issubclass(kind, BaseModel):
            rules |= {f"{name}.{sub}" for sub in kind.model_fields}
        else:
            rules.add(name)
    return rules


def documented_rules() -> set[str]:
    table = [line for line in PAGE.read_text().splitlines() if line.startswith("| `")]
    first_cells = [line.split("|")[1] for line in table]
    return {name for cell in first_cells for name in re.findall(r"`([a-z_.]+)`", cell)}


def test_every_rule_of_the_policy_is_on_the_operators_page():
    assert policy_rules() - documented_rules() == set()


def test_the_page_names_no_rule_the_policy_does_not_have():
    assert documented_rules() - policy_rules() == set()


def test_the_rules_found_are_the_real_ones():
    rules = policy_rules()
    assert {
        "kyu.required",
        "deadlines",
        "priorities.overdue_points",
        "watermark.not_found",
    } <= rules
    assert "kyu" not in rules and "id" not in rules
