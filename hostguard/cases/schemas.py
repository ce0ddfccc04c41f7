"""Request bodies and JSON shapes of the case API (no Flask here: the web layer uses these)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, TypedDict

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool
from pydantic.json_schema import JsonDict, SkipJsonSchema
from sqlmodel import Session, col, select

from hostguard.cases.claims import linked_case_ids
from hostguard.cases.models import (
    Appeal,
    AuthorityOrder,
    Case,
    CaseEvidence,
    CaseNote,
    CaseSource,
    CaseStatus,
    Decision,
    Notice,
    NoticeItem,
    SavedFilter,
    StatementOfReasons,
)
from hostguard.cases.priority import is_overdue
from hostguard.cases.queue import ASSIGNED, SORTS, STATUS_FILTERS
from hostguard.db.types import utcnow
from hostguard.platform.models import ModelRepo, Uploader
from hostguard.platform.service import REPO_ID_PATTERN

MAX_ID = 2**63 - 1  # the largest id a BIGINT (and SQLite's INTEGER) holds
# text that must say something once trimmed (str.strip): one character that is not white space
# to Python. JSON Schema's `\s` (ECMA) and pydantic's (Rust) leave out \x1c-\x1f and \x85 that
# Python strips, so the class names them; `pattern` searches in both, as the checks do.
NOT_SPACE = r"[^\s\x1c-\x1f\x85]"
NOT_BLANK = NOT_SPACE
# For a field the domain check refuses when blank with its own clear message (missing_reason,
# empty_note, ...): the model puts the rule in the document and leaves refusing to the check.
SAYS_SOMETHING: JsonDict = {"pattern": NOT_BLANK}


def trimmed_at_least(chars: int) -> str:
    """A pattern for text at least `chars` long once trimmed (from the first to the last
    character that is not white space)."""
    return NOT_SPACE if chars <= 1 else f"{NOT_SPACE}[\\s\\S]{{{chars - 2},}}{NOT_SPACE}"


# a field naming one of the policy's categories: the document lists them (openapi.py fills
# `enum` from the running policy, the same list the check uses)
POLICY_CATEGORY: JsonDict = {"x-policy-enum": "categories"}
# ... or one of its aliases (a hash list's category name, such as `csam`)
POLICY_CATEGORY_OR_ALIAS: JsonDict = {"x-policy-enum": "categories_or_aliases"}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# the e-mail check (cases.intake.EMAIL_RE once trimmed; blank is no address) as the document
# states it, with Python's white space spelt out as in NOT_SPACE
_WS = r"[\s\x1c-\x1f\x85]"
_NOT_WS_OR_AT = r"[^@\s\x1c-\x1f\x85]"
EMAIL_PATTERN = (
    f"^{_WS}*(?:{_NOT_WS_OR_AT}{{1,64}}@{_NOT_WS_OR_AT}+\\.{_NOT_WS_OR_AT}{{2,}})?{_WS}*$"
)


class NotifierBody(_Body):
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(
        default=None,
        max_length=320,
        # the check answers invalid_email with its own message; the document states the rule
        json_schema_extra={"pattern": EMAIL_PATTERN},
    )


def _good_faith_required(schema: dict) -> None:
    # the check refuses a notice without it (missing_good_faith, with its own message), so the
    # document marks it required and true while the model leaves that to the check
    schema.setdefault("required", []).append("good_faith")


class NoticeBody(_Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_good_faith_required)

    items: list[str] = Field(
        description="model ids (owner/name) or URLs to them on the platform's hosts "
        "(the notice_hosts setting; the schema's pattern shows the owner/name form only)",
        max_length=100,
        # at least one (the check answers no_items)
        json_schema_extra={"minItems": 1, "items": {"type": "string", "pattern": REPO_ID_PATTERN}},
    )
    category: str = Field(json_schema_extra=POLICY_CATEGORY)
    explanation: str = Field(
        max_length=100_000,
        # notices.min_explanation_chars to .max_explanation_chars of the policy (openapi.py)
        json_schema_extra={"x-policy-explanation": True},
    )
    notifier: NotifierBody | None = None
    good_faith: bool = Field(
        default=False,
        description="true: the notifier believes in good faith that the notice is accurate and "
        "complete (Art. 16(2)(d) DSA); required",
        json_schema_extra={"const": True},
    )
    language: str | None = Field(
        default=None,
        description="ISO 639-1 code of the notice's language (two letters, such as de)",
        # the check answers invalid_language with its own message; the document states it
        json_schema_extra={"pattern": "^[A-Za-z]{2}$", "maxLength": 2},
    )


class NextCaseBody(_Body):
    """Which cases "next case" picks from (every field optional: the whole queue)."""

    queue: str | None = Field(default=None, max_length=64)
    category: str | None = Field(default=None, max_length=64)
    source: str | None = Field(default=None, max_length=32)
    overdue: bool = False


class NoticeCreated(BaseModel):
    notice_id: int
    case_ids: list[int]


class OrderBody(_Body):
    authority: str = Field(max_length=300, json_schema_extra=SAYS_SOMETHING)
    member_state: str = Field(default="", max_length=8)
    reference: str = Field(max_length=200, json_schema_extra=SAYS_SOMETHING)
    legal_basis: str = Field(max_length=2000, json_schema_extra=SAYS_SOMETHING)
    category: str = Field(json_schema_extra=POLICY_CATEGORY_OR_ALIAS)
    explanation: str = Field(default="", max_length=10000)
    items: list[str] = Field(max_length=100)
    territorial_scope: list[str] = Field(default_factory=list)
    deadline: datetime | None = None
    feedback_to: str | None = Field(
        default=None, max_length=320, description="who receives feedback"
    )


class DecisionBody(_Body):
    action: (
        Literal["no_action", "restrict", "take_down", "suspend_uploader", "escalate", "report"]
        | None
    ) = Field(default=None, description="required unless a template gives it")
    ground: Literal["illegal_content", "terms_of_service"] | None = None
    ground_reference: str | None = Field(default=None, max_length=500)
    category: str | None = None
    explanation: str | None = Field(default=None, max_length=2000)
    restrict_mode: Literal["gate", "label"] | None = None
    escalate_to: Literal["senior", "legal"] | None = None
    territorial_scope: list[str] | None = None
    end_date: AwareDatetime | None = Field(
        default=None, description="with a time zone; in the future"
    )
    notices_unfounded: bool = False
    template: str | None = Field(
        default=None,
        max_length=64,
        description="a decision template of the policy (moderation.decision_templates): its "
        "values fill what the body leaves out",
    )


class BulkBody(_Body):
    action: Literal["assign", "release", "set_priority", "decide", "merge"]
    case_ids: list[int] = Field(min_length=1, max_length=1000)
    user_id: int | None = Field(default=None, le=MAX_ID, description="assign: to whom")
    priority: int | None = Field(
        default=None, ge=-100_000, le=100_000, description="set_priority: the new priority"
    )
    template: str | None = Field(
        default=None, max_length=64, description="decide: the decision template"
    )
    explanation: str | None = Field(
        default=None, max_length=2000, description="decide: instead of the template's"
    )
    reason: str = Field(default="", max_length=500)
    into: int | None = Field(
        default=None, le=MAX_ID, description="merge: the selected case the others merge into"
    )


class SampleReviewBody(_Body):
    """A second reviewer's own decision on a sampled case."""

    action: str = Field(max_length=32)
    ground: str = Field(max_length=32)
    category: str = Field(max_length=64)


