"""The operator's policy as typed objects: every rule hostguard reads from the policy file.

A policy says which know-your-uploader level each repository visibility needs, which
certification statements must be signed, what a hash-list match does by category, the case
categories, queue deadlines and priorities, the misuse thresholds, the notice limits, appeal
and legal-hold periods, retention periods and how watermark evidence counts. The values that
ship live in `policies/default.yaml` only: these models give no rule a default of their own,
and `hostguard.policy.load` fills what an operator's file leaves out from that file.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Any, Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hostguard.errors import InvalidInput

VISIBILITIES = ("public", "gated", "private")


class KyuLevel(StrEnum):
    NONE = "none"  # nothing asked
    SUBMITTED = "submitted"  # details handed in (pending review is enough)
    VERIFIED = "verified"  # reviewed and approved by legal


class MatchAction(StrEnum):
    """What a hash-list match does to an upload (the policy's `hash_categories` actions)."""

    BLOCK = "block"  # refuse the upload and open a case
    HOLD = "hold"  # keep it back for review and open a case
    RECORD = "record"  # allow, but open a case for a moderator to look at


class ListAction(StrEnum):
    """What a hash list itself asks of its matches (set when the list is imported)."""

    BLOCK = "block"  # every match blocks, whatever the policy's category rule says
    REVIEW = "review"  # a case opens; the policy's category rule decides hold or block


# A list's own action, as the match action it asks for at least.
LIST_ACTION_FLOOR = {ListAction.BLOCK: MatchAction.BLOCK, ListAction.REVIEW: MatchAction.RECORD}
MATCH_ACTION_SEVERITY = {MatchAction.RECORD: 0, MatchAction.HOLD: 1, MatchAction.BLOCK: 2}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StatementField(_Strict):
    """An extra answer a statement asks for, e.g. the watermarking method."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    label: str
    type: Literal["text", "select", "checkbox"] = "text"
    options: list[str] = Field(default_factory=list)
    required: bool = True
    # only asked (and required) when another field has one of these values, e.g. {method: [other]}
    required_if: dict[str, list[str]] = Field(default_factory=dict)
    max_length: int = Field(default=500, ge=1, le=5000)
    # watermark methods that can be checked offline against the sample images
    checks_watermark: bool = False

    @model_validator(mode="after")
    def _options_match_type(self) -> StatementField:
        if self.type == "select" and not self.options:
            raise ValueError("a select field needs options")
        if self.type != "select" and self.options:
            raise ValueError(f"options are only for select fields, not {self.type}")
        return self


class PublicStatement(TypedDict):
    """`Statement.public()`: a statement as an uploader or a platform is shown it."""

    id: str
    version: int
    title: str
    text: str
    fields: list[dict[str, Any]]


class Statement(_Strict):
    """A certification statement shown to the uploader; its text hash goes into the receipt."""

    id: str = Field(pattern=r"^[a-z][a-z0-9-]{0,63}$")
    version: int = Field(ge=1)
    title: str
    text: str = Field(min_length=10)
    fields: list[StatementField] = Field(default_factory=list)
    # asked only of models whose outputs include one of these (text, image, video, audio, 3d,
    # other); empty: of every model. A model whose outputs nobody named is asked every statement.
    outputs: list[Literal["text", "image", "video", "audio", "3d", "other"]] = Field(
        default_factory=list
    )

    @property
    def text_sha256(self) -> str:
        return hashlib.sha256(self.text.strip().encode("utf-8")).hexdigest()

    @model_validator(mode="after")
    def _fields_consistent(self) -> Statement:
        names = [f.name for f in self.fields]
        if len(names) != len(set(names)):
            raise ValueError(f"statement {self.id} names a field twice")
        for f in self.fields:
            for other, values in f.required_if.items():
                target = next((g for g in self.fields if g.name == other), None)
                if target is None:
                    raise ValueError(f"field {f.name}: required_if names unknown field {other}")
                if target.type == "select" and set(values) - set(target.options):
                    raise ValueError(
                        f"field {f.name}: required_if values {sorted(set(values) - set(target.options))} are not options of {other}"
                    )
        return self

    def applies_to(self, outputs: list[str] | None) -> bool:
        """Whether a model with these outputs (None: not known) is asked this statement."""
        return not self.outputs or outputs is None or bool(set(self.outputs) & set(outputs))

    def public(self) -> PublicStatement:
        """What an uploader or a platform is shown: id, version, text and the fields to fill."""
        return {
            "id": self.id,
            "version": self.version,
            "title": self.title,
            "text": self.text.strip(),
            "fields": [f.model_dump(exclude={"checks_watermark"}) for f in self.fields],
        }

    def clean_fields(self, given: dict | None) -> dict[str, Any]:
        """Check the uploader's answers against the field definitions; return only known ones."""
        given = dict(given or {})
        unknown = sorted(set(given) - {f.name for f in self.fields})
        if unknown:
            raise InvalidInput(
                f"statement {self.id} has no field(s) {', '.join(unknown)}", code="invalid_fields"
            )
        cleaned: dict = {}
        for f in self.fields:
            value = given.get(f.name)
            if f.type == "checkbox":
                value = bool(value) if value not in (None, "") else None
            elif value is not None:
                value = str(value).strip()
                if value == "":
                    value = None
            active = all(str(given.get(k, "")).strip() in vals for k, vals in f.required_if.items())
            if not active:
                continue
            if value is None:
                if f.required:
                    raise InvalidInput(
                        f"statement {self.id}: '{f.label}' is required", code="invalid_fields"
                    )
                continue
            if f.type == "select" and value not in f.options:
                raise InvalidInput(
                    f"statement {self.id}: '{f.label}' must be one of {', '.join(f.options)}",
                    code="invalid_fields",
                )
            if isinstance(value, str) and len(value) > f.max_length:
                raise InvalidInput(
                    f"statement {self.id}: '{f.label}' is longer than {f.max_length} characters",
                    code="invalid_fields",
                )
            cleaned[f.name] = value
        return cleaned


class KyuPolicy(_Strict):
    required: dict[str, KyuLevel]
    # a verification stops counting after this many days (status becomes expired)
    valid_for_days: int = Field(ge=1)
    max_document_bytes: int = Field(ge=1024, le=64 * 1024 * 1024)

    @field_validator("required")
    @classmethod
    def _known_visibilities(cls, value: dict) -> dict:
        unknown = sorted(set(value) - set(VISIBILITIES))
        if unknown:
            raise ValueError(
                f"unknown visibility {', '.join(unknown)} (use {', '.join(VISIBILITIES)})"
            )
        return value


class CertificationPolicy(_Strict):
    required: dict[str, list[str]]  # visibility -> statement ids
    statements: list[Statement]
    # what one certification covers: `repo` = every revision of the repo by the same uploader
    # while the statement's version is unchanged (and the repo before its first push);
    # `revision` = the revision it names only
    scope: Literal["repo", "revision"]


class DatasetScanPolicy(_Strict):
    """What certifying a statement (the training-data one) asks of the datasets the model card
    names (`datasets:` in its metadata): a clean scan of each, at most `max_age_days` old."""

    required_for: list[str]  # statement ids; empty: no scan is asked for
    max_age_days: int = Field(ge=1, le=3650)


class HashCategoryRule(_Strict):
    action: MatchAction
    description: str = ""
    # what a retroactive match (a list gained an entry matching a published model's sample)
    # does: quarantine the model at once and open a case, or only open a case
    retroactive: Literal["quarantine", "case"] = "case"


class MatchingPolicy(_Strict):
    """How hash matching treats what it cannot trust as much as usual."""

    # A flat image's PDQ hash (quality below 50) is matched only within this many bits, and
    # what it finds holds the upload for review (`hash_match_low_quality`); 0 turns it off.
    low_quality_pdq_threshold: int = Field(ge=0, le=64)
    # Sample videos (vPDQ): longer, larger or longer-decoding videos are refused with a reason
    # (the file's exact hashes still match); each is decoded in a child process.
    video_max_seconds: float = Field(gt=0, le=24 * 3600)
    video_max_side: int = Field(ge=16, le=16384)
    video_max_frames: int = Field(ge=1, le=10_000_000)
    video_timeout_seconds: float = Field(gt=0, le=3600)


class DeadlineRule(_Strict):
    """Queue deadline for cases from a source and category; '*' matches any."""

    source: str = "*"
    category: str = "*"
    hours: int = Field(ge=1, le=24 * 365)


class RetentionPolicy(_Strict):
    kyu_rejected_days: int = Field(ge=1)  # rejected/abandoned submissions
    kyu_after_expiry_days: int = Field(ge=1)  # verified ones, after they expire
    upload_checks_days: int = Field(ge=1)
    personal_data_access_log_days: int = Field(ge=1)
    webhook_deliveries_days: int = Field(ge=1)


class WatermarkPolicy(_Strict):
    # what a declared-but-absent watermark does to the check: hold for review or just record
    not_found: Literal["hold", "record"]
    inconclusive: Literal["hold", "record"]
    # whether every sample image must carry the declared mark, or one is enough
    samples: Literal["every", "any"]


class DocumentationRequirement(_Strict):
    """What a model card must have: YAML metadata keys and section headings."""

    metadata: list[str] = Field(default_factory=list)  # e.g. license, pipeline_tag
    sections: list[str] = Field(default_factory=list)  # e.g. "Intended uses", "Training data"


class DocumentationPolicy(_Strict):
    # per visibility: what the model card must have (a visibility not named: nothing)
    required: dict[str, DocumentationRequirement]
    # where an uploader reads how to write what is missing (when the platform gives no edit link)
    guide_url: str = Field(pattern=r"^https?://")

    @field_validator("required")
    @classmethod
    def _known_visibilities(cls, value: dict) -> dict:
        unknown = sorted(set(value) - set(VISIBILITIES))
        if unknown:
            raise ValueError(
                f"unknown visibility {', '.join(unknown)} (use {', '.join(VISIBILITIES)})"
            )
        return value


class WellnessPolicy(_Strict):
    # media items (sample images) a moderator may see in one sign-in session before the console
    # asks them to take a break; 0: never ask
    exposure_cap: int = Field(ge=0)


class Category(_Strict):
    """A case category: what a notifier can report, how severe it is, its Transparency
    Database mapping (`tdb_category`, `keywords`)."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    label: str = Field(min_length=1)
    tdb_category: str = Field(pattern=r"^STATEMENT_CATEGORY_[A-Z_]+$")
    keywords: tuple[str, ...] = ()
    severity: int = Field(ge=0, le=10_000)  # higher is reviewed first
    # Art. 16(2)(c): notices about child sexual abuse may be anonymous
    anonymous_notices: bool = False
    # keep evidence under legal hold and allow a hotline report package
    legal_hold: bool = False


class CasePolicy(_Strict):
    """Periods that run from a decision: the appeal window and the legal hold of evidence."""

    appeal_months: int = Field(ge=6, le=120)  # Art. 20: at least six months
    # REPORT Act: preserve a CyberTipline report's contents for a year
    legal_hold_days: int = Field(ge=1)
    # 18 U.S.C. 2258A(h) as amended by the REPORT Act: a year from a hotline report
    hotline_preservation_days: int = Field(ge=1)


class NoticePolicy(_Strict):
    """Limits on what one notice may hold and how often one address may send one."""

    per_hour_from_one_address: int = Field(ge=1)  # checked in the domain as well as the web
    max_items: int = Field(ge=1, le=1000)
    min_explanation_chars: int = Field(ge=1, le=1000)  # Art. 16(2)(a): a substantiated explanation
    max_explanation_chars: int = Field(ge=100, le=100_000)


class MisusePolicy(_Strict):
    """Art. 23: warn, then suspend, uploaders with manifestly illegal content and notifiers whose
    notices are mostly unfounded."""

    uploader_warn_at: int = Field(ge=1)  # strikes
    uploader_suspend_at: int = Field(ge=1)
    uploader_suspension_days: int = Field(ge=1)
    notifier_min_notices: int = Field(ge=1)  # judge a notifier only after this many decided notices
    notifier_unfounded_share: float = Field(gt=0, le=1)  # warn above this share of unfounded
    notifier_suspension_days: int = Field(ge=1)


class PriorityPolicy(_Strict):
    """Queue order: a case's priority is its category's severity plus its source's weight,
    plus points for waiting and for being overdue, less a penalty for unreliable notifiers."""

    sources: dict[str, int]
    age_points_per_hour: int = Field(ge=0)
    age_points_max: int = Field(ge=0)
    overdue_points: int = Field(ge=0)
    unreliable_notifier_penalty: int = Field(ge=0)


class DecisionTemplate(_Strict):
    """A ready decision a moderator picks by its `key` and may edit before submitting."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    # the keyboard key that picks it in the console (digits: letters are the console's shortcuts)
    key: str = Field(pattern=r"^[0-9]$")
    label: str = Field(min_length=1, max_length=200)
    action: Literal["no_action", "restrict", "take_down", "suspend_uploader", "escalate", "report"]
    ground: Literal["illegal_content", "terms_of_service"]
    ground_reference: str = Field(min_length=1, max_length=500)  # the law or the terms' clause
    explanation: str = Field(min_length=1, max_length=2000)
    category: str | None = None  # None: the case's own category
    restrict_mode: Literal["gate", "label"] | None = None
    duration_days: int | None = Field(default=None, ge=1, le=3650)  # end date of the measure


StaffRole = Literal["moderator", "senior_moderator", "legal", "admin"]


class Queue(_Strict):
    """A named queue: the cases it takes (every criterion given must match; none: every case)
    and who may work it (a listed role or a member of a listed team; neither: every case worker).
    """

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    label: str = Field(min_length=1, max_length=200)
    categories: list[str] = []
    sources: list[str] = []
    languages: list[str] = []  # ISO 639-1 codes a notice gives (`language`)
    roles: list[StaffRole] = []
    teams: list[str] = []

    def takes(self, *, category: str, source: str, language: str | None) -> bool:
        return (
            (not self.categories or category in self.categories)
            and (not self.sources or source in self.sources)
            and (not self.languages or (language or "") in self.languages)
        )

    def admits(self, *, role: str, teams: list[str]) -> bool:
        """Whether a case worker of this role and these teams may work this queue's cases."""
        if not self.roles and not self.teams:
            return True
        return role in self.roles or bool(set(teams) & set(self.teams))


class SamplingPolicy(_Strict):
    """Quality sampling: a share of decisions goes to a second, blind reviewer."""

    share: float = Field(ge=0, le=1)  # 0: no sampling
    roles: list[StaffRole]  # who may review a sample (never the first decision's author)


class ModerationPolicy(_Strict):
    """The moderators' tools: categories only some roles may work, claim leases, templates,
    named queues and quality sampling."""

    # category -> the roles that may claim and decide its cases (others: every case worker)
    restricted_categories: dict[
        str, list[Literal["moderator", "senior_moderator", "legal", "admin"]]
    ]
    claim_lease_minutes: int = Field(ge=1, le=7 * 24 * 60)
    decision_templates: dict[str, DecisionTemplate]
    # named queues in routing order: a new case goes to the first that takes it; the last
    # takes every case (no criteria)
    queues: dict[str, Queue]
    sampling: SamplingPolicy

    @model_validator(mode="before")
    @classmethod
    def _template_ids_from_keys(cls, data: Any) -> Any:
        for table in ("decision_templates", "queues"):
            if isinstance(data, dict) and isinstance(data.get(table), dict):
                data = dict(data)
                data[table] = {
                    key: {"id": key, **spec} if isinstance(spec, dict) else spec
                    for key, spec in data[table].items()
                }
        return data

    @model_validator(mode="after")
    def _keys_unique(self) -> ModerationPolicy:
        keys = [t.key for t in self.decision_templates.values()]
        if len(keys) != len(set(keys)):
            raise ValueError("moderation.decision_templates: two templates share a key")
        queues = list(self.queues.values())
        if not queues or queues[-1].categories or queues[-1].sources or queues[-1].languages:
            raise ValueError(
                "moderation.queues: the last queue must take every case (no categories, "
                "sources or languages), so every new case has a queue"
            )
        return self

    def queue_for(self, *, category: str, source: str, language: str | None = None) -> str:
        """The queue a case goes to: the first, in the policy's order, that takes it."""
        return next(
            q.id
            for q in self.queues.values()
            if q.takes(category=category, source=source, language=language)
        )

    def roles_for(self, category: str) -> frozenset[str] | None:
        """The roles that may claim and decide a case of this category; None: any case worker."""
        roles = self.restricted_categories.get(category)
        return frozenset(roles) if roles is not None else None

    def template(self, template_id: str) -> DecisionTemplate:
        try:
            return self.decision_templates[template_id]
        except (KeyError, TypeError):
            raise InvalidInput(
                f"unknown decision template '{template_id}'; use one of: "
                + ", ".join(sorted(self.decision_templates)),
                code="invalid_template",
            ) from None


class ExchangeDefaults(_Strict):
    """What the hash list fed by one kind of exchange does, and how often it is fetched."""

    category: str = Field(pattern=r"^[a-z0-9_-]{1,64}$")
    action: ListAction
    threshold: int | None = Field(default=None, ge=0, le=128)  # None: the algorithm's default
    interval_minutes: int = Field(ge=1, le=7 * 24 * 60)


class HashListPolicy(_Strict):
    """False-positive control: when an entry that suddenly matches many images is quarantined,
    and what each kind of exchange's list does."""

    quarantine_distinct_images: int = Field(ge=2)
    quarantine_window_minutes: int = Field(ge=1)
    exchanges: dict[str, ExchangeDefaults]


class PolicyRef(TypedDict):
    """`Policy.ref`: which policy (id and version) a check, case or record was made under."""

    id: str
    version: int


class Policy(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")
    version: int = Field(ge=1)
    description: str = ""
    kyu: KyuPolicy
    certifications: CertificationPolicy
    hash_categories: dict[str, HashCategoryRule]
    # other names hash lists use for case categories (csam -> child_sexual_abuse)
    category_aliases: dict[str, str]
    categories: dict[str, Category]
    deadlines: list[DeadlineRule]
    default_deadline_hours: int = Field(ge=1)
    priorities: PriorityPolicy
    cases: CasePolicy
    notices: NoticePolicy
    misuse: MisusePolicy
    retention: RetentionPolicy
    watermark: WatermarkPolicy
    documentation: DocumentationPolicy
    moderation: ModerationPolicy
    matching: MatchingPolicy
    hash_lists: HashListPolicy
    dataset_scans: DatasetScanPolicy
    wellness: WellnessPolicy

    @model_validator(mode="before")
    @classmethod
    def _category_ids_from_keys(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("categories"), dict):
            data = dict(data)
            data["categories"] = {
                key: {"id": key, **spec} if isinstance(spec, dict) else spec
                for key, spec in data["categories"].items()
            }
        return data

    @model_validator(mode="after")
    def _references_resolve(self) -> Policy:
        problems = reference_problems(self.model_dump())
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def ref(self) -> PolicyRef:
        return {"id": self.id, "version": self.version}

    # --- uploads ---------------------------------------------------------------------------------

    def statement(self, statement_id: str) -> Statement | None:
        return next((s for s in self.certifications.statements if s.id == statement_id), None)

    def kyu_level_for(self, visibility: str) -> KyuLevel:
        return self.kyu.required.get(visibility, KyuLevel.VERIFIED)

    def statements_for(
        self, visibility: str, *, outputs: list[str] | None = None
    ) -> list[Statement]:
        """The statements a model with this visibility and these outputs (None: not known) needs."""
        wanted = self.certifications.required.get(visibility, [])
        return [
            s for s in self.certifications.statements if s.id in wanted and s.applies_to(outputs)
        ]

    def hash_action(self, category: str | None) -> MatchAction:
        """What the policy's category rule says a match in this category does."""
        rule = self.hash_categories.get(category or "") or self.hash_categories["default"]
        return rule.action

    def retroactive_measure(self, category: str | None) -> str:
        """What a retroactive match in this category does: `quarantine` or only a `case`."""
        rule = self.hash_categories.get(category or "") or self.hash_categories["default"]
        return rule.retroactive

    def match_action(self, *, category: str | None, list_action: str | None) -> MatchAction:
        """What one match does: the stricter of the category rule and its list's own action.

        A list's action can make a match stricter, never more lenient. A list action this
        release does not know blocks (fail closed); matches stored before they carried one
        (`None`) are decided by the category rule alone, as they were when first answered.
        """
        action = self.hash_action(category)
        if list_action is None:
            return action
        known = list_action in ListAction.__members__.values()
        floor = LIST_ACTION_FLOOR[ListAction(list_action)] if known else MatchAction.BLOCK
        return max(action, floor, key=MATCH_ACTION_SEVERITY.__getitem__)

    # --- cases ------------------------------------------------------------------------------------

    def case_category(self, category: str) -> str:
        """A hash list's category name as a case category (`csam` -> `child_sexual_abuse`)."""
        return self.category_aliases.get(category, category)

    def category(self, category_id: str) -> Category:
        """The case category with this id, or InvalidInput naming the valid ones."""
        try:
            return self.categories[category_id]
        except (KeyError, TypeError):
            raise InvalidInput(
                f"unknown category '{category_id}'; use one of: {', '.join(sorted(self.categories))}",
                code="invalid_category",
            ) from None

    def deadline_hours(self, *, source: str, category: str) -> int:
        """Hours a case from this source and category may wait; the first matching rule wins."""
        category = self.case_category(category)
        for rule in self.deadlines:
            rule_category = self.case_category(rule.category)
            if rule.source in ("*", source) and rule_category in ("*", category):
                return rule.hours
        return self.default_deadline_hours


def reference_problems(data: dict[str, Any]) -> list[str]:
    """Names that must resolve (required statements, the `default` category, category ids),
    each with where it is.

    Works on the raw mapping as well as on a valid policy, so `parse_policy` reports these
    next to the field errors instead of only once the fields are right.
    """

    def mapping(value: Any) -> dict[str, Any]:
        return value if isinstance(value, dict) else {}

    certs = mapping(data.get("certifications"))
    statements = certs.get("statements") if isinstance(certs.get("statements"), list) else []
    ids = [
        str(st.get("id"))
        for st in statements or []
        if isinstance(st, dict) and st.get("id") is not None
    ]
    problems = []
    if len(ids) != len(set(ids)):
        problems.append("certifications.statements: two statements share an id")
    for visibility, wanted in mapping(certs.get("required")).items():
        if visibility not in VISIBILITIES:
            problems.append(f"certifications.required: unknown visibility {visibility}")
            continue
        missing = sorted({str(w) for w in wanted} - set(ids)) if isinstance(wanted, list) else []
        if missing:
            problems.append(
                f"certifications.required.{visibility}: no statement with id {', '.join(missing)}"
            )
    scans_for = mapping(data.get("dataset_scans")).get("required_for")
    unknown = sorted({str(w) for w in scans_for} - set(ids)) if isinstance(scans_for, list) else []
    if unknown:
        problems.append(f"dataset_scans.required_for: no statement with id {', '.join(unknown)}")
    categories = data.get("hash_categories")
    if isinstance(categories, dict) and "default" not in categories:
        problems.append("hash_categories needs a 'default' entry for categories not listed")
    case_categories = mapping(data.get("categories"))
    for alias, target in mapping(data.get("category_aliases")).items():
        if case_categories and target not in case_categories:
            problems.append(f"category_aliases.{alias}: no category {target}")
    moderation = mapping(data.get("moderation"))
    for category in mapping(moderation.get("restricted_categories")):
        if case_categories and category not in case_categories:
            problems.append(f"moderation.restricted_categories.{category}: no category {category}")
    for name, queue in mapping(moderation.get("queues")).items():
        for category in mapping(queue).get("categories") or []:
            if case_categories and category not in case_categories:
                problems.append(f"moderation.queues.{name}: no category {category}")
    for name, template in mapping(moderation.get("decision_templates")).items():
        wanted = mapping(template).get("category")
        if case_categories and wanted is not None and wanted not in case_categories:
            problems.append(f"moderation.decision_templates.{name}: no category {wanted}")
    if case_categories and "other" not in case_categories:
        problems.append("categories needs an 'other' entry (notices that fit no other category)")
    return problems
