"""The transparency report in the harmonised templates of Implementing Regulation (EU) 2024/2835.

Annex I of that regulation lays down a quantitative template (machine-readable, one table per
section, published by the Commission as a workbook whose sheets, or a zip of CSV files, are named
`1_report_identification` … `11_qualitative`) and a qualitative template (free text). The labels
below are the template's own, copied from the Commission's blank template as providers publish it
(see docs/operators/transparency-reports.md for the sources and for what hostguard fills in).

hostguard fills in what its case records know: orders, notices, decisions, appeals and
suspensions it handled. Cells it cannot know (average monthly active recipients, human resources,
out-of-court disputes, accuracy of automated means, publication dates) stay empty for the operator;
they are never written as zero. A cell hostguard can know is a number, zero included.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from hostguard.cases.measures import DecisionAction, Ground, RestrictMode
from hostguard.cases.models import (
    Appeal,
    AuthorityOrder,
    Case,
    Decision,
    Notice,
    NoticeItem,
    Sanction,
)
from hostguard.cases.statements.transparency_database import AUTOMATED_SOURCES
from hostguard.policy import Policy

# --- the template's vocabulary (Annex I; column A "Applicability") ----------------------------------

ALL = "All"
HOSTING = "Only for providers of hosting services, including online platforms"
PLATFORMS = "Only for providers of online platforms"
VLOPS = "Only for VLOPs"
VLOPS_VLOSES = "Only for VLOPs and VLOSEs"

OWN_INITIATIVE_SOURCES = AUTOMATED_SOURCES | {"own_initiative"}
NOTICE_SOURCES = frozenset({"notice", "trusted_flagger"})
ACTING = frozenset(
    {
        DecisionAction.RESTRICT,
        DecisionAction.TAKE_DOWN,
        DecisionAction.SUSPEND_UPLOADER,
        DecisionAction.REPORT,
    }
)

# The Commission's categories and sub-categories (keywords), in the template's order, with the
# descriptions of section 2 (`2_categories_names`). Every category has a last sub-category
# KEYWORD_OTHER, "Not captured by any other sub-category".
CATEGORY_TABLE: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    (
        "STATEMENT_CATEGORY_ANIMAL_WELFARE",
        "Animal welfare",
        (
            ("KEYWORD_ANIMAL_HARM", "Animal harm"),
            ("KEYWORD_UNLAWFUL_SALE_ANIMALS", "Unlawful sale of animals"),
        ),
    ),
    (
        "STATEMENT_CATEGORY_CONSUMER_INFORMATION",
        "Consumer information infringements",
        (
            (
                "KEYWORD_HIDDEN_ADVERTISEMENT",
                "Hidden advertisement or commercial communication, including by influencers",
            ),
            ("KEYWORD_INSUFFICIENT_INFORMATION_ON_TRADERS", "Insufficient information on traders"),
            (
                "KEYWORD_MISLEADING_INFO_GOODS_SERVICES",
                "Misleading information about the characteristics of the goods and services",
            ),
            (
                "KEYWORD_MISLEADING_INFO_CONSUMER_RIGHTS",
                "Misleading information about the consumer’s rights",
            ),
            ("KEYWORD_NONCOMPLIANCE_PRICING", "Non-compliance with pricing regulations"),
        ),
    ),
    (
        "STATEMENT_CATEGORY_CYBER_VIOLENCE",
        "Cyber violence",
        (
            ("KEYWORD_CYBER_BULLYING_INTIMIDATION", "Cyber bullying and intimidation"),
            ("KEYWORD_CYBER_HARASSMENT", "Cyber harassment"),
            ("KEYWORD_CYBER_INCITEMENT", "Cyber incitement to hatred or violence"),
            ("KEYWORD_CYBER_STALKING", "Cyber stalking"),
            (
                "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING",
                "Non-consensual (intimate) material sharing, including (image-based) sexual abuse "
                "(excluding content depicting minors)",
            ),
            (
                "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE",
                "Non-consensual sharing of material containing deepfake or similar technology "
                "using a third party's features (excluding content depicting minors)",
            ),
        ),
    ),
    (
        "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN",
        "Cyber violence against women",
        (
            ("KEYWORD_BULLYING_AGAINST_GIRLS", "Cyber bullying and intimidation against girls"),
            ("KEYWORD_CYBER_HARASSMENT_AGAINST_WOMEN", "Cyber harassment against women"),
            ("KEYWORD_CYBER_STALKING_AGAINST_WOMEN", "Cyber stalking against women"),
            ("KEYWORD_FEMALE_GENDERED_DISINFORMATION", "Gendered disinformation"),
            (
                "KEYWORD_INCITEMENT_AGAINST_WOMEN",
                "Illegal incitement to violence and hatred against women",
            ),
            (
                "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING_AGAINST_WOMEN",
                "Non-consensual (intimate) material sharing against women, including "
                "(image-based) sexual abuse against women (excluding content depicting minors)",
            ),
            (
                "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE_AGAINST_WOMEN",
                "Non-consensual sharing of material containing deepfake or similar technology "
                "using a third party's features against women (excluding content depicting minors)",
            ),
        ),
    ),
    (
        "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS",
        "Data protection and privacy violations",
        (
            ("KEYWORD_BIOMETRIC_DATA_BREACH", "Biometric data breach"),
            ("KEYWORD_DATA_FALSIFICATION", "Data falsification"),
            ("KEYWORD_MISSING_PROCESSING_GROUND", "Missing processing ground for data"),
            ("KEYWORD_RIGHT_TO_BE_FORGOTTEN", "Right to be forgotten"),
        ),
    ),
    (
        "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
        "Illegal or harmful speech",
        (
            ("KEYWORD_DEFAMATION", "Defamation"),
            ("KEYWORD_DISCRIMINATION", "Discrimination"),
            (
                "KEYWORD_HATE_SPEECH",
                "Illegal incitement to violence and hatred based on protected characteristics "
                "(hate speech)",
            ),
        ),
    ),
    (
        "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
        "Intellectual property infringements",
        (
            ("KEYWORD_COPYRIGHT_INFRINGEMENT", "Copyright infringements"),
            ("KEYWORD_DESIGN_INFRINGEMENT", "Design infringements"),
            (
                "KEYWORD_GEOGRAPHIC_INDICATIONS_INFRINGEMENT",
                "Geographical indications infringements",
            ),
            ("KEYWORD_PATENT_INFRINGEMENT", "Patent infringements"),
            ("KEYWORD_TRADE_SECRET_INFRINGEMENT", "Trade secret infringements"),
            ("KEYWORD_TRADEMARK_INFRINGEMENT", "Trademark infringements"),
        ),
    ),
    (
        "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
        "Negative effects on civic discourse or elections",
        (
            (
                "KEYWORD_MISINFORMATION_DISINFORMATION",
                "Misinformation, disinformation, foreign information manipulation and interference",
            ),
            (
                "KEYWORD_VIOLATION_EU_LAW",
                "Violation of EU law relevant to civic discourse or elections",
            ),
            (
                "KEYWORD_VIOLATION_NATIONAL_LAW",
                "Violation of national law relevant to civic discourse or elections",
            ),
        ),
    ),
    (
        "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
        "Protection of minors",
        (
            (
                "KEYWORD_AGE_SPECIFIC_RESTRICTIONS_MINORS",
                "Age-specific restrictions concerning minors",
            ),
            ("KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL", "Child sexual abuse material"),
            (
                "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE",
                "Child sexual abuse material containing deepfake or similar technology",
            ),
            ("KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS", "Grooming/sexual enticement of minors"),
            ("KEYWORD_UNSAFE_CHALLENGES", "Unsafe challenges"),
        ),
    ),
    (
        "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
        "Risk for public security",
        (
            ("KEYWORD_ILLEGAL_ORGANIZATIONS", "Illegal organizations"),
            ("KEYWORD_RISK_ENVIRONMENTAL_DAMAGE", "Risk for environmental damage"),
            ("KEYWORD_RISK_PUBLIC_HEALTH", "Risk for public health"),
            ("KEYWORD_TERRORIST_CONTENT", "Terrorist content"),
        ),
    ),
    (
        "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
        "Scams and/or fraud",
        (
            ("KEYWORD_IMPERSONATION_ACCOUNT_HIJACKING", "Impersonation or account hijacking"),
            ("KEYWORD_INAUTHENTIC_ACCOUNTS", "Inauthentic accounts"),
            ("KEYWORD_INAUTHENTIC_LISTINGS", "Inauthentic listings"),
            ("KEYWORD_INAUTHENTIC_USER_REVIEWS", "Inauthentic user reviews"),
            ("KEYWORD_PHISHING", "Phishing"),
            ("KEYWORD_PYRAMID_SCHEMES", "Pyramid schemes"),
        ),
    ),
    (
        "STATEMENT_CATEGORY_SELF_HARM",
        "Self-harm",
        (
            ("KEYWORD_CONTENT_PROMOTING_EATING_DISORDERS", "Content promoting eating disorders"),
            ("KEYWORD_SELF_MUTILATION", "Self-mutilation"),
            ("KEYWORD_SUICIDE", "Suicide"),
        ),
    ),
    (
        "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS",
        "Unsafe, non-compliant or prohibited products",
        (
            ("KEYWORD_PROHIBITED_PRODUCTS", "Prohibited or restricted products"),
            ("KEYWORD_UNSAFE_PRODUCTS", "Unsafe or non-compliant products"),
        ),
    ),
    (
        "STATEMENT_CATEGORY_VIOLENCE",
        "Violence",
        (
            ("KEYWORD_COORDINATED_HARM", "Coordinated harm"),
            (
                "KEYWORD_INCITEMENT_VIOLENCE_HATRED",
                "General calls or incitement to violence and/or hatred",
            ),
            ("KEYWORD_HUMAN_EXPLOITATION", "Human exploitation"),
            ("KEYWORD_HUMAN_TRAFFICKING", "Human trafficking"),
            ("KEYWORD_TRAFFICKING_WOMEN_GIRLS", "Trafficking in women and girls"),
        ),
    ),
    (
        "STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
        "Other violation of provider’s terms and conditions",
        (
            ("KEYWORD_ADULT_SEXUAL_MATERIAL", "Adult sexual material"),
            ("KEYWORD_AGE_SPECIFIC_RESTRICTIONS", "Age-specific restrictions"),
            ("KEYWORD_GEOGRAPHICAL_REQUIREMENTS", "Geographical requirements"),
            (
                "KEYWORD_GOODS_SERVICES_NOT_PERMITTED",
                "Goods/services not permitted to be offered on the platform",
            ),
            ("KEYWORD_LANGUAGE_REQUIREMENTS", "Language requirements"),
            ("KEYWORD_NUDITY", "Nudity"),
        ),
    ),
)
OTHER_KEYWORD = "KEYWORD_OTHER"
OTHER_KEYWORD_DESCRIPTION = "Not captured by any other sub-category"
NOT_SPECIFIED_ORDER = (
    "STATEMENT_CATEGORY_NOT_SPECIFIED_ORDER",
    "Type of illegal content not specified by the public authority",
)
NOT_SPECIFIED_NOTICE = (
    "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE",
    "Type of alleged illegal content not specified by the notifier",
)
TC_CATEGORY = "STATEMENT_CATEGORY_OTHER_VIOLATION_TC"
ILLEGAL_CATEGORIES = tuple(c for c in CATEGORY_TABLE if c[0] != TC_CATEGORY)

# Section 3 and 10 scopes: the Member States in the template's order (by English name; Greece GR).
MEMBER_STATES = (
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
    "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
)  # fmt: skip
# Sections 8 and 9 scopes for VLOPs: the official languages in the template's order.
LANGUAGES = (
    "bg", "hr", "cs", "da", "nl", "en", "et", "fi", "fr", "de", "el", "hu", "ga", "it",
    "lv", "lt", "mt", "pl", "pt", "ro", "sk", "sl", "es", "sv",
)  # fmt: skip

ORDER_FIGURES = (
    "Number of orders to act against illegal content received",
    "Number of specific items of information included in the total number of orders to act "
    "against illegal content",
    "Median time to inform the authority of the receipt of the order to act against illegal content",
    "Median time to give effect to the order to act against illegal content",
    "Number of orders to provide information",
    "Median time to inform the authority of the receipt of the order to provide information",
    "Median time to give effect to the order to provide information",
)
# the template writes the first two of these with a small "number"
ORDER_CONTEXT = tuple(
    "Contextual information on " + (f[0].lower() + f[1:] if i < 2 else f)
    for i, f in enumerate(ORDER_FIGURES)
)
NOTICE_FIGURES = (
    "Number of notices received",
    "Number of notices received from Trusted flaggers",
    "Number of specific items of information included in the total number of notices",
    "Number of specific items of information included in the total number of notices by Trusted "
    "Flaggers (Trusted Flagger notices)",
    "Median time to take action",
    "Median time to take action (Trusted Flagger notices)",
    "Number of actions taken on the basis of the law",
    "Number of actions taken on the basis of the law (Trusted Flagger notices)",
    "Number of actions taken on the basis of the terms and conditions of the service",
    "Number of actions taken on the basis of the terms and conditions of the service (Trusted "
    "Flagger notices)",
)
NOTICE_CONTEXT = tuple("Contextual information on " + f for f in NOTICE_FIGURES)
MEASURE_FIGURES = (
    "Number of measures taken at the provider's own initiative",
    "Number of measures taken after detection with solely automated means",
    "Visibility restriction Removal",
    "Visibility restriction Disable",
    "Visibility restriction Demoted",
    "Visibility restriction Age restricted",
    "Visibility restriction Interaction restricted",
    "Visibility restriction Labelled",
    "Visibility restriction Other",
    "Monetary restriction Suspension",
    "Monetary restriction Termination",
    "Monetary restriction Other",
    "Provision of the service Suspension",
    "Provision of the service Termination",
    "Account restriction Suspension",
    "Account restriction Termination",
)
MEASURE_CONTEXT = tuple("Contextual Information on " + f for f in MEASURE_FIGURES)
OTHER_DESCRIPTION = 'Description of the sub-category "Other"'

SECTION_COLUMNS: dict[str, tuple[str, ...]] = {
    "1_report_identification": ("Applicability", "Service", "Indicator", "Value"),
    "2_categories_names": (
        "Category label",
        "Category description",
        "Category of illegal content / incompatible with the terms and conditions",
        "Contextual information",
    ),
    "3_member_states_orders": (
        "Applicability",
        "Service",
        "Reporting period",
        "Category of illegal content",
        OTHER_DESCRIPTION,
        "Scope",
        *ORDER_FIGURES,
        *ORDER_CONTEXT,
    ),
    "4_notices": (
        "Applicability",
        "Service",
        "Reporting period",
        "Category of illegal content",
        OTHER_DESCRIPTION,
        *NOTICE_FIGURES,
        *NOTICE_CONTEXT,
    ),
    "5_own_initiative_illegal": (
        "Applicability",
        "Service",
        "Reporting period",
        "Category of illegal content",
        OTHER_DESCRIPTION,
        *MEASURE_FIGURES,
        *MEASURE_CONTEXT,
    ),
    "6_own_initiative_TC": (
        "Applicability",
        "Service",
        "Reporting period",
        "Category of incompatibility with the provider's terms and conditions",
        OTHER_DESCRIPTION,
        *MEASURE_FIGURES,
        *MEASURE_CONTEXT,
    ),
    "7_appeals_and_recidivism": (
        "Applicability",
        "Service",
        "Reporting period",
        "Section",
        "Indicator",
        "Scope",
        "Value",
        "Contextual Information",
    ),
    "8_automated_means": (
        "Applicability",
        "Service",
        "Reporting period",
        "Section",
        "Indicator",
        "Scope",
        "Value",
        "Contextual Information",
    ),
    "9_human_resources": (
        "Applicability",
        "Service",
        "Reporting period",
        "Section",
        "Indicator",
        "Scope",
        "Value",
        "Contextual information",
    ),
    "10_AMAR": (
        "Applicability",
        "Service",
        "Reporting period",
        "Section",
        "Indicator",
        "Scope",
        "Value",
    ),
    "11_qualitative": ("Applicability", "Service", "Reporting period", "Indicator", "Value"),
}
SECTIONS = tuple(SECTION_COLUMNS)

# Section 7 (Articles 15(1)(d), 24(1)(a) and 24(1)(b)): (applicability, section, indicator, scopes)
COMPLAINTS = "Internal complaints mechanism"
OUTCOMES = ("Decisions upheld", "Decisions partially reversed", "Decisions reversed", "Median time")
COMPLAINT_GROUPS = (
    (
        "remove_visibility",
        "Complaint regarding a decision to remove or disable access to or restrict visibility of "
        "information",
    ),
    (
        "provision",
        "Complaint regarding a decision to suspend or terminate the provision of the service",
    ),
    ("account", "Complaint regarding a decision to suspend or terminate an account"),
    ("monetary", "Complaint regarding a decision to restrict the ability to monetise information"),
    (
        "no_action_notice",
        "Complaint regarding a decision not to take action on a notice submitted in accordance "
        "with Article 16",
    ),
    (
        "no_action_trusted",
        "Complaint regarding a decision not to take action on a notice submitted by a Trusted "
        "Flagger in accordance with Article 16",
    ),
)
ODS = "Out-of-court dispute settlement bodies"
ODS_INDICATOR = "Number of disputes submitted to out-of-court dispute settlement bodies"
SUSPENSIONS = "Suspensions imposed on repeated offenders"
SUSPENSION_INDICATORS = (
    (
        "illegal_content",
        "Number of suspensions enacted for the provision of manifestly illegal content",
    ),
    (
        "unfounded_notices",
        "Number of suspensions enacted for the provision of manifestly unfounded notices",
    ),
    (
        "unfounded_complaints",
        "Number of suspensions enacted for the provision of manifestly unfounded complaints",
    ),
)
AUTOMATED = "Use of automated means for content moderation"
ACCURACY = (
    "Accuracy of the automated means - Accuracy",
    "Accuracy of the automated means - Precision",
    "Accuracy of the automated means - Recall",
)
HUMAN_RESOURCES = "Human resources dedicated to content moderation"
AMAR_INDICATOR = "Number of average monthly active recipients during the reporting period"

# Section 11 (the qualitative template): (applicability, indicator)
QUALITATIVE: tuple[tuple[str, str], ...] = (
    (ALL, "Summary of the content moderation engaged in at the providers’ own initiative"),
    (
        ALL,
        "Meaningful and comprehensible information regarding content moderation engaged in at "
        "the providers' own initiative",
    ),
    (ALL, "Qualitative description of the automated means"),
    (
        ALL,
        "Qualitative description of indicators of accuracy and possible rate of error of "
        "automated means",
    ),
    (ALL, "Specification of the precise purposes to apply automated means"),
    (ALL, "Safeguards applied to the use of automated means"),
    (VLOPS, "High-level description of the content moderation governance structure"),
    (VLOPS, "Qualifications of the human resources dedicated to content moderation"),
    (VLOPS, "Training given to human resources dedicated to content moderation"),
    (VLOPS, "Support given to human resources dedicated to content moderation"),
    (
        VLOPS,
        "Methodology used to compute the number of human resources dedicated to content moderation",
    ),
    (ALL, "Information about Article 9 and 10 orders from Member States’ authorities"),
    (ALL, "Information about notices received through the notice and action mechanism"),
    (
        ALL,
        "Information about complaints received through the internal complaint handling systems "
        "(i.e. appeals)",
    ),
    (PLATFORMS, "Information about complaints received through out-of-court dispute settlements"),
    (PLATFORMS, "Information about Article 23 suspensions imposed to protect against misuse"),
    (ALL, "Other information"),
)


# --- the facts, as plain rows -----------------------------------------------------------------------


@dataclass(frozen=True)
class OrderFacts:
    category: str  # hostguard case category
    member_state: str
    items: int
    received_at: datetime
    acknowledged_at: datetime | None
    effect_at: datetime | None


@dataclass(frozen=True)
class NoticeFacts:
    category: str
    trusted: bool
    items: int
    received_at: datetime
    first_decided_at: datetime | None  # the first final decision on any of its models


@dataclass(frozen=True)
class MeasureFacts:
    """A decision that restricted something (take down, restrict, suspend, report)."""

    action: str
    ground: str
    category: str
    source: str  # the case's source
    restrict_mode: str | None
    legal_hold: bool
    after_complaint: bool  # taken after an appeal overturned a decision not to act


@dataclass(frozen=True)
class ComplaintFacts:
    appealed_action: str  # the action of the decision appealed
    appellant: str  # uploader | notifier
    notice_source: str | None  # notice | trusted_flagger, for a notifier's appeal
    filed_at: datetime
    decided_at: datetime | None
    outcome: str | None  # upheld | overturned


@dataclass(frozen=True)
class EuTemplateFacts:
    since: datetime
    until: datetime
    orders: list[OrderFacts] = field(default_factory=list)
    notices: list[NoticeFacts] = field(default_factory=list)
    measures: list[MeasureFacts] = field(default_factory=list)
    complaints: list[ComplaintFacts] = field(default_factory=list)
    suspensions: list[str] = field(default_factory=list)  # one Sanction.reason per suspension


# --- arithmetic -------------------------------------------------------------------------------------


def _hours(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


def _median(values: Iterable[float]) -> str:
    values = list(values)
    return _num(round(statistics.median(values), 2)) if values else ""


def _num(value: float | int) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def reporting_period(since: datetime, until: datetime) -> tuple[str, str]:
    """First and last day of [since, until), as the template writes them (YYYY-MM-DD)."""
    return since.date().isoformat(), (until - timedelta(microseconds=1)).date().isoformat()


class CategoryMap:
    """hostguard's case categories to the template's rows, through the policy's Transparency
    Database mapping (`tdb_category`, `keywords`). A category counts in its keyword's row only when
    it names exactly one keyword of that category; otherwise only in the category's row."""

    def __init__(self, policy: Policy):
        known = {c: {k for k, _ in kws} for c, _, kws in CATEGORY_TABLE}
        self.rows: dict[str, tuple[str, ...]] = {}
        for cat in policy.categories.values():
            rows: tuple[str, ...] = (cat.tdb_category,)
            if len(cat.keywords) == 1 and cat.keywords[0] in known.get(cat.tdb_category, ()):
                rows += (f"{cat.tdb_category}/{cat.keywords[0]}",)
            self.rows[cat.id] = rows
        self.mapped = {row for rows in self.rows.values() for row in rows}

    def __call__(self, category: str) -> tuple[str, ...]:
        """Row keys an item of this hostguard category counts in, TOTAL first."""
        return ("TOTAL", *self.rows.get(category, ()))


