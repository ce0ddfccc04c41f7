"""Notice categories: what a notifier can report, how severe it is, and its Transparency Database mapping."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hostguard.errors import InvalidInput


@dataclass(frozen=True)
class Category:
    """One category of notice; `tdb_category` and `keywords` are the DSA Transparency Database values."""

    id: str
    label: str
    tdb_category: str
    keywords: tuple[str, ...] = ()
    severity: int = 100  # higher is reviewed first
    anonymous_notices: bool = (
        False  # Art. 16(2)(c): notices about child sexual abuse may be anonymous
    )
    legal_hold: bool = False  # keep evidence under legal hold and allow a hotline report package


DEFAULT_CATEGORIES: tuple[Category, ...] = (
    Category(
        "child_sexual_abuse",
        "Child sexual abuse material",
        "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
        ("KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL", "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE"),
        severity=1000,
        anonymous_notices=True,
        legal_hold=True,
    ),
    Category(
        "non_consensual_intimate_imagery",
        "Non-consensual intimate imagery (including deepfakes)",
        "STATEMENT_CATEGORY_CYBER_VIOLENCE",
        ("KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE",),
        severity=600,
    ),
    Category(
        "terrorism",
        "Terrorist content",
        "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
        ("KEYWORD_TERRORIST_CONTENT",),
        severity=600,
    ),
    Category("violence", "Violence", "STATEMENT_CATEGORY_VIOLENCE", (), severity=400),
    Category(
        "hate",
        "Illegal hate speech",
        "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
        ("KEYWORD_HATE_SPEECH",),
        severity=300,
    ),
    Category("fraud", "Scams and fraud", "STATEMENT_CATEGORY_SCAMS_AND_FRAUD", (), severity=250),
    Category(
        "privacy",
        "Privacy and data protection",
        "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS",
        (),
        severity=200,
    ),
    Category(
        "intellectual_property",
        "Intellectual property infringement",
        "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
        ("KEYWORD_COPYRIGHT_INFRINGEMENT", "KEYWORD_TRADEMARK_INFRINGEMENT"),
        severity=150,
    ),
    Category(
        "other",
        "Other breach of the law or the terms of service",
        "STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
        (),
        severity=100,
    ),
)


def load_categories(policy: Mapping | None = None) -> dict[str, Category]:
    """The default categories plus any the policy adds or adjusts under `cases.categories`.

    Policy form: ``{"cases": {"categories": {"<id>": {"label": ..., "tdb_category": ...,
    "keywords": [...], "severity": 300}}}}``; unknown keys are ignored.
    """
    categories = {c.id: c for c in DEFAULT_CATEGORIES}
    extra = ((policy or {}).get("cases") or {}).get("categories") or {}
    for cid, spec in extra.items():
        base = categories.get(cid)
        spec = spec or {}
        categories[cid] = Category(
            id=cid,
            label=str(
                spec.get("label") or (base.label if base else cid.replace("_", " ").capitalize())
            ),
            tdb_category=str(
                spec.get("tdb_category")
                or (base.tdb_category if base else "STATEMENT_CATEGORY_OTHER_VIOLATION_TC")
            ),
            keywords=tuple(spec.get("keywords") or (base.keywords if base else ())),
            severity=int(spec.get("severity") or (base.severity if base else 100)),
            anonymous_notices=bool(
                spec.get("anonymous_notices", base.anonymous_notices if base else False)
            ),
            legal_hold=bool(spec.get("legal_hold", base.legal_hold if base else False)),
        )
    return categories


def get_category(category_id: str, categories: Mapping[str, Category] | None = None) -> Category:
    """The category with this id, or InvalidInput naming the valid ones."""
    categories = categories if categories is not None else load_categories()
    try:
        return categories[category_id]
    except (KeyError, TypeError):
        raise InvalidInput(
            f"unknown category '{category_id}'; use one of: {', '.join(sorted(categories))}",
            code="invalid_category",
        ) from None
