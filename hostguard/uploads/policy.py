"""The operator's upload policy: what each upload needs, read from a YAML file and validated.

A policy says which know-your-uploader level each repository visibility needs, which
certification statements must be signed, what each hash-list category does, the queue
deadlines, retention periods and how watermark evidence counts. Every decision records the
policy's id and version, so a decision can be explained later even after the file changed.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hostguard.errors import InvalidInput

DEFAULT_POLICY_PATH = Path(__file__).resolve().parents[2] / "policies" / "default.yaml"
VISIBILITIES = ("public", "gated", "private")


class PolicyError(Exception):
    """A policy file cannot be used; `problems` lists each one as 'where: what'."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


class KyuLevel(StrEnum):
    NONE = "none"  # nothing asked
    SUBMITTED = "submitted"  # details handed in (pending review is enough)
    VERIFIED = "verified"  # reviewed and approved by legal


KYU_LEVEL_ORDER = {KyuLevel.NONE: 0, KyuLevel.SUBMITTED: 1, KyuLevel.VERIFIED: 2}


class HashAction(StrEnum):
    BLOCK = "block"  # refuse the upload and open a case
    HOLD = "hold"  # keep it back for review and open a case
    RECORD = "record"  # allow, but open a case for a moderator to look at


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


class Statement(_Strict):
    """A certification statement shown to the uploader; its text hash goes into the receipt."""

    id: str = Field(pattern=r"^[a-z][a-z0-9-]{0,63}$")
    version: int = Field(ge=1)
    title: str
    text: str = Field(min_length=10)
    fields: list[StatementField] = Field(default_factory=list)

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

    def public(self) -> dict:
        """What an uploader or a platform is shown: id, version, text and the fields to fill."""
        return {
            "id": self.id,
            "version": self.version,
            "title": self.title,
            "text": self.text.strip(),
            "fields": [f.model_dump(exclude={"checks_watermark"}) for f in self.fields],
        }

    def clean_fields(self, given: dict | None) -> dict:
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
    required: dict[str, KyuLevel] = Field(
        default_factory=lambda: {
            "public": KyuLevel.VERIFIED,
            "gated": KyuLevel.VERIFIED,
            "private": KyuLevel.NONE,
        }
    )
    # a verification stops counting after this many days (status becomes expired)
    valid_for_days: int = Field(default=730, ge=1)
    max_document_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024)

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
    required: dict[str, list[str]] = Field(default_factory=dict)  # visibility -> statement ids
    statements: list[Statement]


class HashCategoryRule(_Strict):
    action: HashAction
    description: str = ""


class DeadlineRule(_Strict):
    """Queue deadline for cases from a source and category; '*' matches any."""

    source: str = "*"
    category: str = "*"
    hours: int = Field(ge=1, le=24 * 365)


class RetentionPolicy(_Strict):
    kyu_rejected_days: int = Field(default=90, ge=1)  # rejected/abandoned submissions
    kyu_after_expiry_days: int = Field(default=365, ge=1)  # verified ones, after they expire
    upload_checks_days: int = Field(default=730, ge=1)
    personal_data_access_log_days: int = Field(default=1095, ge=1)
    webhook_deliveries_days: int = Field(default=90, ge=1)


class WatermarkPolicy(_Strict):
    # what a declared-but-absent watermark does to the check: hold for review or just record
    not_found: Literal["hold", "record"] = "hold"
    inconclusive: Literal["hold", "record"] = "record"


class Policy(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")
    version: int = Field(ge=1)
    description: str = ""
    kyu: KyuPolicy = Field(default_factory=KyuPolicy)
    certifications: CertificationPolicy
    hash_categories: dict[str, HashCategoryRule]
    deadlines: list[DeadlineRule] = Field(default_factory=list)
    default_deadline_hours: int = Field(default=168, ge=1)
    retention: RetentionPolicy = Field(default_factory=RetentionPolicy)
    watermark: WatermarkPolicy = Field(default_factory=WatermarkPolicy)
    # read by hostguard.cases (e.g. `cases.categories`); passed through unchecked here
    cases: dict = Field(default_factory=dict)

    @model_validator(mode="after")
    def _references_resolve(self) -> Policy:
        problems = reference_problems(self.model_dump())
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def ref(self) -> dict:
        return {"id": self.id, "version": self.version}

    def statement(self, statement_id: str) -> Statement | None:
        return next((s for s in self.certifications.statements if s.id == statement_id), None)

    def kyu_level_for(self, visibility: str) -> KyuLevel:
        return self.kyu.required.get(visibility, KyuLevel.VERIFIED)

    def statements_for(self, visibility: str) -> list[Statement]:
        wanted = self.certifications.required.get(visibility, [])
        return [s for s in self.certifications.statements if s.id in wanted]

    def hash_action(self, category: str | None) -> HashAction:
        rule = self.hash_categories.get(category or "") or self.hash_categories["default"]
        return rule.action

    def deadline_hours(self, *, source: str, category: str) -> int:
        """Hours a case from this source and category may wait; the first matching rule wins."""
        for rule in self.deadlines:
            if rule.source in ("*", source) and rule.category in ("*", category):
                return rule.hours
        return self.default_deadline_hours


def reference_problems(data: dict) -> list[str]:
    """Names that must resolve (required statements, the `default` category), each with where it is.

    Works on the raw mapping as well as on a valid policy, so `parse_policy` reports these
    next to the field errors instead of only once the fields are right.
    """

    def mapping(value) -> dict:
        return value if isinstance(value, dict) else {}

    certs = mapping(data.get("certifications"))
    statements = certs.get("statements") if isinstance(certs.get("statements"), list) else []
    ids = [
        str(st.get("id")) for st in statements if isinstance(st, dict) and st.get("id") is not None
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
    categories = data.get("hash_categories")
    if isinstance(categories, dict) and "default" not in categories:
        problems.append("hash_categories needs a 'default' entry for categories not listed")
    return problems


def _where(loc: tuple) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def parse_policy(text: str, *, source: str = "<policy>") -> Policy:
    """Parse YAML text into a Policy; PolicyError says where each problem is."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"
        raise PolicyError(source, [f"{where}: {getattr(exc, 'problem', None) or exc}"]) from exc
    if not isinstance(data, dict):
        raise PolicyError(source, ["(top level): expected a mapping of settings"])
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        # field errors, then the names that do not resolve (which pydantic checks only once
        # every field is right): one run of `policy check` shows everything to fix
        problems = [
            f"{_where(err['loc'])}: {err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors()
            if err["loc"]
        ]
        problems += [p for p in reference_problems(data) if p not in problems]
        if not problems:  # only the model-level check failed, on something the raw data hides
            problems = [
                f"{_where(err['loc'])}: {err['msg'].removeprefix('Value error, ')}"
                for err in exc.errors()
            ]
        raise PolicyError(source, problems) from exc


def load_policy(path: str | Path | None = None) -> Policy:
    """Read the policy file named by `path` (or the shipped default)."""
    path = Path(path) if path else DEFAULT_POLICY_PATH
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(str(path), [f"cannot read the file ({exc.strerror})"]) from exc
    return parse_policy(text, source=str(path))


_cache: dict[tuple[str, float], Policy] = {}


def policy_for(runtime) -> Policy:
    """The policy in force for this runtime (`policy_file` setting), re-read when the file changes."""
    path = Path(runtime.settings.policy_file or DEFAULT_POLICY_PATH)
    key = (str(path), path.stat().st_mtime if path.exists() else 0.0)
    if key not in _cache:
        _cache.clear()
        _cache[key] = load_policy(path)
    return _cache[key]