def _category_rows(
    categories: Sequence[tuple[str, str, tuple[tuple[str, str], ...]]],
    not_specified: tuple[str, str] | None,
) -> Iterator[tuple[str, str, str]]:
    """(row key, template code, description) for TOTAL, each category, its keywords and OTHER."""
    yield "TOTAL", "TOTAL", "All the entries"
    for code, description, keywords in categories:
        yield code, code, description
        for keyword, text in keywords:
            yield f"{code}/{keyword}", keyword, text
        yield f"{code}/{OTHER_KEYWORD}", OTHER_KEYWORD, OTHER_KEYWORD_DESCRIPTION
    if not_specified:
        yield not_specified[0], not_specified[0], not_specified[1]


def _counted(key: str, mapped: set[str]) -> bool:
    """Whether hostguard's figures reach this row (else the row stays empty, never zero)."""
    return key == "TOTAL" or key in mapped


# --- the sections -----------------------------------------------------------------------------------


@dataclass
class EuTemplate:
    """The template's files: name (without extension) -> rows, header first."""

    sections: dict[str, list[list[str]]]
    qualitative_document: str

    def csv_files(self) -> dict[str, str]:
        """File name -> CSV text (RFC 4180, UTF-8, CRLF line ends as the RFC says)."""
        files = {}
        for name, rows in self.sections.items():
            out = io.StringIO()
            csv.writer(out, lineterminator="\r\n").writerows(rows)
            files[f"{name}.csv"] = out.getvalue()
        return files

    def files(self) -> dict[str, str]:
        return {**self.csv_files(), "11_qualitative.md": self.qualitative_document}