# a saved filter's name: says something, on one line (the check: missing_name, invalid_name)
FILTER_NAME: JsonDict = {"pattern": r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f\x85][^\x00-\x1f\x7f]*$"}


def _at_least_one(schema: dict) -> None:
    # the check refuses an empty filter (empty_filter, with its own message)
    schema["minProperties"] = 1


class QueueFilterBody(_Body):
    """The queue's filter, as the parameters of `GET /api/v1/cases` (at least one)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_at_least_one)

    queue: str | SkipJsonSchema[None] = Field(
        default=None, max_length=64, json_schema_extra={"x-policy-enum": "queues"}
    )
    status: str | SkipJsonSchema[None] = Field(
        default=None,
        description="one status; active: open, escalated or appealed; all: any",
        json_schema_extra={"enum": [*(s.value for s in CaseStatus), *STATUS_FILTERS]},
    )
    category: str | SkipJsonSchema[None] = Field(
        default=None, max_length=64, json_schema_extra=POLICY_CATEGORY
    )
    source: str | SkipJsonSchema[None] = Field(
        default=None, json_schema_extra={"enum": [s.value for s in CaseSource]}
    )
    assigned: str | SkipJsonSchema[None] = Field(
        default=None,
        description="me, none (nobody) or a user's id",
        json_schema_extra={"pattern": f"^{ASSIGNED.pattern}$"},
    )
    overdue: StrictBool | SkipJsonSchema[None] = Field(
        default=None, description="true: only cases past their deadline"
    )
    sort: str | SkipJsonSchema[None] = Field(default=None, json_schema_extra={"enum": list(SORTS)})

    def params(self) -> dict[str, str]:
        """The filter as the queue's query parameters (what a saved filter stores)."""
        given = self.model_dump(exclude_none=True)
        if "overdue" in given:
            given["overdue"] = "1" if given["overdue"] else "0"
        return given


