"""DSA Transparency Database statements of reasons: build one from a decision, and check it field by field.

Written from ../shared/specs/dsa-transparency-db.md (API v1). A statement carries no personal
data (Art. 24(5)): no names, e-mails, repository ids (they contain the uploader's user name)
or URLs to the content; `puid` is derived from the statement's own id, so re-exporting or
re-submitting the same statement is idempotent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from hostguard.cases.measures import DecisionAction, Ground, RestrictMode
from hostguard.policy import Category

MAX_BATCH = 100

DECISION_GROUNDS = ("DECISION_GROUND_ILLEGAL_CONTENT", "DECISION_GROUND_INCOMPATIBLE_CONTENT")
CONTENT_TYPES = tuple(
    f"CONTENT_TYPE_{s}"
    for s in ("APP", "AUDIO", "IMAGE", "PRODUCT", "SYNTHETIC_MEDIA", "TEXT", "VIDEO", "OTHER")
)
CATEGORIES = tuple(
    f"STATEMENT_CATEGORY_{s}"
    for s in (
        "ANIMAL_WELFARE",
        "CONSUMER_INFORMATION",
        "CYBER_VIOLENCE",
        "CYBER_VIOLENCE_AGAINST_WOMEN",
        "DATA_PROTECTION_AND_PRIVACY_VIOLATIONS",
        "ILLEGAL_OR_HARMFUL_SPEECH",
        "INTELLECTUAL_PROPERTY_INFRINGEMENTS",
        "NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
        "NOT_SPECIFIED_NOTICE",
        "OTHER_VIOLATION_TC",
        "PROTECTION_OF_MINORS",
        "RISK_FOR_PUBLIC_SECURITY",
        "SCAMS_AND_FRAUD",
        "SELF_HARM",
        "UNSAFE_AND_PROHIBITED_PRODUCTS",
        "VIOLENCE",
    )
)
SOURCE_TYPES = (
    "SOURCE_ARTICLE_16",
    "SOURCE_TRUSTED_FLAGGER",
    "SOURCE_TYPE_OTHER_NOTIFICATION",
    "SOURCE_VOLUNTARY",
)
AUTOMATED_DETECTION = ("Yes", "No")
AUTOMATED_DECISIONS = (
    "AUTOMATED_DECISION_FULLY",
    "AUTOMATED_DECISION_PARTIALLY",
    "AUTOMATED_DECISION_NOT_AUTOMATED",
)
DECISION_VISIBILITY = tuple(
    f"DECISION_VISIBILITY_{s}"
    for s in (
        "CONTENT_REMOVED",
        "CONTENT_DISABLED",
        "CONTENT_DEMOTED",
        "CONTENT_AGE_RESTRICTED",
        "CONTENT_INTERACTION_RESTRICTED",
        "CONTENT_LABELLED",
        "OTHER",
    )
)
DECISION_MONETARY = (
    "DECISION_MONETARY_SUSPENSION",
    "DECISION_MONETARY_TERMINATION",
    "DECISION_MONETARY_OTHER",
)
DECISION_PROVISION = (
    "DECISION_PROVISION_PARTIAL_SUSPENSION",
    "DECISION_PROVISION_TOTAL_SUSPENSION",
    "DECISION_PROVISION_PARTIAL_TERMINATION",
    "DECISION_PROVISION_TOTAL_TERMINATION",
)
DECISION_ACCOUNT = ("DECISION_ACCOUNT_SUSPENDED", "DECISION_ACCOUNT_TERMINATED")
ACCOUNT_TYPES = ("ACCOUNT_TYPE_BUSINESS", "ACCOUNT_TYPE_PRIVATE")
# EU member states (Greece is GR in the database) and the EEA states.
EU_EEA = (
    "AT",
    "BE",
    "BG",
    "CY",
    "CZ",
    "DE",
    "DK",
    "EE",
    "ES",
    "FI",
    "FR",
    "GR",
    "HR",
    "HU",
    "IE",
    "IT",
    "LT",
    "LU",
    "LV",
    "MT",
    "NL",
    "PL",
    "PT",
    "RO",
    "SE",
    "SI",
    "SK",
    "IS",
    "LI",
    "NO",
)

REQUIRED = (
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
)
DECISION_FIELDS = (
    "decision_visibility",
    "decision_monetary",
    "decision_provision",
    "decision_account",
)
OPTIONAL = (
    "decision_visibility_other",
    "decision_monetary_other",
    "content_type_other",
    "illegal_content_legal_ground",
    "illegal_content_explanation",
    "incompatible_content_ground",
    "incompatible_content_explanation",
    "incompatible_content_illegal",
    "decision_ground_reference_url",
    "account_type",
    "category_addition",
    "category_specification",
    "category_specification_other",
    "territorial_scope",
    "content_language",
    "end_date_account_restriction",
    "end_date_monetary_restriction",
    "end_date_service_restriction",
    "end_date_visibility_restriction",
    "source_identity",
)
KNOWN_FIELDS = frozenset(REQUIRED + DECISION_FIELDS + OPTIONAL)
END_DATES = (
    "end_date_account_restriction",
    "end_date_monetary_restriction",
    "end_date_service_restriction",
    "end_date_visibility_restriction",
)

PUID_RE = re.compile(r"^[a-zA-Z0-9\-_]+$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
KEYWORD_RE = re.compile(r"^KEYWORD_[A-Z0-9_]+$")
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
PHONE_RE = re.compile(r"(?<![\w-])\+?\d[\d ()\-./]{7,}\d(?![\w-])")

MODEL_CONTENT_TYPE = "AI model repository"

SOURCE_TYPE_FOR = {
    "notice": "SOURCE_ARTICLE_16",
    "trusted_flagger": "SOURCE_TRUSTED_FLAGGER",
    "order": "SOURCE_TYPE_OTHER_NOTIFICATION",
    "hash_match": "SOURCE_VOLUNTARY",
    "retroactive_match": "SOURCE_VOLUNTARY",
    "upload_check": "SOURCE_VOLUNTARY",
    "own_initiative": "SOURCE_VOLUNTARY",
}
AUTOMATED_SOURCES = frozenset({"hash_match", "retroactive_match", "upload_check"})


def make_puid(prefix: str, statement_id: int) -> str:
    """A stable platform unique id for a statement: the same statement always gets the same puid."""
    clean = re.sub(r"[^a-zA-Z0-9\-_]", "-", prefix or "hostguard").strip("-") or "hostguard"
    return f"{clean}-sor-{statement_id}"


def eu_scope(scope: Iterable[str] | None) -> tuple[list[str], list[str]]:
    """Split a decision's territorial scope into the EU/EEA codes the database accepts and the rest.

    No scope (worldwide) is the whole EU/EEA. The EU's own code for Greece, EL, is GR there.
    """
    if not scope:
        return sorted(EU_EEA), []
    codes = sorted({"GR" if c.upper() == "EL" else c.upper() for c in scope})
    return [c for c in codes if c in EU_EEA], [c for c in codes if c not in EU_EEA]


def scrub_personal_data(text: str, *, names: Iterable[str] = ()) -> str:
    """Remove e-mail addresses, phone numbers and the given names (user names, repo ids, notifiers'
    names and addresses) from text, where they stand as whole words. Names are matched in any case;
    a name marked `Name:exact` (see `person_names`) only as written."""
    out = scrub_names(EMAIL_RE.sub("[redacted]", text or ""), names=names)
    return PHONE_RE.sub("[redacted]", out)


def _name_patterns(names: Iterable[str]) -> list[tuple[str, re.Pattern[str]]]:
    """Each name (longest first, so a full name goes before its words) with the pattern that finds
    it as a whole word: in any case, or only as written for a name marked `Name:exact`."""
    found = []
    for name in sorted(
        {n.strip() for n in names if n and len(n.strip()) >= 2},
        key=lambda n: len(n.removeprefix(EXACT)),
        reverse=True,
    ):
        exact = name.startswith(EXACT)
        name = name.removeprefix(EXACT)
        pattern = re.compile(
            rf"(?<!\w){re.escape(name)}(?!\w)", flags=0 if exact else re.IGNORECASE
        )
        found.append((name, pattern))
    return found


def scrub_names(text: str, *, names: Iterable[str], replacement: str = "[redacted]") -> str:
    """Replace the given names (see `person_names`) where they stand as whole words."""
    out = text or ""
    for _, pattern in _name_patterns(names):
        out = pattern.sub(replacement, out)
    return out


def names_in(text: str, *, names: Iterable[str]) -> list[str]:
    """The given names that `scrub_names` would replace in text, as they were given."""
    found, out = [], text or ""
    for name, pattern in _name_patterns(names):
        if pattern.search(out):
            found.append(name)
            out = pattern.sub(" ", out)
    return found


EXACT = "\x00exact:"  # prefix of a name matched only as written (a word of a person's name)


FREE_TEXT_FIELDS = (
    "decision_facts",
    "illegal_content_legal_ground",
    "illegal_content_explanation",
    "incompatible_content_ground",
    "incompatible_content_explanation",
    "source_identity",
    "decision_visibility_other",
    "content_type_other",
    "category_specification_other",
)


def scrub_statement(stmt: Mapping[str, Any], *, names: Iterable[str]) -> dict[str, Any]:
    """The statement with `names` scrubbed from its free texts (for statements stored before a name
    was known to be personal data); every other field is kept as it is."""
    names = tuple(names)
    out = dict(stmt)
    for field in FREE_TEXT_FIELDS:
        if isinstance(out.get(field), str):
            out[field] = scrub_personal_data(out[field], names=names)
    return out


def person_names(*values: str | None) -> list[str]:
    """A person's full name or address (matched in any case) and, for a name, each capitalised word
    of four or more letters, matched only as written: an explanation may say "Ms Doe" where the
    notice said "Jane Doe", but "hate" must survive a notifier called "Hate Watch"."""
    names: list[str] = []
    for value in values:
        value = (value or "").strip()
        if not value:
            continue
        names.append(value)
        if "@" not in value:
            names += [
                EXACT + w for w in re.split(r"[\s,]+", value) if len(w) >= 4 and w[0].isupper()
            ]
    return names


def _clip(text: str, limit: int) -> str:
    text = (text or "").strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class StatementFacts:
    """Everything the Transparency Database needs about one decision, already free of personal data
    except in the free texts, which the builder scrubs of `private_names` and contact details."""

    statement_id: int
    action: str
    ground: str
    ground_reference: str
    explanation: str
    category: Category
    source: str
    decision_facts: str
    content_date: date
    application_date: date
    automated_detection: bool = False
    automated_decision: str = "not"  # fully | partially | not
    restrict_mode: str | None = None
    legal_hold: bool = False
    sample_images: bool = False  # sample outputs (images) were part of the problem
    territorial_scope: tuple[str, ...] | None = (
        None  # None: worldwide (the whole EU/EEA); any codes
    )
    end_date_account_restriction: date | None = None
    # the decision's strike suspended the account automatically (Art. 23), whatever its action
    account_suspended: bool = False
    source_identity: str | None = (
        None  # a trusted flagger's or an authority's name, never a person's
    )
    ground_reference_url: str | None = None
    content_language: str | None = None
    puid_prefix: str = "hostguard"
    private_names: tuple[str, ...] = ()


def build_tdb_statement(facts: StatementFacts) -> dict[str, Any]:
    """The statement as the Transparency Database API expects it (one JSON object)."""
    action = DecisionAction(facts.action)
    names = facts.private_names

    def text(value: str, limit: int) -> str:
        return _clip(scrub_personal_data(value, names=names), limit)

    content_types = ["CONTENT_TYPE_OTHER"]
    if facts.sample_images:
        content_types += ["CONTENT_TYPE_IMAGE", "CONTENT_TYPE_SYNTHETIC_MEDIA"]
    stmt: dict[str, Any] = {
        "decision_ground": (
            "DECISION_GROUND_ILLEGAL_CONTENT"
            if facts.ground == Ground.ILLEGAL_CONTENT
            else "DECISION_GROUND_INCOMPATIBLE_CONTENT"
        ),
        "content_type": content_types,
        "content_type_other": MODEL_CONTENT_TYPE,
        "category": facts.category.tdb_category,
        "content_date": max(facts.content_date, date(2000, 1, 1)).isoformat(),
        "application_date": max(facts.application_date, date(2020, 1, 1)).isoformat(),
        "decision_facts": text(facts.decision_facts, 5000),
        "source_type": SOURCE_TYPE_FOR.get(facts.source, "SOURCE_VOLUNTARY"),
        "automated_detection": "Yes" if facts.automated_detection else "No",
        "automated_decision": {
            "fully": "AUTOMATED_DECISION_FULLY",
            "partially": "AUTOMATED_DECISION_PARTIALLY",
        }.get(facts.automated_decision, "AUTOMATED_DECISION_NOT_AUTOMATED"),
        "puid": make_puid(facts.puid_prefix, facts.statement_id),
    }
    # The database takes EU/EEA codes only (the field is optional). A restriction that applies
    # only outside the EU/EEA leaves the field out; the facts say where it applies instead.
    inside, outside = eu_scope(facts.territorial_scope)
    if inside:
        stmt["territorial_scope"] = inside
    if outside:
        where = "also outside the EU/EEA" if inside else "only outside the EU/EEA"
        note = f" The restriction applies {where} ({', '.join(outside)})."
        stmt["decision_facts"] = (
            _clip(scrub_personal_data(facts.decision_facts, names=names), 5000 - len(note)) + note
        )
    if facts.category.keywords:
        stmt["category_specification"] = list(facts.category.keywords)

    if action == DecisionAction.RESTRICT:
        if facts.restrict_mode == RestrictMode.LABEL:
            stmt["decision_visibility"] = ["DECISION_VISIBILITY_CONTENT_LABELLED"]
        else:
            stmt["decision_visibility"] = ["DECISION_VISIBILITY_OTHER"]
            stmt["decision_visibility_other"] = (
                "Access gated: users must accept conditions before download"
            )
    elif action in (
        DecisionAction.TAKE_DOWN,
        DecisionAction.SUSPEND_UPLOADER,
        DecisionAction.REPORT,
    ):
        disabled = facts.legal_hold or action == DecisionAction.REPORT
        stmt["decision_visibility"] = [
            "DECISION_VISIBILITY_CONTENT_DISABLED"
            if disabled
            else "DECISION_VISIBILITY_CONTENT_REMOVED"
        ]
        if action == DecisionAction.SUSPEND_UPLOADER or facts.account_suspended:
            stmt["decision_account"] = "DECISION_ACCOUNT_SUSPENDED"
            if facts.end_date_account_restriction:
                stmt["end_date_account_restriction"] = (
                    facts.end_date_account_restriction.isoformat()
                )
    else:
        raise ValueError(f"a '{action}' decision restricts nothing and has no statement of reasons")

    if facts.ground == Ground.ILLEGAL_CONTENT:
        stmt["illegal_content_legal_ground"] = text(facts.ground_reference, 500)
        stmt["illegal_content_explanation"] = text(facts.explanation, 2000)
    else:
        stmt["incompatible_content_ground"] = text(facts.ground_reference, 500)
        stmt["incompatible_content_explanation"] = text(facts.explanation, 2000)
    if facts.ground_reference_url:
        stmt["decision_ground_reference_url"] = facts.ground_reference_url
    if facts.source_identity and stmt["source_type"] != "SOURCE_VOLUNTARY":
        stmt["source_identity"] = text(facts.source_identity, 500)
    if facts.content_language:
        stmt["content_language"] = facts.content_language.upper()
    return stmt


def _is_date(value: Any) -> date | None:
    if not isinstance(value, str) or not DATE_RE.match(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _personal_data(value: Any) -> bool:
    if isinstance(value, str):
        return bool(EMAIL_RE.search(value) or PHONE_RE.search(value))
    if isinstance(value, list):
        return any(_personal_data(v) for v in value)
    return False


def validate_tdb_statement(stmt: Mapping[str, Any]) -> list[str]:
    """Every way the statement breaks the Transparency Database rules, as `field: problem` lines."""
    errors: list[str] = []

    def err(field: str, problem: str) -> None:
        errors.append(f"{field}: {problem}")

    def text(field: str, limit: int, *, required: bool = False) -> None:
        value = stmt.get(field)
        if value is None:
            if required:
                err(field, "is required")
            return
        if not isinstance(value, str) or not value.strip():
            err(field, "must be a non-empty string")
        elif len(value) > limit:
            err(field, f"is longer than {limit} characters")

    def one_of(field: str, allowed: tuple[str, ...]) -> None:
        if field in stmt and stmt[field] not in allowed:
            err(field, f"must be one of {', '.join(allowed)}")

    def array_of(
        field: str, allowed: tuple[str, ...] | None = None, pattern: re.Pattern | None = None
    ) -> None:
        if field not in stmt:
            return
        value = stmt[field]
        if not isinstance(value, list) or not value:
            err(field, "must be a non-empty array")
            return
        for item in value:
            if (
                not isinstance(item, str)
                or (allowed and item not in allowed)
                or (pattern and not pattern.match(item))
            ):
                err(field, f"has an invalid value {item!r}")
        if len(set(value)) != len(value):
            err(field, "has duplicate values")

    for field in stmt:
        if field not in KNOWN_FIELDS:
            err(field, "is not a Transparency Database field")
    for field in REQUIRED:
        if stmt.get(field) in (None, "", []):
            err(field, "is required")

    one_of("decision_ground", DECISION_GROUNDS)
    array_of("content_type", CONTENT_TYPES)
    if "CONTENT_TYPE_OTHER" in (stmt.get("content_type") or []):
        text("content_type_other", 500, required=True)
    one_of("category", CATEGORIES)
    for field, earliest in (
        ("content_date", date(2000, 1, 1)),
        ("application_date", date(2020, 1, 1)),
    ):
        if field in stmt:
            parsed = _is_date(stmt[field])
            if parsed is None:
                err(field, "must be a date YYYY-MM-DD")
            elif parsed < earliest:
                err(field, f"must not be before {earliest.isoformat()}")
    text("decision_facts", 5000)
    one_of("source_type", SOURCE_TYPES)
    one_of("automated_detection", AUTOMATED_DETECTION)
    one_of("automated_decision", AUTOMATED_DECISIONS)
    if "puid" in stmt:
        puid = stmt["puid"]
        if not isinstance(puid, str) or len(puid) > 500 or not PUID_RE.match(puid):
            err("puid", "must be at most 500 characters of letters, digits, '-' and '_'")

    if not any(stmt.get(f) for f in DECISION_FIELDS):
        err("decision", f"at least one of {', '.join(DECISION_FIELDS)} is required")
    array_of("decision_visibility", DECISION_VISIBILITY)
    if "DECISION_VISIBILITY_OTHER" in (stmt.get("decision_visibility") or []):
        text("decision_visibility_other", 500, required=True)
    one_of("decision_monetary", DECISION_MONETARY)
    if stmt.get("decision_monetary") == "DECISION_MONETARY_OTHER":
        text("decision_monetary_other", 500, required=True)
    one_of("decision_provision", DECISION_PROVISION)
    one_of("decision_account", DECISION_ACCOUNT)

    if stmt.get("decision_ground") == "DECISION_GROUND_ILLEGAL_CONTENT":
        text("illegal_content_legal_ground", 500, required=True)
        text("illegal_content_explanation", 2000, required=True)
    elif stmt.get("decision_ground") == "DECISION_GROUND_INCOMPATIBLE_CONTENT":
        text("incompatible_content_ground", 500, required=True)
        text("incompatible_content_explanation", 2000, required=True)
        one_of("incompatible_content_illegal", ("Yes", "No"))

    one_of("account_type", ACCOUNT_TYPES)
    array_of("category_addition", CATEGORIES)
    array_of("category_specification", pattern=KEYWORD_RE)
    text("category_specification_other", 500)
    array_of("territorial_scope", EU_EEA)
    if "content_language" in stmt and not (
        isinstance(stmt["content_language"], str)
        and re.fullmatch(r"[A-Z]{2}", stmt["content_language"])
    ):
        err("content_language", "must be an upper-case ISO 639-1 code such as EN")
    applied = _is_date(stmt.get("application_date"))
    for field in END_DATES:
        if field in stmt:
            parsed = _is_date(stmt[field])
            if parsed is None:
                err(field, "must be a date YYYY-MM-DD")
            elif applied and parsed < applied:
                err(field, "must not be before application_date")
    text("source_identity", 500)
    if "decision_ground_reference_url" in stmt and not (
        isinstance(stmt["decision_ground_reference_url"], str)
        and re.match(r"^https?://\S+$", stmt["decision_ground_reference_url"])
    ):
        err("decision_ground_reference_url", "must be an http(s) URL")
    for field in ("content_type_other", "decision_visibility_other", "decision_monetary_other"):
        text(field, 500)

    for field, value in stmt.items():
        if field not in ("application_date", "content_date", *END_DATES) and _personal_data(value):
            err(field, "looks like it contains personal data (an e-mail address or phone number)")
    return errors