def build_eu_template(
    facts: EuTemplateFacts,
    *,
    policy: Policy,
    service: str = "",
    provider: str = "",
) -> EuTemplate:
    """Every section of the template for the facts of one reporting period."""
    first, last = reporting_period(facts.since, facts.until)
    period = f"{first}/{last}"
    cmap = CategoryMap(policy)
    sections = {
        "1_report_identification": _identification(service, provider, first, last),
        "2_categories_names": _categories_names(policy),
        "3_member_states_orders": _orders(facts, cmap, service, period),
        "4_notices": _notices(facts, cmap, service, period),
        "5_own_initiative_illegal": _own_initiative(
            facts, cmap, service, period, ground=Ground.ILLEGAL_CONTENT
        ),
        "6_own_initiative_TC": _own_initiative(
            facts, cmap, service, period, ground=Ground.TERMS_OF_SERVICE
        ),
        "7_appeals_and_recidivism": _appeals(facts, service, period),
        "8_automated_means": _automated(facts, service, period),
        "9_human_resources": _human_resources(service, period),
        "10_AMAR": _amar(service, period),
        "11_qualitative": [
            list(SECTION_COLUMNS["11_qualitative"]),
            *([a, service, period, indicator, ""] for a, indicator in QUALITATIVE),
        ],
    }
    return EuTemplate(sections, qualitative_document(sections, service=service, period=period))