class SavedFilterBody(_Body):
    """A filter to save under a name; a name you already use replaces that filter."""

    name: str = Field(max_length=100, json_schema_extra=FILTER_NAME)
    filter: QueueFilterBody


def filter_json(params: dict[str, str]) -> dict[str, str | bool]:
    """A saved filter's parameters as the API shows them (`overdue` true or false)."""
    return {k: v == "1" if k == "overdue" else v for k, v in params.items()}


def saved_filter_json(saved: SavedFilter) -> dict[str, Any]:
    return {
        "id": saved.id,
        "name": saved.name,
        "filter": filter_json(saved.params),
        "created_at": iso(saved.created_at),
    }


class TakeOverBody(_Body):
    reason: str = Field(default="", max_length=500)


class AppealBody(_Body):
    appellant: Literal["uploader", "notifier"]
    reason: str = Field(max_length=5000, json_schema_extra=SAYS_SOMETHING)
    notice_id: int | None = Field(default=None, le=MAX_ID)


class AppealDecisionBody(_Body):
    outcome: Literal["upheld", "overturned"]
    explanation: str = Field(max_length=2000)


class ReassignBody(_Body):
    user_id: int = Field(le=MAX_ID)
    reason: str = Field(default="", max_length=500)


class NoteBody(_Body):
    body: str = Field(max_length=5000, json_schema_extra=SAYS_SOMETHING)


class LinkBody(_Body):
    case_id: int = Field(le=MAX_ID)
    reason: str = Field(default="", max_length=500)


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


class CaseSummary(TypedDict):
    """A case in the queue and in API answers (`case_summary`)."""

    id: int | None
    status: str
    category: str
    source: str
    priority: int
    repo_id: str | None
    opened_at: str | None
    deadline_at: str | None
    overdue: bool
    assigned_to: int | None
    escalated_to: str | None
    decided_at: str | None
    legal_hold_until: str | None
    summary: str
    claimed_at: str | None
    claim_active_at: str | None  # the holder's last activity: the lease runs from here
    queue: str | None  # the named queue the policy routed it to
    merged_into: int | None  # a duplicate merged into this case


def case_summary(case: Case, repo: ModelRepo | None, now: datetime | None = None) -> CaseSummary:
    now = now or utcnow()
    return {
        "id": case.id,
        "status": case.status,
        "category": case.category,
        "source": case.source,
        "priority": case.priority,
        "repo_id": repo.repo_id if repo else None,
        "opened_at": iso(case.opened_at),
        "deadline_at": iso(case.deadline_at),
        "overdue": is_overdue(case.deadline_at, now)
        and case.status in ("open", "escalated", "appealed"),
        "assigned_to": case.assigned_to,
        "escalated_to": case.escalated_to,
        "decided_at": iso(case.decided_at),
        "legal_hold_until": iso(case.legal_hold_until),
        "summary": case.summary,
        "claimed_at": iso(case.claimed_at),
        "claim_active_at": iso(case.claim_active_at or case.claimed_at)
        if case.assigned_to
        else None,
        "queue": case.queue,
        "merged_into": case.merged_into,
    }


