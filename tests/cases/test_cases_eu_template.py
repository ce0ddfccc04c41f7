"""`hostguard report transparency --format eu-template`: the harmonised templates of Commission
Implementing Regulation (EU) 2024/2835, generated for a seeded quarter and counted by hand.

The field list below is written from the regulation's Annex I quantitative template as the
Commission publishes it (a workbook or zip with one table per section, `1_report_identification`
… `11_qualitative`): the column labels, the rows of sections 7 to 10 and the categories and
sub-categories of section 2 (`2_categories_names`), read from the blank template as providers
republish it (the krMaynard/dsa-transparency-data collection of published reports:
`harmonised-reports/extracted/alibabacloud/02_categories_names.csv`, `…/10_AMAR.csv`, and Google
Colab's report `…/colab/01_…` to `11_qualitative.csv`). Trailing spaces the template has in some
labels are dropped. It is kept here, apart from hostguard/cases/eu_template.py, so a change to the
module's labels that the template does not have fails this test.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from hostguard.cases.appeals import file_appeal
from hostguard.cases.intake import open_case
from hostguard.cases.orders import OrderInput, acknowledge_order, receive_order
from hostguard.workflows.decisions import decide_appeal

# --- the field list (Annex I, Part II, point 1: the quantitative template) ---------------------------

SECTIONS = [
    "1_report_identification",
    "2_categories_names",
    "3_member_states_orders",
    "4_notices",
    "5_own_initiative_illegal",
    "6_own_initiative_TC",
    "7_appeals_and_recidivism",
    "8_automated_means",
    "9_human_resources",
    "10_AMAR",
    "11_qualitative",
]
FRONT = ["Applicability", "Service", "Reporting period"]
OTHER = 'Description of the sub-category "Other"'
ORDERS = [
    "Number of orders to act against illegal content received",
    "Number of specific items of information included in the total number of orders to act against illegal content",
    "Median time to inform the authority of the receipt of the order to act against illegal content",
    "Median time to give effect to the order to act against illegal content",
    "Number of orders to provide information",
    "Median time to inform the authority of the receipt of the order to provide information",
    "Median time to give effect to the order to provide information",
]
ORDERS_CONTEXT = [
    "Contextual information on number of orders to act against illegal content received",
    "Contextual information on number of specific items of information included in the total number of orders to act against illegal content",
    "Contextual information on Median time to inform the authority of the receipt of the order to act against illegal content",
    "Contextual information on Median time to give effect to the order to act against illegal content",
    "Contextual information on Number of orders to provide information",
    "Contextual information on Median time to inform the authority of the receipt of the order to provide information",
    "Contextual information on Median time to give effect to the order to provide information",
]
NOTICES = [
    "Number of notices received",
    "Number of notices received from Trusted flaggers",
    "Number of specific items of information included in the total number of notices",
    "Number of specific items of information included in the total number of notices by Trusted Flaggers (Trusted Flagger notices)",
    "Median time to take action",
    "Median time to take action (Trusted Flagger notices)",
    "Number of actions taken on the basis of the law",
    "Number of actions taken on the basis of the law (Trusted Flagger notices)",
    "Number of actions taken on the basis of the terms and conditions of the service",
    "Number of actions taken on the basis of the terms and conditions of the service (Trusted Flagger notices)",
]
MEASURES = [
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
]
ROWS_HEADER = [*FRONT, "Section", "Indicator", "Scope", "Value"]
HEADERS = {
    "1_report_identification": ["Applicability", "Service", "Indicator", "Value"],
    "2_categories_names": [
        "Category label",
        "Category description",
        "Category of illegal content / incompatible with the terms and conditions",
        "Contextual information",
    ],
    "3_member_states_orders": [
        *FRONT,
        "Category of illegal content",
        OTHER,
        "Scope",
        *ORDERS,
        *ORDERS_CONTEXT,
    ],
    "4_notices": [
        *FRONT,
        "Category of illegal content",
        OTHER,
        *NOTICES,
        *("Contextual information on " + n for n in NOTICES),
    ],
    "5_own_initiative_illegal": [
        *FRONT,
        "Category of illegal content",
        OTHER,
        *MEASURES,
        *("Contextual Information on " + m for m in MEASURES),
    ],
    "6_own_initiative_TC": [
        *FRONT,
        "Category of incompatibility with the provider's terms and conditions",
        OTHER,
        *MEASURES,
        *("Contextual Information on " + m for m in MEASURES),
    ],
    "7_appeals_and_recidivism": [*ROWS_HEADER, "Contextual Information"],
    "8_automated_means": [*ROWS_HEADER, "Contextual Information"],
    "9_human_resources": [*ROWS_HEADER, "Contextual information"],
    "10_AMAR": ROWS_HEADER,
    "11_qualitative": [*FRONT, "Indicator", "Value"],
}
# Section 2: the categories (and their sub-categories; each also ends with KEYWORD_OTHER)
CATEGORIES = {
    "STATEMENT_CATEGORY_ANIMAL_WELFARE": ["KEYWORD_ANIMAL_HARM", "KEYWORD_UNLAWFUL_SALE_ANIMALS"],
    "STATEMENT_CATEGORY_CONSUMER_INFORMATION": [
        "KEYWORD_HIDDEN_ADVERTISEMENT",
        "KEYWORD_INSUFFICIENT_INFORMATION_ON_TRADERS",
        "KEYWORD_MISLEADING_INFO_GOODS_SERVICES",
        "KEYWORD_MISLEADING_INFO_CONSUMER_RIGHTS",
        "KEYWORD_NONCOMPLIANCE_PRICING",
    ],
    "STATEMENT_CATEGORY_CYBER_VIOLENCE": [
        "KEYWORD_CYBER_BULLYING_INTIMIDATION",
        "KEYWORD_CYBER_HARASSMENT",
        "KEYWORD_CYBER_INCITEMENT",
        "KEYWORD_CYBER_STALKING",
        "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING",
        "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE",
    ],
    "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN": [
        "KEYWORD_BULLYING_AGAINST_GIRLS",
        "KEYWORD_CYBER_HARASSMENT_AGAINST_WOMEN",
        "KEYWORD_CYBER_STALKING_AGAINST_WOMEN",
        "KEYWORD_FEMALE_GENDERED_DISINFORMATION",
        "KEYWORD_INCITEMENT_AGAINST_WOMEN",
        "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING_AGAINST_WOMEN",
        "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE_AGAINST_WOMEN",
    ],
    "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS": [
        "KEYWORD_BIOMETRIC_DATA_BREACH",
        "KEYWORD_DATA_FALSIFICATION",
        "KEYWORD_MISSING_PROCESSING_GROUND",
        "KEYWORD_RIGHT_TO_BE_FORGOTTEN",
    ],
    "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH": [
        "KEYWORD_DEFAMATION",
        "KEYWORD_DISCRIMINATION",
        "KEYWORD_HATE_SPEECH",
    ],
    "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS": [
        "KEYWORD_COPYRIGHT_INFRINGEMENT",
        "KEYWORD_DESIGN_INFRINGEMENT",
        "KEYWORD_GEOGRAPHIC_INDICATIONS_INFRINGEMENT",
        "KEYWORD_PATENT_INFRINGEMENT",
        "KEYWORD_TRADE_SECRET_INFRINGEMENT",
        "KEYWORD_TRADEMARK_INFRINGEMENT",
    ],
    "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS": [
        "KEYWORD_MISINFORMATION_DISINFORMATION",
        "KEYWORD_VIOLATION_EU_LAW",
        "KEYWORD_VIOLATION_NATIONAL_LAW",
    ],
    "STATEMENT_CATEGORY_PROTECTION_OF_MINORS": [
        "KEYWORD_AGE_SPECIFIC_RESTRICTIONS_MINORS",
        "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL",
        "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE",
        "KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS",
        "KEYWORD_UNSAFE_CHALLENGES",
    ],
    "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY": [
        "KEYWORD_ILLEGAL_ORGANIZATIONS",
        "KEYWORD_RISK_ENVIRONMENTAL_DAMAGE",
        "KEYWORD_RISK_PUBLIC_HEALTH",
        "KEYWORD_TERRORIST_CONTENT",
    ],
    "STATEMENT_CATEGORY_SCAMS_AND_FRAUD": [
        "KEYWORD_IMPERSONATION_ACCOUNT_HIJACKING",
        "KEYWORD_INAUTHENTIC_ACCOUNTS",
        "KEYWORD_INAUTHENTIC_LISTINGS",
        "KEYWORD_INAUTHENTIC_USER_REVIEWS",
        "KEYWORD_PHISHING",
        "KEYWORD_PYRAMID_SCHEMES",
    ],
    "STATEMENT_CATEGORY_SELF_HARM": [
        "KEYWORD_CONTENT_PROMOTING_EATING_DISORDERS",
        "KEYWORD_SELF_MUTILATION",
        "KEYWORD_SUICIDE",
    ],
    "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS": [
        "KEYWORD_PROHIBITED_PRODUCTS",
        "KEYWORD_UNSAFE_PRODUCTS",
    ],
    "STATEMENT_CATEGORY_VIOLENCE": [
        "KEYWORD_COORDINATED_HARM",
        "KEYWORD_INCITEMENT_VIOLENCE_HATRED",
        "KEYWORD_HUMAN_EXPLOITATION",
        "KEYWORD_HUMAN_TRAFFICKING",
        "KEYWORD_TRAFFICKING_WOMEN_GIRLS",
    ],
    "STATEMENT_CATEGORY_OTHER_VIOLATION_TC": [
        "KEYWORD_ADULT_SEXUAL_MATERIAL",
        "KEYWORD_AGE_SPECIFIC_RESTRICTIONS",
        "KEYWORD_GEOGRAPHICAL_REQUIREMENTS",
        "KEYWORD_GOODS_SERVICES_NOT_PERMITTED",
        "KEYWORD_LANGUAGE_REQUIREMENTS",
        "KEYWORD_NUDITY",
    ],
}
TC = "STATEMENT_CATEGORY_OTHER_VIOLATION_TC"
MEMBER_STATES = "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE"
LANGUAGES = "bg hr cs da nl en et fi fr de el hu ga it lv lt mt pl pt ro sk sl es sv"
COMPLAINT_ROWS = [
    "Complaint regarding a decision to remove or disable access to or restrict visibility of information",
    "Complaint regarding a decision to suspend or terminate the provision of the service",
    "Complaint regarding a decision to suspend or terminate an account",
    "Complaint regarding a decision to restrict the ability to monetise information",
    "Complaint regarding a decision not to take action on a notice submitted in accordance with Article 16",
    "Complaint regarding a decision not to take action on a notice submitted by a Trusted Flagger in accordance with Article 16",
]
OUTCOMES = ["Decisions upheld", "Decisions partially reversed", "Decisions reversed", "Median time"]
ACCURACY = [
    "Accuracy of the automated means - Accuracy",
    "Accuracy of the automated means - Precision",
    "Accuracy of the automated means - Recall",
]
QUALITATIVE = [
    "Summary of the content moderation engaged in at the providers’ own initiative",
    "Meaningful and comprehensible information regarding content moderation engaged in at the providers' own initiative",
    "Qualitative description of the automated means",
    "Qualitative description of indicators of accuracy and possible rate of error of automated means",
    "Specification of the precise purposes to apply automated means",
    "Safeguards applied to the use of automated means",
    "High-level description of the content moderation governance structure",
    "Qualifications of the human resources dedicated to content moderation",
    "Training given to human resources dedicated to content moderation",
    "Support given to human resources dedicated to content moderation",
    "Methodology used to compute the number of human resources dedicated to content moderation",
    "Information about Article 9 and 10 orders from Member States’ authorities",
    "Information about notices received through the notice and action mechanism",
    "Information about complaints received through the internal complaint handling systems (i.e. appeals)",
    "Information about complaints received through out-of-court dispute settlements",
    "Information about Article 23 suspensions imposed to protect against misuse",
    "Other information",
]


def category_codes(tc: bool, not_specified: str | None) -> list[str]:
    codes = ["TOTAL"]
    for category, keywords in CATEGORIES.items():
        if category == TC and not tc:
            continue
        codes += [category, *keywords, "KEYWORD_OTHER"]
    return codes + ([not_specified] if not_specified else [])


def expected_indicator_rows(section: str) -> list[tuple[str, str, str]]:
    """(Section, Indicator, Scope) of sections 7 to 10, in the template's order."""
    if section == "7_appeals_and_recidivism":
        first = "Number of complaints submitted to the internal-complaints mechanism"
        cm, ods = "Internal complaints mechanism", "Out-of-court dispute settlement bodies"
        rows = [(cm, first, s) for s in ["Total number", *OUTCOMES, "Decision omitted"]]
        rows.append(
            (
                cm,
                "Number of restrictions newly imposed as a result of an internal complaint",
                "Total number",
            )
        )
        rows += [(cm, c, s) for c in COMPLAINT_ROWS for s in ["Total number", *OUTCOMES]]
        odi = "Number of disputes submitted to out-of-court dispute settlement bodies"
        rows += [
            (ods, odi, s)
            for s in [
                "Total number",
                *OUTCOMES,
                "Decision omitted",
                "Percentage of outcomes implemented",
            ]
        ]
        sus = "Suspensions imposed on repeated offenders"
        rows += [
            (
                sus,
                f"Number of suspensions enacted for the provision of manifestly {what}",
                "Total number",
            )
            for what in ("illegal content", "unfounded notices", "unfounded complaints")
        ]
        return rows
    if section == "8_automated_means":
        am = "Use of automated means for content moderation"
        rows = []
        for scope in ("Total number", "Own-initiative"):
            rows += [
                (am, "Number of measures solely taken by automated means", scope),
                (am, "Number of measures not taken by automated means", scope),
                *((am, a, scope) for a in ACCURACY),
            ]
        for scope in ("NAM Total", "NAM Trusted Flagger"):
            rows += [
                (am, "Number of notices solely processed by automated means", scope),
                (am, "Number of notices not processed by automated means", scope),
                *((am, a, scope) for a in ACCURACY),
            ]
        for indicator in (
            "Number of measures solely taken by automated means",
            "Number of measures not taken by automated means",
            *ACCURACY,
        ):
            rows += [(am, indicator, lang) for lang in LANGUAGES.split()]
        return rows
    if section == "9_human_resources":
        hr = "Human resources dedicated to content moderation"
        lx = "Number of total moderators with sufficient linguistic expertise"
        return [
            (hr, "Number of internal moderators employed by the provider", "Total number"),
            (hr, "Number of external moderators contracted by the provider", "Total number"),
            (hr, lx, "Total number"),
            *((hr, lx, lang) for lang in LANGUAGES.split()),
            (hr, lx, "Agnostic"),
        ]
    assert section == "10_AMAR"
    amar = "Number of average monthly active recipients during the reporting period"
    return [("AMAR", amar, s) for s in ["TOTAL", *MEMBER_STATES.split()]]