def _identification(service: str, provider: str, first: str, last: str) -> list[list[str]]:
    return [
        list(SECTION_COLUMNS["1_report_identification"]),
        [ALL, service, "Name of the service provider", provider],
        [ALL, service, "Date of the publication of the report", ""],
        [ALL, service, "Date of the publication of the latest previous report", ""],
        [ALL, service, "Starting date of reporting period", first],
        [ALL, service, "Ending date of reporting period", last],
    ]


def _categories_names(policy: Policy) -> list[list[str]]:
    cmap = CategoryMap(policy)
    ours: dict[str, list[str]] = defaultdict(list)
    for cat in policy.categories.values():
        for key in cmap.rows[cat.id]:
            ours[key].append(f"{cat.id} ({cat.label})")
    rows = [list(SECTION_COLUMNS["2_categories_names"])]
    rows.append(
        [
            "TOTAL",
            "All the entries",
            "TOTAL",
            "Rows with figures are those hostguard's policy maps to.",
        ]
    )
    number = 0
    for code, description, keywords in CATEGORY_TABLE:
        number += 1
        rows.append([f"Category {number}", description, code, _ours(ours.get(code))])
        subs = [*keywords, (OTHER_KEYWORD, OTHER_KEYWORD_DESCRIPTION)]
        for letter, (keyword, text) in zip("abcdefghijklmnopqrstuvwxyz", subs, strict=False):
            rows.append(
                [
                    f"Category {number}{letter}",
                    text,
                    keyword,
                    _ours(ours.get(f"{code}/{keyword}")),
                ]
            )
    for code, description in (NOT_SPECIFIED_ORDER, NOT_SPECIFIED_NOTICE):
        number += 1
        rows.append([f"Category {number}", description, code, ""])
    return rows


