"""What the API answers, as typed dataclasses; `raw` keeps the whole answer for fields added later."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Decision = Literal["allow", "hold", "block"]


@dataclass(frozen=True)
class Reason:
    """Why a check was not simply allowed: a code for machines and a message for people."""

    code: str
    message: str


@dataclass(frozen=True)
class RequiredStep:
    """What the uploader still owes, with the portal link to send them to (`kyu`, `certification`)."""

    type: str
    url: str
    statements: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Match:
    """A sample image or video that matched a hash list (never the list's entry itself)."""

    path: str
    list: str
    algorithm: str
    distance: int
    threshold: int
    category: str
    list_action: str
    kind: str = "image"  # "video" for a sample video (answers before hostguard said so: image)


@dataclass(frozen=True)
class CheckResult:
    """An upload check's decision (`POST /uploads/check`, `GET /uploads/checks/{id}`)."""

    check_id: str
    decision: str
    reasons: list[Reason]
    required_steps: list[RequiredStep]
    matches: list[Match]
    watermark: dict[str, Any] | None
    policy: dict[str, Any]
    revision: str | None
    sequence: int | None  # the last decision event's number (GET only)
    raw: dict[str, Any]

    @property
    def allowed(self) -> bool:
        return self.decision == "allow"

    @property
    def held(self) -> bool:
        return self.decision == "hold"

    @property
    def blocked(self) -> bool:
        return self.decision == "block"

    @property
    def reason_codes(self) -> list[str]:
        return [r.code for r in self.reasons]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CheckResult:
        return cls(
            check_id=str(data["check_id"]),
            decision=str(data["decision"]),
            reasons=[Reason(code=r["code"], message=r["message"]) for r in data.get("reasons", [])],
            required_steps=[
                RequiredStep(type=s["type"], url=s["url"], statements=s.get("statements", []))
                for s in data.get("required_steps", [])
            ],
            matches=[
                Match(
                    **{k: m[k] for k in Match.__dataclass_fields__ if k != "kind"},
                    kind=m.get("kind", "image"),
                )
                for m in data.get("matches", [])
            ],
            watermark=data.get("watermark"),
            policy=data.get("policy") or {},
            revision=data.get("revision"),
            sequence=data.get("sequence"),
            raw=data,
        )


@dataclass(frozen=True)
class KyuSubmission:
    kyu_id: int
    status: str


@dataclass(frozen=True)
class CertificationSummary:
    certification_id: str
    repo_id: str
    revision: str
    signed_at: str
    statements: list[dict[str, Any]]


@dataclass(frozen=True)
class UploaderStatus:
    """An uploader as hostguard knows them: KYU status, certifications, strikes; no personal data."""

    id: str
    username: str | None
    status: str
    strikes: int
    kyu: dict[str, Any]
    certifications: list[CertificationSummary]
    raw: dict[str, Any]

    @property
    def kyu_status(self) -> str | None:
        return self.kyu.get("status")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UploaderStatus:
        return cls(
            id=data["id"],
            username=data.get("username"),
            status=data["status"],
            strikes=int(data.get("strikes", 0)),
            kyu=data.get("kyu") or {},
            certifications=[CertificationSummary(**c) for c in data.get("certifications", [])],
            raw=data,
        )


@dataclass(frozen=True)
class Certification:
    """A recorded certification: its signed receipt and the YAML to put in the model card."""

    certification_id: str
    receipt: dict[str, Any]
    model_card_yaml: str


@dataclass(frozen=True)
class NoticeCreated:
    notice_id: int
    case_ids: list[int]


@dataclass(frozen=True)
class ScanResult:
    """One scanned image: whether it matched a hash list, and how closely."""

    path: str
    matched: bool
    matches: list[dict[str, Any]]
    error: str | None
    low_quality: bool


@dataclass(frozen=True)
class UploadToken:
    """An upload token for one uploader and repo (shown once: hand it to the uploader's tool)."""

    token: str
    token_id: str
    uploader_id: str
    repo_id: str
    repo_type: str
    expires_at: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UploadToken:
        return cls(
            token=str(data["token"]),
            token_id=str(data["token_id"]),
            uploader_id=str(data["uploader_id"]),
            repo_id=str(data["repo_id"]),
            repo_type=str(data["repo_type"]),
            expires_at=str(data["expires_at"]),
        )
