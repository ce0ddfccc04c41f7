"""The pre-upload check's rules: allow, hold or block from the policy, KYU, certifications and matches.

This module decides from facts (the stored matches, the uploader's KYU and certification
state, the watermark evidence); `hostguard.workflows.upload_check.run_check` gathers those facts
(hashing the samples, matching them against the lists) and opens the cases that follow.

Retries are safe: the same (uploader, repo, revision, visibility, content) is one check. The
uploader and the visibility are part of what makes two checks "the same", because the policy
asks more of a public upload than of a private one: a revision checked as private and then
asked about as public is a new check, evaluated for public. Its images are scanned only the
first time; asking again re-reads the uploader's KYU and certification state, so an uploader
who finished the steps gets `allow`, and an unchanged situation gets exactly the answer given
before (same check id, same links). What a moderator must look at (any hash-list match; a
watermark hold) opens a case once per check.

A match does the stricter of what its list and the policy ask (`Policy.match_action`): a list's
`block` blocks whatever its category; a `review` list asks only for a case, so the policy's
rule for the match's category decides whether the upload is also held or blocked. A policy
can make a list stricter, never more lenient: CSAM and NCII matches block on any list.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal, NotRequired, TypedDict, cast

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    IPvAnyAddress,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema
from sqlmodel import Session

from hostguard.errors import InvalidInput, TooLarge
from hostguard.platform.models import ModelRepo, Uploader, UploaderStatus
from hostguard.platform.tokens import make_portal_token, portal_url
from hostguard.policy import MatchAction, Policy, Statement
from hostguard.policy.model import PolicyRef, PublicStatement
from hostguard.uploads import kyu as kyu_service
from hostguard.uploads.certifications import (
    CertifiedStatement,
    certified_statements,
    declared_watermark_method,
    owed_statements,
)
from hostguard.uploads.documentation import MAX_CARD_CHARS, missing_documentation
from hostguard.uploads.models import CheckDecision, KyuStatus, UploadCheck
from hostguard.uploads.outputs import OutputKind
from hostguard.uploads.watermark import (
    CHECKABLE_METHODS,
    Evidence,
    WatermarkJson,
    check_watermark,
)

if TYPE_CHECKING:
    from hostguard.runtime import Runtime

MAX_FILES = 20_000
MAX_IMAGES = 16
ANSWER_REUSE = timedelta(hours=24)  # links in a repeated answer stay fresh enough to use


MAX_FILE_SIZE = 2**63 - 1  # what a signed 64-bit column holds
NO_CONTROL_CHARACTERS = r"^[^\x00-\x1f\x7f]*$"
_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")


def _without_control_characters(value: str) -> str:
    # A NUL is stored by SQLite and refused by PostgreSQL: refuse it (and its kin) on both.
    if _CONTROL_CHARACTER.search(value):
        raise ValueError("must not contain NUL or other control characters")
    return value


class _SaysNoControlCharacters:
    """Adds the pattern to the generated JSON schema, keeping its length bounds."""

    @staticmethod
    def __get_pydantic_json_schema__(
        schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        given = handler(schema)
        if "pattern" in given:  # a field's own pattern too: both must match
            return {**given, "allOf": [{"pattern": NO_CONTROL_CHARACTERS}]}
        return {**given, "pattern": NO_CONTROL_CHARACTERS}


# An id, a name or a path: text without control characters (the schema says so with a pattern).
Text = Annotated[str, AfterValidator(_without_control_characters), _SaysNoControlCharacters]


class UploaderIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: Text = Field(min_length=1, max_length=200)
    username: Text | None = Field(default=None, max_length=200)
    email: Text | None = Field(default=None, max_length=320)
    # the IP address the upload came from, when the platform gives it: kept (encrypted) only
    # with a case a hotline report may need (child sexual abuse material), never otherwise
    ip: IPvAnyAddress | None = None


class RepoIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: Text = Field(min_length=3, max_length=200)
    type: Literal["model", "dataset", "space"] = "model"
    revision: Text = Field(min_length=1, max_length=100)
    visibility: Literal["public", "gated", "private"] = "public"
    # what the model outputs, or the Hub's pipeline_tag it is read from (outputs win); statements
    # about outputs (the watermark) are asked only of models that produce them
    pipeline_tag: Text | None = Field(default=None, min_length=1, max_length=100)
    outputs: list[OutputKind] | None = Field(default=None, min_length=1, max_length=6)
    # the model card (README.md: YAML header and Markdown), read when the policy requires
    # documentation; and where the uploader edits it (the link in a documentation step)
    model_card: str | None = Field(default=None, max_length=MAX_CARD_CHARS, pattern=r"^[^\x00]*$")
    card_url: str | None = Field(default=None, max_length=2000, pattern=r"^https?://[^\s]+$")
    # the Hub dataset repositories the model was trained on (as `datasets:` in the card's
    # metadata, which is read too), for the policy's `dataset_scans` rule
    datasets: list[Annotated[Text, Field(min_length=3, max_length=200)]] | None = Field(
        default=None, max_length=100
    )


class FileIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    path: Text = Field(min_length=1, max_length=1000)
    size: int = Field(ge=0, le=MAX_FILE_SIZE)
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")


class SampleImageIn(BaseModel):
    path: Text = Field(min_length=1, max_length=1000)
    content_base64: str = Field(min_length=1)


class CheckRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    uploader: UploaderIn
    repo: RepoIn
    files: list[FileIn] = Field(default_factory=list, max_length=MAX_FILES)
    # Sample outputs, images or videos (MP4, WebM, animated GIF); `samples` is the newer name
    # of `sample_images`, and both may be sent (they are read as one list).
    sample_images: list[SampleImageIn] = Field(default_factory=list, max_length=MAX_IMAGES)
    samples: list[SampleImageIn] = Field(default_factory=list, max_length=MAX_IMAGES)

    @model_validator(mode="after")
    def _one_list_of_samples(self) -> CheckRequest:
        if self.samples:
            if len(self.sample_images) + len(self.samples) > MAX_IMAGES:
                raise ValueError(f"at most {MAX_IMAGES} samples (sample_images and samples)")
            self.sample_images = [*self.sample_images, *self.samples]
            self.samples = []
        return self


class Match(TypedDict):
    """A sample that matched a hash list: no image bytes and no list entry (stored, answered)."""

    path: str
    # what the sample is: a video (MP4, WebM, an animated GIF: it has a vPDQ hash) or an image;
    # given by the workflow that hashed it (matches stored before it was recorded lack it)
    kind: NotRequired[Literal["image", "video"]]
    list: str
    algorithm: str
    distance: int
    threshold: int
    category: str
    list_action: str
    # found only through a low-quality (flat image) PDQ hash: holds for review, never blocks
    low_quality: NotRequired[bool]


class UnreadableImage(TypedDict):
    """A sample image that could not be hashed (stored with the matches, never answered)."""

    path: str
    error: str


class Reason(TypedDict):
    code: str
    message: str


class RequiredStep(TypedDict):
    """What the uploader must do in the portal: `kyu`, or `certification` with its statements."""

    type: str
    url: str
    statements: NotRequired[list[PublicStatement]]
    missing: NotRequired[list[str]]  # documentation: what the model card lacks


class CheckAnswer(TypedDict):
    """The answer to an upload check, as the API returns it and `UploadCheck.answer` keeps it."""

    check_id: str
    decision: str
    reasons: list[Reason]
    required_steps: list[RequiredStep]
    matches: list[Match]
    watermark: WatermarkJson | None
    policy: PolicyRef
    sandbox: NotRequired[bool]  # answered by the sandbox (a sandbox API key): nothing happened


def match_action(match: Mapping[str, Any], policy: Policy) -> MatchAction:
    """What one stored match does (`Policy.match_action` on its category and list action).

    A match found only through a flat image's PDQ hash (`low_quality`) holds the upload for a
    moderator whatever the list says: too uncertain to block on, too close to let pass."""
    if match.get("low_quality"):
        return MatchAction.HOLD
    return policy.match_action(category=match.get("category"), list_action=match.get("list_action"))


def reason(code: str, message: str) -> Reason:
    return {"code": code, "message": message}


SampleNoun = Literal["image", "video", "image and video"]
_MATCHED: dict[str, str] = {
    "image": "A sample image matches",
    "video": "A sample video matches",
    "image and video": "A sample image and a sample video match",
}


def sample_noun(matches: Iterable[Mapping[str, Any]]) -> SampleNoun:
    """What the matched samples are, as a match reason names them: `video` when every one is a
    video, `image and video` when both matched, else `image` (a match without `kind` too)."""
    kinds = {m.get("kind") or "image" for m in matches}
    if kinds == {"video"}:
        return "video"
    return "image and video" if "video" in kinds else "image"


def hash_match_reason(*, low_quality: bool, noun: str = "image") -> Reason:
    """The reason a hash-list match gives, in a live check and after a retroactive one:
    `hash_match`, or `hash_match_low_quality` when only a flat image's PDQ hash found it (a
    flat image is always an image). `noun` names the samples (`image`, `video`, or `image and
    video`: see `sample_noun`)."""
    if low_quality:
        return reason(
            "hash_match_low_quality",
            "A sample image with little detail comes close to a hash list entry; "
            "the upload is held until a moderator has looked at it.",
        )
    return reason(
        "hash_match",
        f"{_MATCHED[noun]} a hash list; the upload was referred to the moderation team.",
    )


def check_lock_id(key: str) -> int:
    """A PostgreSQL advisory lock id (signed 64-bit) for an idempotency key."""
    return int(key[:16], 16) - (1 << 63)


def content_key(
    repo: ModelRepo,
    revision: str,
    files: list[FileIn],
    images: list[tuple[str, bytes]],
    *,
    uploader_id: str,
    visibility: str,
) -> str:
    """The idempotency key: who uploads what, where, and how visible it will be."""
    h = hashlib.sha256()
    h.update(f"{repo.repo_type}/{repo.repo_id}\0{revision}\0{visibility}\0{uploader_id}\0".encode())
    for f in sorted(files, key=lambda f: f.path):
        h.update(f"{f.path}\0{f.size}\0{(f.sha256 or '').lower()}\n".encode())
    for path, data in sorted(images):
        h.update(f"img\0{path}\0{hashlib.sha256(data).hexdigest()}\n".encode())
    return h.hexdigest()


REVIEW_REASONS = ("watermark_not_found", "watermark_inconclusive")  # holds a moderator must look at


def _kyu_reasons(
    session: Session, *, actor: str, uploader: Uploader, policy: Policy, visibility: str
) -> list[Reason]:
    level = policy.kyu_level_for(visibility)
    submission = kyu_service.latest_submission(session, uploader)
    status = kyu_service.effective_status(submission)
    if kyu_service.meets(level, status):
        return []
    if submission is None:
        kyu_service.ensure_started(session=session, actor=actor, uploader=uploader)
    if status == KyuStatus.PENDING_REVIEW:
        return [reason("kyu_pending", "The uploader's identity details are waiting for review.")]
    if status == KyuStatus.REJECTED:
        return [
            reason(
                "kyu_rejected",
                "The uploader's identity details were not accepted; "
                "the portal shows why and how to send them again.",
            )
        ]
    if status == KyuStatus.NEEDS_INFORMATION:
        return [
            reason(
                "kyu_needs_information",
                "The uploader's identity details are incomplete; the portal shows what to add.",
            )
        ]
    if status == KyuStatus.EXPIRED:
        return [
            reason(
                "kyu_expired",
                "The uploader's identity verification has expired; they need to verify again.",
            )
        ]
    return [
        reason(
            "kyu_required",
            f"{visibility.capitalize()} uploads need a verified identity (know-your-uploader).",
        )
    ]


def _certification_reasons(
    owed: list[Statement], certified: Mapping[str, CertifiedStatement]
) -> list[Reason]:
    """`certification_required` for statements never signed, `certification_outdated` for those
    whose text or version changed since the uploader signed them."""
    changed = [s for s in owed if s.id in certified]
    unsigned = [s for s in owed if s.id not in certified]
    reasons = []
    if unsigned:
        titles = ", ".join(s.title for s in unsigned)
        reasons.append(
            reason("certification_required", f"The uploader has not yet signed: {titles}.")
        )
    if len(changed) == 1:
        reasons.append(
            reason(
                "certification_outdated",
                f"The statement {changed[0].title} has changed since the uploader signed it; "
                "they need to sign the new version.",
            )
        )
    elif changed:
        reasons.append(
            reason(
                "certification_outdated",
                "The statements " + ", ".join(s.title for s in changed) + " have changed since "
                "the uploader signed them; they need to sign the new versions.",
            )
        )
    return reasons


def evaluate(
    *,
    session: Session,
    runtime: Runtime,
    actor: str,
    check: UploadCheck,
    uploader: Uploader,
    repo: ModelRepo,
    policy: Policy,
    images: list[tuple[str, bytes]],
    model_card: str | None = None,
    card_url: str | None = None,
    documentation: bool = True,
) -> CheckAnswer:
    """Work out the answer from the stored matches and the uploader's current state (and the
    model card, when the policy requires documentation)."""
    reasons: list[Reason] = []
    steps: list[RequiredStep] = []
    blocked = False
    if uploader.status == UploaderStatus.SUSPENDED:
        reasons.append(reason("uploader_suspended", "The uploader's account is suspended."))
        blocked = True
    hits = [m for m in check.matches if "category" in m]
    if hits:
        sure = [m for m in hits if not m.get("low_quality")]
        actions = [(m, match_action(m, policy)) for m in sure]
        if any(action == MatchAction.BLOCK for _, action in actions):
            blocked = True
        # the reason names the samples that block or hold (a `record` match only opens a case)
        acting = [m for m, action in actions if action in (MatchAction.BLOCK, MatchAction.HOLD)]
        if acting:
            reasons.append(hash_match_reason(low_quality=False, noun=sample_noun(acting)))
        if len(sure) < len(hits):
            reasons.append(hash_match_reason(low_quality=True))
    if any("error" in m for m in check.matches):
        reasons.append(
            reason(
                "image_unreadable",
                "A sample could not be read; send PNG, JPEG or WebP images, or MP4, WebM or GIF "
                "videos within the policy's bounds.",
            )
        )
    kyu_reasons = _kyu_reasons(
        session, actor=actor, uploader=uploader, policy=policy, visibility=check.visibility
    )
    reasons += kyu_reasons
    token_extra = {
        "repo": repo.repo_id,
        "rt": repo.repo_type,
        "rev": check.revision,
        "vis": check.visibility,
        "c": check.check_id,
    }
    if kyu_reasons and kyu_reasons[0]["code"] != "kyu_pending":
        token = make_portal_token(runtime, uploader.platform_id, purpose="kyu", extra=token_extra)
        steps.append({"type": "kyu", "url": portal_url(runtime, "kyu", token)})
    certified = certified_statements(
        session, uploader=uploader, repo=repo, revision=check.revision, policy=policy
    )
    owed = owed_statements(
        session,
        uploader=uploader,
        repo=repo,
        revision=check.revision,
        visibility=check.visibility,
        policy=policy,
        done=certified,
    )
    if owed:
        reasons += _certification_reasons(owed, certified)
        token = make_portal_token(
            runtime, uploader.platform_id, purpose="certification", extra=token_extra
        )
        steps.append(
            {
                "type": "certification",
                "url": portal_url(runtime, "certifications", token),
                "statements": [s.public() for s in owed],
            }
        )
    method = declared_watermark_method(
        session,
        uploader=uploader,
        repo=repo,
        revision=check.revision,
        policy=policy,
        done=certified,
    )
    if method and (check.watermark or {}).get("method") != method:
        evidence = (
            check_watermark(
                method,
                images,
                trust_anchors=runtime.settings.c2pa_trust_anchor_pem if method == "c2pa" else None,
                samples=policy.watermark.samples,
            )
            if method in CHECKABLE_METHODS and images
            else None
        )
        watermark: WatermarkJson = (
            evidence.to_dict()
            if evidence
            else {
                "method": method,
                "result": Evidence.INCONCLUSIVE,
                "detail": "no sample images"
                if method in CHECKABLE_METHODS
                else f"'{method}' cannot be checked offline",
                "images": [],
            }
        )
        check.watermark = cast(dict, watermark)  # stored as it is (a TypedDict is a dict)
    if method and check.watermark:
        result = check.watermark["result"]
        if result == Evidence.NOT_FOUND and policy.watermark.not_found == "hold":
            reasons.append(
                reason(
                    "watermark_not_found",
                    "The declared watermark was not found in the "
                    "sample images; a moderator will review.",
                )
            )
        if result == Evidence.INCONCLUSIVE and policy.watermark.inconclusive == "hold":
            reasons.append(
                reason(
                    "watermark_inconclusive",
                    "The declared watermark could not be checked; a moderator will review.",
                )
            )
    # documentation=False: a re-evaluation without the card, whose card was found complete
    requirement = policy.documentation.required.get(check.visibility) if documentation else None
    if requirement is not None:
        missing = missing_documentation(model_card, requirement)
        if missing:
            reasons.append(
                reason(
                    "documentation_required",
                    "The model card is missing what the platform requires: "
                    + ", ".join(missing)
                    + ".",
                )
            )
            steps.append(
                {
                    "type": "documentation",
                    "url": card_url or policy.documentation.guide_url,
                    "missing": missing,
                }
            )
    decision = (
        CheckDecision.BLOCK if blocked else (CheckDecision.HOLD if reasons else CheckDecision.ALLOW)
    )
    public_matches = cast(
        "list[Match]", [{k: v for k, v in m.items() if k != "error"} for m in hits]
    )
    return {
        "check_id": check.check_id,
        "decision": str(decision),
        "reasons": reasons,
        "required_steps": steps,
        "matches": public_matches,
        "watermark": cast("WatermarkJson | None", check.watermark),  # as stored above or before
        "policy": policy.ref,
    }


def same_situation(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether a repeated check would answer as before (then the stored answer, with the
    links it gave, is returned instead of a new one)."""

    def shape(a: Mapping[str, Any]):
        return (
            a.get("decision"),
            a.get("reasons"),
            [(s["type"], s.get("statements")) for s in a.get("required_steps", [])],
            a.get("matches"),
            a.get("watermark"),
            a.get("policy"),
        )

    return bool(old) and shape(old) == shape(new)


def decode_images(
    sample_images: list[SampleImageIn], *, max_image_bytes: int
) -> list[tuple[str, bytes]]:
    import base64
    import binascii

    images = []
    for item in sample_images:
        try:
            data = base64.b64decode(item.content_base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidInput(
                f"sample image {item.path[:200]} is not valid base64", code="invalid_image"
            ) from exc
        if len(data) > max_image_bytes:
            raise TooLarge(f"sample image {item.path[:200]} is larger than {max_image_bytes} bytes")
        images.append((item.path, data))
    return images