# --- the seeded quarter -----------------------------------------------------------------------------

WORKFLOW_MODULES = ("intake", "orders", "claims", "decisions", "appeals", "misuse", "queue")


@pytest.fixture
def quarter(monkeypatch):
    """clock(hours) sets the workflow's clock to T0 + hours; T0 is midnight 30 days ago, the first
    day of the quarter reported (suspensions are stamped with the real clock, inside it too)."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    t0 = today - timedelta(days=30)
    now = {"at": t0}
    for module in WORKFLOW_MODULES:
        monkeypatch.setattr(f"hostguard.cases.{module}.utcnow", lambda: now["at"])

    def clock(hours: float):
        now["at"] = t0 + timedelta(hours=hours)
        return now["at"]

    clock.since = t0  # type: ignore[attr-defined]
    clock.until = t0 + timedelta(days=91)  # type: ignore[attr-defined]
    return clock


def read(out, name: str) -> list[list[str]]:
    with (out / f"{name}.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def by_category(rows: list[list[str]], *, scope_col: int | None = None) -> dict:
    """{(scope, category, keyword or ''): row as dict} for sections 3 to 6."""
    header, *body = rows
    table, parent = {}, ""
    for r in body:
        code = r[3]
        if code.startswith("STATEMENT_CATEGORY_") or code == "TOTAL":
            parent, key = code, (code, "")
        else:
            key = (parent, code)
        scope = r[scope_col] if scope_col is not None else "TOTAL"
        table[(scope, *key)] = dict(zip(header, r, strict=True))
    return table


def test_eu_template_for_a_seeded_quarter_matches_the_field_list_and_a_hand_count(
    db, runtime, cli, quarter, people, notice, decided, owned_repo, tmp_path
):
    mod, senior = people("moderator"), people("senior_moderator")
    policy = runtime.policy

    def order(reference, member_state, category, items):
        o, cases = receive_order(
            policy=policy,
            session=db,
            runtime=runtime,
            actor="apikey:7",
            data=OrderInput(
                authority="Authority",
                member_state=member_state,
                reference=reference,
                legal_basis="DSA Art. 9",
                category=category,
                items=items,
            ),
        )
        db.commit()
        return o, cases

    def detected(repo_id, uploader, category, source="hash_match"):
        repo, _ = owned_repo(repo_id=repo_id, platform_id=f"u-{uploader}", username=uploader)
        case = open_case(
            session=db,
            repo=repo,
            source=source,
            category=category,
            actor="system",
            kind=source,
            automated=source == "hash_match",
            policy=policy,
        )
        db.commit()
        return case

    def appeal(case, hours, appellant="uploader", notice_id=None):
        quarter(hours)
        a = file_appeal(
            policy=policy,
            session=db,
            case_id=case.id,
            appellant=appellant,
            notice_id=notice_id,
            reason="Wrong.",
            actor="x",
        )
        db.commit()
        return a

    def appeal_decided(a, hours, outcome):
        quarter(hours)
        decide_appeal(
            session=db,
            runtime=runtime,
            appeal_id=a.id,
            user=senior,
            actor=senior.actor,
            outcome=outcome,
            explanation="Reviewed.",
        )
        db.commit()

    def decide_at(hours, case, **decision):
        quarter(hours)
        # child sexual abuse cases are for senior moderators (moderation.restricted_categories)
        restricted = policy.case_category(case.category) in policy.moderation.restricted_categories
        return decided(case, senior if restricted else mod, **decision)

    illegal = dict(ground="illegal_content", ground_reference="Law §1", explanation="Illegal.")
    terms = dict(ground="terms_of_service", ground_reference="Terms §3", explanation="Terms.")

    # before the quarter: a notice that must not be counted
    quarter(-24)
    notice(items=["pub/zero"], client="198.51.100.99", email="early@example.org")

    # orders (section 3)
    quarter(0)
    ord1, (o1,) = order("O-1", "DE", "terrorism", ["ord/one"])
    quarter(1)
    _, (o2,) = order("O-2", "FR", "terrorism", ["ord/two"])
    quarter(2)
    o3, _ = order("O-3", "DE", "hate", ["ord/three", "ord/four"])
    # O-1 acknowledged at 2 h
    acknowledge_order(session=db, order_id=ord1.id, actor="user:legal")
    db.commit()
    # notices (section 4)
    quarter(3)
    n1, (n1_case,) = notice(items=["pub/one"], client="198.51.100.1", email="a@example.org")
    quarter(4)
    n2, (n2a, n2b) = notice(
        items=["pub/two", "pub/three"], client="198.51.100.2", email="b@example.org"
    )
    decide_at(5, o1, action="take_down", category="terrorism", **illegal)
    quarter(6)
    acknowledge_order(session=db, order_id=o3.id, actor="user:legal")
    db.commit()
    quarter(7)
    _, (n3_case,) = notice(
        items=["tf/one"],
        category="child_sexual_abuse",
        source="trusted_flagger",
        organisation="Hotline",
        email="tf@example.org",
    )
    quarter(8)
    _, (n4_case,) = notice(
        items=["tf/two"],
        category="intellectual_property",
        source="trusted_flagger",
        organisation="Rights",
        email="tf2@example.org",
    )
    decide_at(9, o2, action="take_down", category="terrorism", **illegal)
    decide_at(10, n1_case, action="take_down", category="hate", **illegal)
    decide_at(11, n2a, action="no_action", category="hate", **terms)
    decide_at(12, n2b, action="restrict", restrict_mode="gate", category="hate", **terms)
    decide_at(13, n3_case, action="report", category="child_sexual_abuse", **illegal)
    quarter(14)
    notice(items=["pub/four"], category="privacy", client="198.51.100.5", email="c@example.org")
    decide_at(15, n4_case, action="take_down", category="intellectual_property", **illegal)
    for i in range(6):  # six manifestly unfounded notices: the notifier is suspended
        quarter(16 + i)
        _, (u_case,) = notice(
            items=[f"noise/m{i}"], email="noisy@example.org", client=f"203.0.113.{i}"
        )
        decide_at(
            16.5 + i, u_case, action="no_action", category="hate", notices_unfounded=True, **terms
        )
    # own initiative (sections 5 and 6): hash matches and a moderator's own finding
    quarter(22)
    h1 = detected("h1/model", "h1", "child_sexual_abuse")
    decide_at(23, h1, action="report", category="child_sexual_abuse", **illegal)
    quarter(24)
    h2 = detected("h2/model", "h2", "non_consensual_intimate_imagery")
    decide_at(25, h2, action="take_down", category="non_consensual_intimate_imagery", **illegal)
    quarter(26)
    h3 = detected("h3/model", "h3", "other")
    decide_at(27, h3, action="restrict", restrict_mode="label", category="other", **terms)
    quarter(28)
    oi = detected("h4/model", "h4", "terrorism", source="own_initiative")
    decide_at(29, oi, action="suspend_uploader", category="terrorism", **illegal)
    quarter(30)
    h5 = detected("h5/model", "h5", "hate")
    decide_at(31, h5, action="no_action", category="hate", **terms)
    # appeals (section 7)
    a1 = appeal(o1, 32)
    a2 = appeal(h3, 33)
    appeal(oi, 34)
    a4 = appeal(n2a, 35, appellant="notifier", notice_id=n2.id)
    appeal_decided(a2, 37, "upheld")
    appeal_decided(a4, 38, "overturned")
    decide_at(39, n2a, action="take_down", category="hate", **terms)
    appeal_decided(a1, 40, "overturned")

    out = tmp_path / "report"
    since, until = quarter.since, quarter.until
    result = cli(
        "report",
        "transparency",
        "--format",
        "eu-template",
        "--since",
        since.date().isoformat(),
        "--until",
        until.date().isoformat(),
        "--out",
        str(out),
        "--service",
        "Model Hub",
        "--provider",
        "Hub Ltd",
    )
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{s}.csv" for s in SECTIONS] + ["11_qualitative.md"]
    )
    period = f"{since.date()}/{(until - timedelta(days=1)).date()}"

    # --- the field list ---
    sections = {name: read(out, name) for name in SECTIONS}
    for name, rows in sections.items():
        assert rows[0] == HEADERS[name], name
        assert all(len(r) == len(rows[0]) for r in rows), name
        if name not in ("1_report_identification", "2_categories_names"):
            assert {r[1] for r in rows[1:]} == {"Model Hub"}, name
            assert {r[2] for r in rows[1:]} == {period}, name
    assert [r[2] for r in sections["1_report_identification"][1:]] == [
        "Name of the service provider",
        "Date of the publication of the report",
        "Date of the publication of the latest previous report",
        "Starting date of reporting period",
        "Ending date of reporting period",
    ]
    cat_rows = sections["2_categories_names"][1:]
    assert [r[2] for r in cat_rows] == category_codes(True, None) + [
        "STATEMENT_CATEGORY_NOT_SPECIFIED_ORDER",
        "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE",
    ]
    assert cat_rows[1][:3] == ["Category 1", "Animal welfare", "STATEMENT_CATEGORY_ANIMAL_WELFARE"]
    assert cat_rows[3][:3] == [
        "Category 1b",
        "Unlawful sale of animals",
        "KEYWORD_UNLAWFUL_SALE_ANIMALS",
    ]
    assert cat_rows[-1][:2] == [
        "Category 17",
        "Type of alleged illegal content not specified by the notifier",
    ]
    orders_rows = sections["3_member_states_orders"][1:]
    per_scope = category_codes(False, "STATEMENT_CATEGORY_NOT_SPECIFIED_ORDER")
    assert [r[3] for r in orders_rows] == per_scope * 28
    assert [r[5] for r in orders_rows[:: len(per_scope)]] == ["TOTAL", *MEMBER_STATES.split()]
    assert [r[3] for r in sections["4_notices"][1:]] == category_codes(
        False, "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE"
    )
    assert [r[3] for r in sections["5_own_initiative_illegal"][1:]] == category_codes(False, None)
    assert [r[3] for r in sections["6_own_initiative_TC"][1:]] == category_codes(True, None)
    for name in ("7_appeals_and_recidivism", "8_automated_means", "9_human_resources", "10_AMAR"):
        assert [tuple(r[3:6]) for r in sections[name][1:]] == expected_indicator_rows(name), name
    assert [r[3] for r in sections["11_qualitative"][1:]] == QUALITATIVE

    # --- the hand count ---
    ident = {r[2]: r[3] for r in sections["1_report_identification"][1:]}
    assert ident == {
        "Name of the service provider": "Hub Ltd",
        "Date of the publication of the report": "",
        "Date of the publication of the latest previous report": "",
        "Starting date of reporting period": since.date().isoformat(),
        "Ending date of reporting period": (until - timedelta(days=1)).date().isoformat(),
    }
    assert cat_rows[[r[2] for r in cat_rows].index("KEYWORD_HATE_SPEECH")][3] == (
        "hostguard categories: hate (Illegal hate speech)"
    )

    # Section 3. Orders: O-1 terrorism DE 1 item (acknowledged 2 h, effect 5 h); O-2 terrorism
    # FR 1 item (acknowledged and effect by the decision at 8 h); O-3 hate DE 2 items
    # (acknowledged 4 h, no effect yet).
    s3 = by_category(sections["3_member_states_orders"], scope_col=5)
    rps = "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"
    speech = "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH"

    def orders(scope, cat, kw=""):
        r = s3[(scope, cat, kw)]
        return [r[c] for c in ORDERS]

    assert orders("TOTAL", "TOTAL") == ["3", "4", "4", "6.5", "", "", ""]
    assert orders("TOTAL", rps) == ["2", "2", "5", "6.5", "", "", ""]
    assert orders("TOTAL", rps, "KEYWORD_TERRORIST_CONTENT") == ["2", "2", "5", "6.5", "", "", ""]
    assert orders("TOTAL", speech) == ["1", "2", "4", "", "", "", ""]
    assert orders("TOTAL", speech, "KEYWORD_HATE_SPEECH") == ["1", "2", "4", "", "", "", ""]
    assert orders("TOTAL", "STATEMENT_CATEGORY_PROTECTION_OF_MINORS") == [
        "0",
        "0",
        "",
        "",
        "",
        "",
        "",
    ]
    # a category and sub-categories no hostguard category maps to stay empty, never 0
    assert orders("TOTAL", "STATEMENT_CATEGORY_ANIMAL_WELFARE") == [""] * 7
    assert orders("TOTAL", rps, "KEYWORD_ILLEGAL_ORGANIZATIONS") == [""] * 7
    assert orders("TOTAL", "STATEMENT_CATEGORY_NOT_SPECIFIED_ORDER", "") == [""] * 7
    assert orders("DE", "TOTAL") == ["2", "3", "3", "5", "", "", ""]
    assert orders("DE", rps) == ["1", "1", "2", "5", "", "", ""]
    assert orders("FR", "TOTAL") == ["1", "1", "8", "8", "", "", ""]
    assert orders("AT", "TOTAL") == ["0", "0", "", "", "", "", ""]

    # Section 4. Notices in the quarter: N1 hate (1 item, first decision after 7 h), N2 hate
    # (2 items, 7 h), N3 trusted flagger CSAM (1 item, 6 h), N4 trusted flagger IP (1 item, 7 h),
    # N5 privacy (1 item, open), six unfounded hate notices (1 item each, 0.5 h). Actions on
    # notices: law N1, N3 (TF), N4 (TF); terms N2's restriction and N2's take-down after appeal.
    s4 = by_category(sections["4_notices"])

    def notices(cat, kw=""):
        r = s4[("TOTAL", cat, kw)]
        return [r[c] for c in NOTICES]

    # times to a first decision: 0.5 h six times, 6, 7, 7, 7 -> median 0.5; trusted: 6, 7 -> 6.5
    assert notices("TOTAL") == ["11", "2", "12", "2", "0.5", "6.5", "3", "2", "2", "0"]
    assert notices(speech) == ["8", "0", "9", "0", "0.5", "", "1", "0", "2", "0"]
    assert notices(speech, "KEYWORD_HATE_SPEECH") == notices(speech)
    minors = "STATEMENT_CATEGORY_PROTECTION_OF_MINORS"
    assert notices(minors) == ["1", "1", "1", "1", "6", "6", "1", "1", "0", "0"]
    # CSAM names two sub-categories: no sub-category row can be counted without guessing
    assert notices(minors, "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL") == [""] * 10
    ip = "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS"
    assert notices(ip) == ["1", "1", "1", "1", "7", "7", "1", "1", "0", "0"]
    privacy = "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS"
    assert notices(privacy) == ["1", "0", "1", "0", "", "", "0", "0", "0", "0"]
    assert notices("STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE") == [""] * 10

    # Section 5. Own-initiative, illegal: H1 CSAM hash match reported (disabled), H2 NCII hash
    # match taken down (removed), the terrorism finding: removed and the uploader suspended.
    s5 = by_category(sections["5_own_initiative_illegal"])

    def measures(table, cat, kw=""):
        r = table[("TOTAL", cat, kw)]
        return {c: r[c] for c in MEASURES if r[c] not in ("0", "")}, {r[c] for c in MEASURES}

    assert measures(s5, "TOTAL") == (
        {
            MEASURES[0]: "3",
            MEASURES[1]: "2",
            "Visibility restriction Removal": "2",
            "Visibility restriction Disable": "1",
            "Account restriction Suspension": "1",
        },
        {"0", "1", "2", "3"},
    )
    assert measures(s5, minors)[0] == {
        MEASURES[0]: "1",
        MEASURES[1]: "1",
        "Visibility restriction Disable": "1",
    }
    cyber = "STATEMENT_CATEGORY_CYBER_VIOLENCE"
    assert measures(s5, cyber, "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE")[0] == {
        MEASURES[0]: "1",
        MEASURES[1]: "1",
        "Visibility restriction Removal": "1",
    }
    assert measures(s5, rps, "KEYWORD_TERRORIST_CONTENT")[0] == {
        MEASURES[0]: "1",
        "Visibility restriction Removal": "1",
        "Account restriction Suspension": "1",
    }
    assert measures(s5, speech) == ({}, {"0"})  # the hate hash match was left as it was
    # Section 6. Own-initiative, terms: H3 labelled.
    s6 = by_category(sections["6_own_initiative_TC"])
    labelled = {MEASURES[0]: "1", MEASURES[1]: "1", "Visibility restriction Labelled": "1"}
    assert measures(s6, "TOTAL")[0] == labelled
    assert measures(s6, TC)[0] == labelled

    # Section 7. Appeals: A1 O-1's take-down, overturned after 8 h; A2 H3's label, upheld after
    # 4 h; A3 the suspension, open; A4 the notifier of N2 against "no action", overturned after
    # 3 h, and N2's model then taken down. Suspensions: the terrorism uploader, the notifier.
    s7 = {tuple(r[4:6]): r[6] for r in sections["7_appeals_and_recidivism"][1:]}
    first = "Number of complaints submitted to the internal-complaints mechanism"
    assert [s7[(first, s)] for s in ["Total number", *OUTCOMES, "Decision omitted"]] == [
        "4",
        "1",
        "0",
        "2",
        "4",
        "0",
    ]
    assert (
        s7[
            (
                "Number of restrictions newly imposed as a result of an internal complaint",
                "Total number",
            )
        ]
        == "1"
    )
    expected = {
        COMPLAINT_ROWS[0]: ["2", "1", "0", "1", "6"],
        COMPLAINT_ROWS[1]: ["0", "0", "0", "0", ""],
        COMPLAINT_ROWS[2]: ["1", "0", "0", "0", ""],
        COMPLAINT_ROWS[3]: ["0", "0", "0", "0", ""],
        COMPLAINT_ROWS[4]: ["1", "0", "0", "1", "3"],
        COMPLAINT_ROWS[5]: ["0", "0", "0", "0", ""],
    }
    for indicator, values in expected.items():
        assert [s7[(indicator, s)] for s in ["Total number", *OUTCOMES]] == values, indicator
    # out-of-court disputes: the operator's to enter, empty, never 0
    ods = "Number of disputes submitted to out-of-court dispute settlement bodies"
    assert {v for (i, _), v in s7.items() if i == ods} == {""}
    suspensions = "Number of suspensions enacted for the provision of manifestly"
    assert [
        s7[(f"{suspensions} {w}", "Total number")]
        for w in ("illegal content", "unfounded notices", "unfounded complaints")
    ] == ["1", "1", "0"]

    # Section 8. Every measure was a person's decision: 11 measures (2 orders, 5 on notices,
    # 4 own-initiative), 10 notices decided (2 from trusted flaggers).
    s8 = {tuple(r[4:6]): r[6] for r in sections["8_automated_means"][1:]}
    assert s8[("Number of measures solely taken by automated means", "Total number")] == "0"
    assert s8[("Number of measures not taken by automated means", "Total number")] == "11"
    assert s8[("Number of measures not taken by automated means", "Own-initiative")] == "4"
    assert s8[("Number of notices not processed by automated means", "NAM Total")] == "10"
    assert s8[("Number of notices not processed by automated means", "NAM Trusted Flagger")] == "2"
    assert {s8[(a, "Total number")] for a in ACCURACY} == {""}
    # sections 9 and 10 (human resources, active recipients): all the operator's
    for name in ("9_human_resources", "10_AMAR"):
        assert {r[6] for r in sections[name][1:]} == {""}, name

    # the qualitative document: every indicator as a heading, and the cells left to fill
    doc = (out / "11_qualitative.md").read_text(encoding="utf-8")
    assert all(f"## {q}\n" in doc for q in QUALITATIVE)
    assert f"`7_appeals_and_recidivism.csv`: {ods} — Total number" in doc
    assert "`1_report_identification.csv`: Date of the publication of the report" in doc
    assert "Name of the service provider" not in doc.split("left for you")[1]  # given: Hub Ltd

    # the JSON report of the same quarter still works, and agrees on what both count
    plain = cli(
        "report",
        "transparency",
        "--since",
        since.date().isoformat(),
        "--until",
        until.date().isoformat(),
    )
    assert plain.exit_code == 0 and '"total": 11' in plain.output


def test_eu_template_bad_input_says_what_is_wrong_in_one_line(runtime, cli, tmp_path):
    out = tmp_path / "out"
    late_first = cli(
        "report",
        "transparency",
        "--format",
        "eu-template",
        "--since",
        "2026-04-01",
        "--until",
        "2026-01-01",
        "--out",
        str(out),
    )
    assert late_first.exit_code == 2
    assert late_first.stderr.strip().splitlines() == ["hostguard: --until must be after --since"]
    assert not out.exists()

    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    unwritable = cli(
        "report",
        "transparency",
        "--format",
        "eu-template",
        "--since",
        "2026-01-01",
        "--until",
        "2026-04-01",
        "--out",
        str(blocker / "report"),
    )
    assert unwritable.exit_code == 2
    (line,) = unwritable.stderr.strip().splitlines()
    assert line.startswith(f"hostguard: cannot write to {blocker / 'report'}: ")

    no_out = cli("report", "transparency", "--format", "eu-template", "--since", "2026-01-01")
    assert no_out.exit_code == 2
    assert no_out.stderr.strip().splitlines() == [
        "hostguard: --format eu-template needs --out DIR, the directory to write the files to"
    ]
    stray = cli("report", "transparency", "--out", str(out))
    assert stray.exit_code == 2 and len(stray.stderr.strip().splitlines()) == 1


def test_eu_template_files_are_rfc4180_utf8(runtime, cli, tmp_path):
    """An empty quarter: every file is written, CRLF line ends, UTF-8, totals 0 not empty."""
    out = tmp_path / "empty"
    result = cli(
        "report",
        "transparency",
        "--format",
        "eu-template",
        "--since",
        "2026-01-01",
        "--until",
        "2026-04-01",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.stderr
    raw = (out / "4_notices.csv").read_bytes()
    assert raw.endswith(b"\r\n") and b"\n" not in raw.replace(b"\r\n", b"")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8"))))
    assert rows[1][3] == "TOTAL" and rows[1][5] == "0"
    assert rows[1][2] == "2026-01-01/2026-03-31"
    # the qualitative template carries the Commission's typographic apostrophe as it is
    assert "’" in (out / "11_qualitative.csv").read_text(encoding="utf-8")