def _ours(names: list[str] | None) -> str:
    return f"hostguard categories: {', '.join(sorted(names))}" if names else ""


def _orders(facts: EuTemplateFacts, cmap: CategoryMap, service: str, period: str):
    rows = [list(SECTION_COLUMNS["3_member_states_orders"])]
    by_row: dict[tuple[str, str], list[OrderFacts]] = defaultdict(list)
    for order in facts.orders:
        state = "GR" if order.member_state.upper() == "EL" else order.member_state.upper()
        for key in cmap(order.category):
            by_row[(key, "TOTAL")].append(order)
            if state in MEMBER_STATES:
                by_row[(key, state)].append(order)
    context = [""] * len(ORDER_CONTEXT)
    for scope in ("TOTAL", *MEMBER_STATES):
        for key, code, _ in _category_rows(ILLEGAL_CATEGORIES, NOT_SPECIFIED_ORDER):
            figures = [""] * len(ORDER_FIGURES)
            if _counted(key, cmap.mapped):
                orders = by_row.get((key, scope), [])
                figures[0] = str(len(orders))
                figures[1] = str(sum(o.items for o in orders))
                figures[2] = _median(
                    _hours(o.received_at, o.acknowledged_at) for o in orders if o.acknowledged_at
                )
                figures[3] = _median(
                    _hours(o.received_at, o.effect_at) for o in orders if o.effect_at
                )
            row_context = context
            if key == "TOTAL" and scope == "TOTAL":
                row_context = ["", "", "hours", "hours", "", "", ""]
            rows.append([ALL, service, period, code, "", scope, *figures, *row_context])
    return rows