def repos_for(session: Session, cases: list[Case]) -> dict[int, ModelRepo]:
    ids = {c.repo_pk for c in cases}
    if not ids:
        return {}
    repos: dict[int, ModelRepo] = {}
    for r in session.exec(select(ModelRepo).where(col(ModelRepo.id).in_(ids))):
        assert r.id is not None  # read from the database
        repos[r.id] = r
    return repos


class DecisionJson(TypedDict):
    id: int | None
    action: str
    ground: str
    ground_reference: str
    category: str
    explanation: str
    restrict_mode: str | None
    escalated_to: str | None
    territorial_scope: list[Any]
    automated: bool
    decided_by: int | None
    decided_at: str | None
    reversed_at: str | None
    reversed_by_appeal_id: int | None


def decision_json(d: Decision) -> DecisionJson:
    return {
        "id": d.id,
        "action": d.action,
        "ground": d.ground,
        "ground_reference": d.ground_reference,
        "category": d.category,
        "explanation": d.explanation,
        "restrict_mode": d.restrict_mode,
        "escalated_to": d.escalated_to,
        "territorial_scope": d.territorial_scope,
        "automated": d.automated,
        "decided_by": d.decided_by,
        "decided_at": iso(d.decided_at),
        "reversed_at": iso(d.reversed_at),
        "reversed_by_appeal_id": d.reversed_by_appeal_id,
    }


class StatementJson(TypedDict):
    id: int | None
    puid: str
    decision_id: int
    text: str
    tdb: dict[str, Any]
    created_at: str | None
    submitted_at: str | None
    submission_state: str  # at the Transparency Database: pending, sending, submitted, failed
    submission_error: str | None
    tdb_uuid: str | None


def statement_json(s: StatementOfReasons) -> StatementJson:
    return {
        "id": s.id,
        "puid": s.puid,
        "decision_id": s.decision_id,
        "text": s.text,
        "tdb": s.tdb,
        "created_at": iso(s.created_at),
        "submitted_at": iso(s.submitted_at),
        "submission_state": s.submission_state,
        "submission_error": s.submission_error,
        "tdb_uuid": s.tdb_uuid,
    }


class AppealJson(TypedDict):
    id: int | None
    case_id: int
    decision_id: int
    appellant: str
    notice_id: int | None
    reason: str
    status: str
    outcome: str | None
    explanation: str | None
    decided_by: int | None
    filed_at: str | None
    decided_at: str | None


def appeal_json(a: Appeal) -> AppealJson:
    return {
        "id": a.id,
        "case_id": a.case_id,
        "decision_id": a.decision_id,
        "appellant": a.appellant,
        "notice_id": a.notice_id,
        "reason": a.reason,
        "status": a.status,
        "outcome": a.outcome,
        "explanation": a.explanation,
        "decided_by": a.decided_by,
        "filed_at": iso(a.filed_at),
        "decided_at": iso(a.decided_at),
    }


class OrderJson(TypedDict):
    id: int | None
    authority: str
    member_state: str
    reference: str
    legal_basis: str
    category: str
    items: list[Any]
    territorial_scope: list[Any]
    deadline_at: str | None
    status: str
    received_at: str | None
    acknowledged_at: str | None
    effect_at: str | None
    feedback: str | None


def order_json(o: AuthorityOrder) -> OrderJson:
    return {
        "id": o.id,
        "authority": o.authority,
        "member_state": o.member_state,
        "reference": o.reference,
        "legal_basis": o.legal_basis,
        "category": o.category,
        "items": o.items,
        "territorial_scope": o.territorial_scope,
        "deadline_at": iso(o.deadline_at),
        "status": o.status,
        "received_at": iso(o.received_at),
        "acknowledged_at": iso(o.acknowledged_at),
        "effect_at": iso(o.effect_at),
        "feedback": o.feedback,
    }


# Evidence details only the legal report package carries: a matched file's own digests. Its
# PDQ hash lies within the threshold of a list entry, so showing it would hint at list contents.
LEGAL_ONLY_DETAILS = frozenset({"file_digests"})


