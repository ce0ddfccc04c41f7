"""The sandbox: upload checks made with a sandbox API key, answered from documented test
uploader ids and test images, so a platform can see every decision before it goes live.

Nothing is stored and nothing follows: no uploader, repo or check row, no case, no webhook, no
audit entry, nothing any report counts. The answer has the shape of a real one (a stable
`check_id` for the same request, the policy's own statements) and says `"sandbox": true`.

Test uploader ids (`uploader.id`):

| id | decision | reasons |
| --- | --- | --- |
| `sandbox-kyu` | hold | `kyu_required` (with a `kyu` step) |
| `sandbox-kyu-pending` | hold | `kyu_pending` |
| `sandbox-certification` | hold | `certification_required` (the policy's statements for the visibility) |
| `sandbox-documentation` | hold | `documentation_required` |
| `sandbox-suspended` | block | `uploader_suspended` |
| any other | allow | none |

Test images (a sample image of one solid colour, any size or format): pure red `#ff0000`
blocks (`hash_match`, list action `block`), pure blue `#0000ff` holds (`hash_match`, list
action `review`).
"""

from __future__ import annotations

import hashlib
import io
import uuid

from PIL import Image

from hostguard.policy import Policy
from hostguard.uploads.check import CheckAnswer, CheckRequest, Match, Reason, RequiredStep
from hostguard.uploads.outputs import model_outputs

SANDBOX_LINK = "https://sandbox.hostguard.invalid/portal/"  # never a real portal link
TEST_COLOURS = {(255, 0, 0): "block", (0, 0, 255): "review"}


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


def _reason(code: str, message: str) -> Reason:
    return {"code": code, "message": message}


def sandbox_answer(
    request: CheckRequest, images: list[tuple[str, bytes]], *, policy: Policy
) -> CheckAnswer:
    """The sandbox's answer to a check (see the module docstring for the test ids and images)."""
    digest = hashlib.sha256(request.model_dump_json().encode())
    for path, data in sorted(images):
        digest.update(f"{path}\0{hashlib.sha256(data).hexdigest()}".encode())
    check_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"hostguard:sandbox:{digest.hexdigest()}"))
    reasons: list[Reason] = []
    steps: list[RequiredStep] = []
    matches: list[Match] = []
    blocked = False
    uploader = request.uploader.id
    visibility = request.repo.visibility
    if uploader == "sandbox-suspended":
        reasons.append(_reason("uploader_suspended", "The uploader's account is suspended."))
        blocked = True
    for path, data in images:
        list_action = TEST_COLOURS.get(_solid_colour(data) or (-1, -1, -1))
        if list_action:
            matches.append(
                {
                    "path": path,
                    "list": f"sandbox-{list_action}",
                    "algorithm": "pdq",
                    "distance": 0,
                    "threshold": 31,
                    "category": "sandbox",
                    "list_action": list_action,
                }
            )
            blocked = blocked or list_action == "block"
    if matches:
        reasons.append(
            _reason(
                "hash_match",
                "A sample image matches a hash list; the upload was referred to the "
                "moderation team (sandbox: no case was opened).",
            )
        )
    if uploader == "sandbox-kyu":
        reasons.append(
            _reason(
                "kyu_required",
                f"{visibility.capitalize()} uploads need a verified identity (know-your-uploader).",
            )
        )
        steps.append({"type": "kyu", "url": SANDBOX_LINK + "kyu"})
    if uploader == "sandbox-kyu-pending":
        reasons.append(
            _reason("kyu_pending", "The uploader's identity details are waiting for review.")
        )
    if uploader == "sandbox-certification":
        outputs = model_outputs(request.repo.outputs, request.repo.pipeline_tag)
        owed = policy.statements_for(visibility, outputs=outputs)
        if owed:
            titles = ", ".join(s.title for s in owed)
            reasons.append(
                _reason("certification_required", f"The uploader has not yet signed: {titles}.")
            )
            steps.append(
                {
                    "type": "certification",
                    "url": SANDBOX_LINK + "certifications",
                    "statements": [s.public() for s in owed],
                }
            )
    if uploader == "sandbox-documentation":
        missing = ["metadata: license", "section: Intended uses"]
        reasons.append(
            _reason(
                "documentation_required",
                "The model card is missing what the platform requires: " + ", ".join(missing) + ".",
            )
        )
        steps.append(
            {"type": "documentation", "url": policy.documentation.guide_url, "missing": missing}
        )
    decision = "block" if blocked else ("hold" if reasons else "allow")
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
