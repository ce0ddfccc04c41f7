"""Statements of reasons (DSA Art. 17) as plain text for the affected uploader."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from hostguard.cases.measures import DecisionAction, Ground, measure_for, restrict_description

SOURCE_WORDING = {
    "notice": "following a notice submitted under Article 16 of the Digital Services Act",
    "trusted_flagger": "following a notice from a trusted flagger (Article 22 of the Digital Services Act)",
    "order": "following an order from a competent authority (Article 9 of the Digital Services Act)",
    "hash_match": "on our own initiative, after sample images or videos matched a hash list of known illegal material",
    "retroactive_match": "on our own initiative, after sample images or videos matched a newly imported hash list",
    "upload_check": "on our own initiative, after the model failed our upload checks",
    "own_initiative": "on our own initiative",
}

REDRESS = (
    "Internal complaint: you can appeal this decision{until}{where}. A different, senior "
    "moderator who did not take this decision will review it, and we will reverse it without "
    "undue delay if it was wrong.\n"
    "- Out-of-court dispute settlement: you can refer the dispute to a certified out-of-court "
    "dispute settlement body (Article 21 of the Digital Services Act).\n"
    "- Court: you can take the matter to a court under the law of your Member State."
)


@dataclass(frozen=True)
class ReasonsFacts:
    case_id: int
    repo_id: str
    action: str
    ground: str
    ground_reference: str
    explanation: str
    category_label: str
    source: str
    decided_at: datetime
    facts: str = ""
    restrict_mode: str | None = None
    automated_detection: bool = False
    automated_decision: bool = False
    territorial_scope: tuple[str, ...] | None = None  # None: worldwide
    end_date: date | None = None  # None: indefinite
    appeal_until: datetime | None = None
    appeal_url: str | None = None
    ground_reference_url: str | None = None
    authority: str | None = None
    # the decision's strike suspended the uploader's account automatically (Art. 23) until then
    account_suspended_until: date | None = None


def redress_text(*, appeal_until: datetime | None, appeal_url: str | None) -> str:
    until = f" until {appeal_until:%d %B %Y}" if appeal_until else ""
    where = f" at {appeal_url}" if appeal_url else ""
    return "- " + REDRESS.format(until=until, where=where)


def measure_text(action: str, restrict_mode: str | None) -> str:
    if DecisionAction(action) == DecisionAction.RESTRICT:
        return restrict_description(restrict_mode)
    return measure_for(action).description


def statement_of_reasons_text(f: ReasonsFacts) -> str:
    """Everything Art. 17(3) asks for, in the order it lists them."""
    scope = ", ".join(f.territorial_scope) if f.territorial_scope else "worldwide"
    duration = f"until {f.end_date:%d %B %Y}" if f.end_date else "indefinite, until reviewed"
    origin = SOURCE_WORDING.get(f.source, "on our own initiative")
    if f.source == "order" and f.authority:
        origin += f" ({f.authority})"
    detection = (
        "Automated means were used to detect the content"
        if f.automated_detection
        else "The content was not detected by automated means"
    )
    decision = (
        "the decision was taken with the help of automated means"
        if f.automated_decision
        else "the decision was taken by a person, not by automated means"
    )
    if f.ground == Ground.ILLEGAL_CONTENT:
        ground = (
            f"The content is illegal. Legal ground relied on: {f.ground_reference}.\n"
            f"Why the content is illegal on that ground: {f.explanation}"
        )
    else:
        ground = (
            f"The content is incompatible with our terms of service. Clause relied on: "
            f"{f.ground_reference}.\nWhy the content breaches that clause: {f.explanation}"
        )
    if f.ground_reference_url:
        ground += f"\nReference: {f.ground_reference_url}"
    measure = measure_text(f.action, f.restrict_mode)
    if f.account_suspended_until:
        measure += (
            f"\nYour account is also suspended until {f.account_suspended_until:%d %B %Y}: this "
            "decision is a further strike for manifestly illegal content after a warning, and "
            "repeated manifestly illegal content leads to a suspension for a reasonable period "
            "(Article 23(1) of the Digital Services Act). The suspension follows automatically "
            "from that rule; appealing this decision contests it too."
        )
        decision += "; the suspension of the account followed automatically from the decision"
    facts = (
        f.facts.strip()
        or f"The model was reviewed in case {f.case_id} (category: {f.category_label})."
    )
    return (
        f"Statement of reasons: decision on the model {f.repo_id}\n"
        f"Decided on {f.decided_at:%d %B %Y %H:%M} UTC, case {f.case_id}.\n\n"
        f"1. The measure\n{measure}\n"
        f"Territorial scope: {scope}. Duration: {duration}.\n\n"
        f"2. Facts and circumstances\n{facts}\n"
        f"We acted {origin}. Category: {f.category_label}.\n\n"
        f"3. Automated means\n{detection}; {decision}.\n\n"
        f"4. Ground for the decision\n{ground}\n\n"
        f"5. Redress\n{redress_text(appeal_until=f.appeal_until, appeal_url=f.appeal_url)}\n"
    )
