"""The sandbox: upload checks made with a sandbox API key, answered from the sandbox policy file
(`policies/sandbox.yaml`, or the file the `sandbox_policy_file` setting names), so a platform
can see every decision before it goes live.

The sandbox policy is a policy file (laid over the shipped default, like any other) with one
more section, `sandbox:`, naming the test uploader ids (each with the reasons its checks get)
and the test images (a solid colour matching a sandbox hash list of a category and list
action; the policy's `hash_categories` decide hold or block). The statements a check asks for
come from the sandbox policy too.

Nothing is stored and nothing follows: no uploader, repo or check row, no case, no webhook, no
audit entry, nothing any report counts. The answer has the shape of a real one (a stable
`check_id` for the same request, the sandbox policy's reference) and says `"sandbox": true`.
The test ids and images the shipped file documents are listed in docs/operators/sandbox.md.
"""

from __future__ import annotations

import hashlib
import io
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from PIL import Image

from hostguard.policy import Policy
from hostguard.policy.load import PolicyError, parse_policy
from hostguard.policy.model import MatchAction
from hostguard.uploads.check import CheckAnswer, CheckRequest, Match, Reason, RequiredStep
from hostguard.uploads.outputs import model_outputs

SANDBOX_POLICY_PATH = Path(__file__).resolve().parents[2] / "policies" / "sandbox.yaml"
SANDBOX_LINK = "https://sandbox.hostguard.invalid/portal/"  # never a real portal link
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")

# what each test reason says (the words of the real check's reasons) and the step it asks for
MESSAGES = {
    "kyu_required": "{Visibility} uploads need a verified identity (know-your-uploader).",
    "kyu_pending": "The uploader's identity details are waiting for review.",
    "kyu_rejected": "The uploader's identity details were not accepted; the portal shows why "
    "and how to send them again.",
    "kyu_needs_information": "The uploader's identity details are incomplete; the portal shows "
    "what to add.",
    "kyu_expired": "The uploader's identity verification has expired; they need to verify again.",
    "certification_required": "The uploader has not yet signed: {titles}.",
    "certification_outdated": "The statements {titles} have changed since the uploader signed "
    "them; they need to sign the new versions.",
    "documentation_required": "The model card is missing what the platform requires: "
    "metadata: license, section: Intended uses.",
    "watermark_not_found": "No watermark or provenance evidence was found in the sample images; "
    "the upload was referred to the moderation team (sandbox: no case was opened).",
    "watermark_inconclusive": "The sample images' provenance evidence could not be verified; "
    "the upload was referred to the moderation team (sandbox: no case was opened).",
    "uploader_suspended": "The uploader's account is suspended.",
}
BLOCKING = frozenset({"uploader_suspended"})
KYU_STEP = frozenset({"kyu_required", "kyu_rejected", "kyu_needs_information", "kyu_expired"})
CERTIFICATION_STEP = frozenset({"certification_required", "certification_outdated"})


@dataclass(frozen=True)
class TestImage:
    colour: tuple[int, int, int]
    category: str
    list_action: str


@dataclass(frozen=True)
class Sandbox:
    """The sandbox policy: the policy its checks run against, its test uploaders and images."""

    policy: Policy
    uploaders: dict[str, tuple[str, ...]]
    images: tuple[TestImage, ...]

    def image_for(self, colour: tuple[int, int, int] | None) -> TestImage | None:
        return next((i for i in self.images if i.colour == colour), None)