def _notices(facts: EuTemplateFacts, cmap: CategoryMap, service: str, period: str):
    rows = [list(SECTION_COLUMNS["4_notices"])]
    notices: dict[str, list[NoticeFacts]] = defaultdict(list)
    for n in facts.notices:
        for key in cmap(n.category):
            notices[key].append(n)
    actions: dict[str, list[MeasureFacts]] = defaultdict(list)
    for m in facts.measures:
        if m.source in NOTICE_SOURCES:
            for key in cmap(m.category):
                actions[key].append(m)
    for key, code, _ in _category_rows(ILLEGAL_CATEGORIES, NOT_SPECIFIED_NOTICE):
        figures = [""] * len(NOTICE_FIGURES)
        if _counted(key, cmap.mapped):
            got, acts = notices.get(key, []), actions.get(key, [])
            trusted = [n for n in got if n.trusted]
            law = [m for m in acts if m.ground == Ground.ILLEGAL_CONTENT]
            terms = [m for m in acts if m.ground == Ground.TERMS_OF_SERVICE]
            figures = [
                str(len(got)),
                str(len(trusted)),
                str(sum(n.items for n in got)),
                str(sum(n.items for n in trusted)),
                _median(
                    _hours(n.received_at, n.first_decided_at) for n in got if n.first_decided_at
                ),
                _median(
                    _hours(n.received_at, n.first_decided_at) for n in trusted if n.first_decided_at
                ),
                str(len(law)),
                str(sum(1 for m in law if m.source == "trusted_flagger")),
                str(len(terms)),
                str(sum(1 for m in terms if m.source == "trusted_flagger")),
            ]
        context = [""] * len(NOTICE_CONTEXT)
        if key == "TOTAL":
            context[4] = context[5] = "hours, from the notice to the first decision on it"
        rows.append([HOSTING, service, period, code, "", *figures, *context])
    return rows


def measure_columns(m: MeasureFacts) -> set[str]:
    """The template's type-of-restriction columns a measure fills, as its statement of reasons
    describes it to the Transparency Database (`build_tdb_statement`)."""
    if m.action == DecisionAction.RESTRICT:
        if m.restrict_mode == RestrictMode.LABEL:
            return {"Visibility restriction Labelled"}
        return {"Visibility restriction Other"}
    disabled = m.legal_hold or m.action == DecisionAction.REPORT
    columns = {"Visibility restriction Disable" if disabled else "Visibility restriction Removal"}
    if m.action == DecisionAction.SUSPEND_UPLOADER:
        columns.add("Account restriction Suspension")
    return columns


def _own_initiative(
    facts: EuTemplateFacts, cmap: CategoryMap, service: str, period: str, *, ground: str
):
    name = "5_own_initiative_illegal" if ground == Ground.ILLEGAL_CONTENT else "6_own_initiative_TC"
    table = CATEGORY_TABLE if ground == Ground.TERMS_OF_SERVICE else ILLEGAL_CATEGORIES
    rows = [list(SECTION_COLUMNS[name])]
    measures: dict[str, list[MeasureFacts]] = defaultdict(list)
    for m in facts.measures:
        if m.source in OWN_INITIATIVE_SOURCES and m.ground == ground:
            for key in cmap(m.category):
                measures[key].append(m)
    for key, code, _ in _category_rows(table, None):
        figures = [""] * len(MEASURE_FIGURES)
        if _counted(key, cmap.mapped):
            got = measures.get(key, [])
            figures = [
                str(len(got)),
                str(sum(1 for m in got if m.source in AUTOMATED_SOURCES)),
                *(
                    str(sum(1 for m in got if column in measure_columns(m)))
                    for column in MEASURE_FIGURES[2:]
                ),
            ]
        rows.append([ALL, service, period, code, "", *figures, *([""] * len(MEASURE_CONTEXT))])
    return rows


def complaint_group(c: ComplaintFacts) -> str:
    """Which of the template's complaint rows an appeal counts in (besides the total)."""
    if c.appellant == "notifier":
        if c.appealed_action != DecisionAction.NO_ACTION:
            return ""  # wants a stronger measure: no row of its own, counted in the total
        return "no_action_trusted" if c.notice_source == "trusted_flagger" else "no_action_notice"
    if c.appealed_action == DecisionAction.SUSPEND_UPLOADER:
        return "account"
    return "remove_visibility"