def shown_details(details: dict | None) -> dict[str, Any]:
    """Evidence details case workers may see (everything but LEGAL_ONLY_DETAILS)."""
    return {k: v for k, v in (details or {}).items() if k not in LEGAL_ONLY_DETAILS}


class EvidenceJson(TypedDict):
    id: int | None
    source: str
    kind: str
    ref: str | None
    automated: bool
    details: dict[str, Any]
    at: str | None


def evidence_json(e: CaseEvidence) -> EvidenceJson:
    # match details only (list name, distance...): never image bytes or list contents
    return {
        "id": e.id,
        "source": e.source,
        "kind": e.kind,
        "ref": e.ref,
        "automated": e.automated,
        "details": shown_details(e.details),
        "at": iso(e.at),
    }


class CaseRepoJson(TypedDict):
    repo_id: str
    repo_type: str
    status: str
    visibility: str
    revision: str | None


class CaseUploaderJson(TypedDict):
    platform_id: str
    username: str | None
    status: str
    strikes: int


class CaseNoticeJson(TypedDict):
    """A notice as the case shows it: no contact details of the notifier (personal data)."""

    id: int | None
    source: str
    category: str
    explanation: str
    received_at: str | None
    status: str
    outcome: str | None
    anonymous: bool


class CaseNoteJson(TypedDict):
    id: int | None
    author: str
    body: str
    at: str | None


class CaseDetail(CaseSummary):
    """`case_detail`: the summary with the case's repo, uploader, evidence and history."""

    repo: CaseRepoJson | None
    uploader: CaseUploaderJson | None
    evidence: list[EvidenceJson]
    notices: list[CaseNoticeJson]
    decisions: list[DecisionJson]
    statements_of_reasons: list[StatementJson]
    appeals: list[AppealJson]
    notes: list[CaseNoteJson]
    linked_cases: list[int]


def case_detail(session: Session, case: Case) -> CaseDetail:
    repo = session.get(ModelRepo, case.repo_pk)
    uploader = session.get(Uploader, repo.uploader_id) if repo and repo.uploader_id else None
    notices = session.exec(
        select(Notice)
        .join(NoticeItem, col(NoticeItem.notice_id) == Notice.id)
        .where(NoticeItem.case_id == case.id)
        .order_by(col(Notice.id))
    ).all()
    assert case.id is not None  # a case read from the database
    return {
        **case_summary(case, repo),
        "repo": {
            "repo_id": repo.repo_id,
            "repo_type": repo.repo_type,
            "status": repo.status,
            "visibility": repo.visibility,
            "revision": repo.last_revision,
        }
        if repo
        else None,
        "uploader": {
            "platform_id": uploader.platform_id,
            "username": uploader.username,
            "status": uploader.status,
            "strikes": uploader.strikes,
        }
        if uploader
        else None,
        "evidence": [
            evidence_json(e)
            for e in session.exec(
                select(CaseEvidence)
                .where(CaseEvidence.case_id == case.id)
                .order_by(col(CaseEvidence.id))
            )
        ],
        # notifier contact details are personal data and stay out of the API
        "notices": [
            {
                "id": n.id,
                "source": n.source,
                "category": n.category,
                "explanation": n.explanation,
                "received_at": iso(n.received_at),
                "status": n.status,
                "outcome": n.outcome,
                "anonymous": n.email_enc is None,
            }
            for n in notices
        ],
        "decisions": [
            decision_json(d)
            for d in session.exec(
                select(Decision).where(Decision.case_id == case.id).order_by(col(Decision.id))
            )
        ],
        "statements_of_reasons": [
            statement_json(s)
            for s in session.exec(
                select(StatementOfReasons)
                .where(StatementOfReasons.case_id == case.id)
                .order_by(col(StatementOfReasons.id))
            )
        ],
        "appeals": [
            appeal_json(a)
            for a in session.exec(
                select(Appeal).where(Appeal.case_id == case.id).order_by(col(Appeal.id))
            )
        ],
        "notes": [
            {"id": n.id, "author": n.author, "body": n.body, "at": iso(n.at)}
            for n in session.exec(
                select(CaseNote).where(CaseNote.case_id == case.id).order_by(col(CaseNote.id))
            )
        ],
        "linked_cases": linked_case_ids(session, case.id),
    }