def parse_sandbox(text: str, *, source: str = "<sandbox policy>") -> Sandbox:
    """A sandbox policy file; PolicyError names each problem."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(source, [f"YAML: {exc}"]) from exc
    if not isinstance(data, dict):
        raise PolicyError(source, ["(top level): expected a mapping of settings"])
    section = data.pop("sandbox", None) or {}
    policy = parse_policy(yaml.safe_dump(data), source=source)
    problems: list[str] = []
    uploaders: dict[str, tuple[str, ...]] = {}
    for uploader, codes in (section.get("uploaders") or {}).items():
        codes = codes if isinstance(codes, list) else [codes]
        unknown = [c for c in codes if c not in MESSAGES]
        if unknown:
            problems.append(
                f"sandbox.uploaders.{uploader}: unknown reason {', '.join(map(str, unknown))} "
                f"(known: {', '.join(MESSAGES)})"
            )
        uploaders[str(uploader)] = tuple(str(c) for c in codes)
    images: list[TestImage] = []
    for n, entry in enumerate(section.get("images") or []):
        colour = str((entry or {}).get("colour", ""))
        action = str((entry or {}).get("list_action", "review"))
        if not _COLOUR.match(colour) or action not in ("block", "review"):
            problems.append(
                f"sandbox.images.{n}: give colour as #rrggbb and list_action block or review"
            )
            continue
        rgb = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
        images.append(
            TestImage((rgb[0], rgb[1], rgb[2]), str(entry.get("category", "default")), action)
        )
    if problems:
        raise PolicyError(source, problems)
    return Sandbox(policy=policy, uploaders=uploaders, images=tuple(images))


_loaded: dict[tuple[str, float], Sandbox] = {}


def sandbox_in_force(path: str | Path | None) -> Sandbox:
    """The sandbox policy at `path` (or the shipped one), read again when the file changes."""
    path = Path(path or SANDBOX_POLICY_PATH)
    key = (str(path), path.stat().st_mtime if path.exists() else 0.0)
    if key not in _loaded:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise PolicyError(str(path), [f"cannot read the file ({exc.strerror})"]) from exc
        _loaded.clear()
        _loaded[key] = parse_sandbox(text, source=str(path))
    return _loaded[key]


def _solid_colour(data: bytes) -> tuple[int, int, int] | None:
    try:
        with Image.open(io.BytesIO(data)) as img:
            bands = img.convert("RGB").getextrema()
    except Exception:  # noqa: BLE001 - an undecodable image is simply not a test image
        return None
    lows = [band[0] for band in bands if isinstance(band, tuple)]
    highs = [band[1] for band in bands if isinstance(band, tuple)]
    if len(lows) == 3 and lows == highs:
        return (int(lows[0]), int(lows[1]), int(lows[2]))
    return None


def sandbox_answer(
    request: CheckRequest, images: list[tuple[str, bytes]], *, sandbox: Sandbox
) -> CheckAnswer:
    """The sandbox's answer to a check, from the sandbox policy's test ids and images."""
    policy = sandbox.policy
    digest = hashlib.sha256(request.model_dump_json().encode())
    for path, data in sorted(images):
        digest.update(f"{path}\0{hashlib.sha256(data).hexdigest()}".encode())
    check_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"hostguard:sandbox:{digest.hexdigest()}"))
    visibility = request.repo.visibility
    outputs = model_outputs(request.repo.outputs, request.repo.pipeline_tag)
    owed = policy.statements_for(visibility, outputs=outputs)
    titles = ", ".join(s.title for s in owed) or "the platform's statements"
    reasons: list[Reason] = []
    steps: list[RequiredStep] = []
    matches: list[Match] = []
    blocked = False
    codes = sandbox.uploaders.get(request.uploader.id, ())
    for code in codes:
        if code in BLOCKING:
            blocked = True
        text = MESSAGES[code].format(Visibility=visibility.capitalize(), titles=titles)
        reasons.append({"code": code, "message": text})
        if code in KYU_STEP:
            steps.append({"type": "kyu", "url": SANDBOX_LINK + "kyu"})
        elif code in CERTIFICATION_STEP and owed:
            steps.append(
                {
                    "type": "certification",
                    "url": SANDBOX_LINK + "certifications",
                    "statements": [s.public() for s in owed],
                }
            )
        elif code == "documentation_required":
            missing = ["metadata: license", "section: Intended uses"]
            step: dict[str, Any] = {
                "type": "documentation",
                "url": policy.documentation.guide_url,
                "missing": missing,
            }
            steps.append(step)  # type: ignore[arg-type]
    held_by_images = False
    for path, data in images:
        test = sandbox.image_for(_solid_colour(data))
        if test is None:
            continue
        action = policy.match_action(category=test.category, list_action=test.list_action)
        matches.append(
            {
                "path": path,
                "kind": "image",  # the test samples are solid-colour images
                "list": f"sandbox-{test.category}-{test.list_action}",
                "algorithm": "pdq",
                "distance": 0,
                "threshold": 31,
                "category": test.category,
                "list_action": test.list_action,
            }
        )
        blocked = blocked or action == MatchAction.BLOCK
        held_by_images = held_by_images or action == MatchAction.HOLD
    if matches:
        reasons.insert(
            0,
            {
                "code": "hash_match",
                "message": "A sample image matches a hash list; the upload was referred to the "
                "moderation team (sandbox: no case was opened).",
            },
        )
    holding = [r for r in reasons if r["code"] != "hash_match"] or held_by_images
    decision = "block" if blocked else ("hold" if holding else "allow")
    return {
        "check_id": check_id,
        "decision": decision,
        "reasons": reasons,
        "required_steps": steps,
        "matches": matches,
        "watermark": None,
        "policy": policy.ref,
        "sandbox": True,
    }