def _outcomes(complaints: list[ComplaintFacts]) -> dict[str, str]:
    decided = [c for c in complaints if c.decided_at is not None]
    return {
        "Total number": str(len(complaints)),
        "Decisions upheld": str(sum(1 for c in decided if c.outcome == "upheld")),
        "Decisions partially reversed": "0",  # an appeal is upheld or overturned, never in part
        "Decisions reversed": str(sum(1 for c in decided if c.outcome == "overturned")),
        "Median time": _median(
            _hours(c.filed_at, c.decided_at) for c in decided if c.decided_at is not None
        ),
        "Decision omitted": "0",  # every appeal is decided; none is withdrawn or left undecided
    }


def _appeals(facts: EuTemplateFacts, service: str, period: str) -> list[list[str]]:
    rows = [list(SECTION_COLUMNS["7_appeals_and_recidivism"])]

    def row(applicability, section, indicator, scope, value, context=""):
        rows.append([applicability, service, period, section, indicator, scope, value, context])

    total = _outcomes(facts.complaints)
    first = "Number of complaints submitted to the internal-complaints mechanism"
    row(ALL, COMPLAINTS, first, "Total number", total["Total number"])
    for scope in (*OUTCOMES, "Decision omitted"):
        row(
            PLATFORMS,
            COMPLAINTS,
            first,
            scope,
            total[scope],
            "hours" if scope == "Median time" else "",
        )
    newly = sum(1 for m in facts.measures if m.after_complaint)
    row(
        PLATFORMS,
        COMPLAINTS,
        "Number of restrictions newly imposed as a result of an internal complaint",
        "Total number",
        str(newly),
    )
    groups: dict[str, list[ComplaintFacts]] = defaultdict(list)
    for c in facts.complaints:
        groups[complaint_group(c)].append(c)
    for group, indicator in COMPLAINT_GROUPS:
        figures = _outcomes(groups.get(group, []))
        for scope in ("Total number", *OUTCOMES):
            row(PLATFORMS, COMPLAINTS, indicator, scope, figures[scope])
    for scope in (
        "Total number",
        *OUTCOMES,
        "Decision omitted",
        "Percentage of outcomes implemented",
    ):
        row(PLATFORMS, ODS, ODS_INDICATOR, scope, "")  # the operator's: bodies report to them
    for reason, indicator in SUSPENSION_INDICATORS:
        row(
            PLATFORMS,
            SUSPENSIONS,
            indicator,
            "Total number",
            str(sum(1 for s in facts.suspensions if s == reason)),
        )
    return rows


def _automated(facts: EuTemplateFacts, service: str, period: str) -> list[list[str]]:
    rows = [list(SECTION_COLUMNS["8_automated_means"])]

    def row(applicability, indicator, scope, value, context=""):
        rows.append([applicability, service, period, AUTOMATED, indicator, scope, value, context])

    # Every hostguard decision is taken by a person (automated detection only opens the case).
    own = [m for m in facts.measures if m.source in OWN_INITIATIVE_SOURCES]
    for scope, measures in (("Total number", facts.measures), ("Own-initiative", own)):
        row(ALL, "Number of measures solely taken by automated means", scope, "0")
        row(ALL, "Number of measures not taken by automated means", scope, str(len(measures)))
        for indicator in ACCURACY:
            row(ALL, indicator, scope, "")
    processed = [n for n in facts.notices if n.first_decided_at is not None]
    for applicability, scope, notices in (
        (HOSTING, "NAM Total", processed),
        (PLATFORMS, "NAM Trusted Flagger", [n for n in processed if n.trusted]),
    ):
        row(applicability, "Number of notices solely processed by automated means", scope, "0")
        row(
            applicability,
            "Number of notices not processed by automated means",
            scope,
            str(len(notices)),
        )
        for indicator in ACCURACY:
            row(applicability, indicator, scope, "")
    for indicator in (
        "Number of measures solely taken by automated means",
        "Number of measures not taken by automated means",
        *ACCURACY,
    ):
        for language in LANGUAGES:
            row(VLOPS, indicator, language, "")
    return rows


def _human_resources(service: str, period: str) -> list[list[str]]:
    rows = [list(SECTION_COLUMNS["9_human_resources"])]
    expertise = "Number of total moderators with sufficient linguistic expertise"
    for indicator, scope in (
        ("Number of internal moderators employed by the provider", "Total number"),
        ("Number of external moderators contracted by the provider", "Total number"),
        (expertise, "Total number"),
        *((expertise, language) for language in LANGUAGES),
        (expertise, "Agnostic"),
    ):
        rows.append([VLOPS, service, period, HUMAN_RESOURCES, indicator, scope, "", ""])
    return rows


def _amar(service: str, period: str) -> list[list[str]]:
    rows = [list(SECTION_COLUMNS["10_AMAR"])]
    for scope in ("TOTAL", *MEMBER_STATES):
        rows.append([VLOPS_VLOSES, service, period, "AMAR", AMAR_INDICATOR, scope, ""])
    return rows


OPERATOR_INDICATORS = frozenset(
    {
        "Name of the service provider",
        "Date of the publication of the report",
        "Date of the publication of the latest previous report",
        ODS_INDICATOR,
        *ACCURACY,
    }
)


def cells_for_the_operator(sections: dict[str, list[list[str]]]) -> list[tuple[str, str, str]]:
    """(file, indicator, scope) of the cells of sections 1, 7 and 8 that hostguard cannot know and
    leaves empty (the VLOP-only rows per language aside)."""
    left = []
    for name in ("1_report_identification", "7_appeals_and_recidivism", "8_automated_means"):
        header, *body = sections[name]
        value, indicator = header.index("Value"), header.index("Indicator")
        scope = header.index("Scope") if "Scope" in header else None
        for r in body:
            if r[value] == "" and r[indicator] in OPERATOR_INDICATORS and r[0] != VLOPS:
                left.append((f"{name}.csv", r[indicator], r[scope] if scope is not None else ""))
    return left


def qualitative_document(sections: dict[str, list[list[str]]], *, service: str, period: str) -> str:
    """The qualitative template (section 11) as a document the operator completes, with the list
    of quantitative cells hostguard could not fill."""
    lines = [
        f"# Transparency report: qualitative template — {service or '(service)'}, {period}",
        "",
        "Annex I, Part II, point 2 of Implementing Regulation (EU) 2024/2835 (section "
        "`11_qualitative`). Write each answer under its heading (at most 5 000 characters), then "
        "copy it into the `Value` column of `11_qualitative.csv`. Rows marked *Only for …* apply "
        "only to those providers.",
        "",
    ]
    for applicability, indicator in QUALITATIVE:
        lines += [f"## {indicator}", "", f"*{applicability}*", "", "_To be completed._", ""]
    lines += [
        "## Cells of the quantitative template left for you",
        "",
        "hostguard has no record of these; enter them, or leave them empty where they do not "
        "apply to your service (see the operators' guide, *Transparency reports*):",
        "",
    ]
    lines += [
        f"- `{file}`: {indicator}{f' — {scope}' if scope else ''}"
        for file, indicator, scope in cells_for_the_operator(sections)
    ]
    lines += [
        "- `3_member_states_orders.csv`: the orders to provide information (Art. 10) columns",
        "- `9_human_resources.csv` and `10_AMAR.csv`: every value (very large online platforms "
        "and search engines)",
        "- the contextual-information columns, where a figure needs explaining",
        "",
    ]
    return "\n".join(lines)


# --- reading the case records -----------------------------------------------------------------------


def eu_template_facts(session: Session, *, since: datetime, until: datetime) -> EuTemplateFacts:
    """Orders, notices and appeals received, decisions and suspensions taken in [since, until)."""
    orders = [
        OrderFacts(
            o.category,
            o.member_state or "",
            len(o.items or []),
            o.received_at,
            o.acknowledged_at,
            o.effect_at,
        )
        for o in session.exec(
            select(AuthorityOrder).where(
                AuthorityOrder.received_at >= since, AuthorityOrder.received_at < until
            )
        )
    ]
    notices = list(
        session.exec(select(Notice).where(Notice.received_at >= since, Notice.received_at < until))
    )
    first_decision: dict[int, datetime] = {}
    if notices:
        for notice_id, decided_at in session.exec(
            select(NoticeItem.notice_id, Decision.decided_at)
            .join(Decision, col(Decision.case_id) == NoticeItem.case_id)
            .where(
                col(NoticeItem.notice_id).in_([n.id for n in notices]),
                Decision.action != DecisionAction.ESCALATE,
            )
        ):
            if notice_id not in first_decision or decided_at < first_decision[notice_id]:
                first_decision[notice_id] = decided_at
    notice_facts = []
    for n in notices:
        assert n.id is not None  # read from the database
        decided = first_decision.get(n.id)
        notice_facts.append(
            NoticeFacts(
                n.category,
                n.source == "trusted_flagger",
                len(n.items or []),
                n.received_at,
                decided if decided is not None and decided >= n.received_at else None,
            )
        )
    # decisions not to act that an appeal overturned: a restriction after one is "newly imposed
    # as a result of an internal complaint"
    overturned_no_action: dict[int, datetime] = {}
    for case_id, reversed_at in session.exec(
        select(Decision.case_id, Decision.reversed_at).where(
            Decision.action == DecisionAction.NO_ACTION, col(Decision.reversed_at).is_not(None)
        )
    ):
        if reversed_at is not None:
            overturned_no_action[case_id] = min(
                reversed_at, overturned_no_action.get(case_id, reversed_at)
            )
    measures = []
    for d, case in session.exec(
        select(Decision, Case)
        .join(Case, col(Case.id) == Decision.case_id)
        .where(
            Decision.decided_at >= since,
            Decision.decided_at < until,
            col(Decision.action).in_([str(a) for a in ACTING]),
        )
    ):
        after = overturned_no_action.get(d.case_id)
        measures.append(
            MeasureFacts(
                d.action,
                d.ground,
                d.category,
                case.source,
                d.restrict_mode,
                case.legal_hold_until is not None,
                after is not None and after <= d.decided_at,
            )
        )
    complaints = []
    for appeal, decision, notice in session.exec(
        select(Appeal, Decision, Notice)
        .join(Decision, col(Decision.id) == Appeal.decision_id)
        .outerjoin(Notice, col(Notice.id) == Appeal.notice_id)
        .where(Appeal.filed_at >= since, Appeal.filed_at < until)
    ):
        complaints.append(
            ComplaintFacts(
                decision.action,
                appeal.appellant,
                notice.source if notice is not None and appeal.appellant == "notifier" else None,
                appeal.filed_at,
                appeal.decided_at,
                appeal.outcome,
            )
        )
    suspensions = [
        s.reason
        for s in session.exec(
            select(Sanction).where(
                Sanction.action == "suspend", Sanction.at >= since, Sanction.at < until
            )
        )
    ]
    return EuTemplateFacts(since, until, orders, notice_facts, measures, complaints, suspensions)
