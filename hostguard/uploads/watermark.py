"""Watermark evidence: check the sample images for the watermark the uploader declared.

Only methods that can be checked offline are checked: C2PA content credentials (through
`c2pa-python`) and the invisible-watermark DWT-DCT mark Stable Diffusion XL embeds (through
`invisible-watermark`, an optional extra because it pulls in PyTorch). A failed decode is
never proof of a false statement: the result is `verified`, `not_found` or `inconclusive`,
and the policy decides what `not_found` does.
"""

from __future__ import annotations

import io
import logging
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import TypedDict, cast

import numpy as np
from PIL import Image

log = logging.getLogger(__name__)

# The fixed 48-bit message Stable Diffusion XL pipelines embed with invisible-watermark.
SDXL_WATERMARK_BITS = [int(b) for b in "101100111110110010010000011110111011000110011110"]
MAX_BIT_ERRORS = 2  # of 48 bits; random images agree on about 24
CHECKABLE_METHODS = ("c2pa", "invisible-watermark")


class Evidence(StrEnum):
    VERIFIED = "verified"
    NOT_FOUND = "not_found"
    INCONCLUSIVE = "inconclusive"


class ImageEvidenceJson(TypedDict):
    path: str
    result: str  # an `Evidence` value
    detail: str


class WatermarkJson(TypedDict):
    """`WatermarkEvidence.to_dict`: kept in `UploadCheck.watermark` and answered as it is."""

    method: str
    result: str  # an `Evidence` value
    detail: str
    images: list[ImageEvidenceJson]


@dataclass
class ImageEvidence:
    path: str
    result: Evidence
    detail: str


@dataclass
class WatermarkEvidence:
    method: str
    result: Evidence
    detail: str
    images: list[ImageEvidence] = field(default_factory=list)

    def to_dict(self) -> WatermarkJson:
        return cast(WatermarkJson, asdict(self))


def _mime(data: bytes) -> str | None:
    import filetype

    kind = filetype.guess(data)
    return kind.mime if kind else None


def check_c2pa(path: str, data: bytes) -> ImageEvidence:
    try:
        import c2pa
    except ImportError:
        return ImageEvidence(path, Evidence.INCONCLUSIVE, "c2pa-python is not installed")
    mime = _mime(data)
    if mime is None:
        return ImageEvidence(path, Evidence.INCONCLUSIVE, "unknown image format")
    try:
        reader = c2pa.Reader.try_create(mime, io.BytesIO(data))
    except c2pa.C2paError as exc:
        return ImageEvidence(
            path, Evidence.INCONCLUSIVE, f"C2PA data could not be read ({type(exc).__name__})"
        )
    if reader is None:
        return ImageEvidence(path, Evidence.NOT_FOUND, "no C2PA manifest in the image")
    with reader:
        state = reader.get_validation_state()
    if state in ("Valid", "Trusted"):
        return ImageEvidence(path, Evidence.VERIFIED, f"C2PA manifest present ({state.lower()})")
    return ImageEvidence(
        path, Evidence.INCONCLUSIVE, f"C2PA manifest present but does not validate ({state})"
    )


def _bgr(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as img:
        rgb = np.asarray(img.convert("RGB"))
    return np.ascontiguousarray(rgb[:, :, ::-1])


def check_invisible_watermark(path: str, data: bytes) -> ImageEvidence:
    try:
        from imwatermark import WatermarkDecoder
    except ImportError:
        return ImageEvidence(
            path,
            Evidence.INCONCLUSIVE,
            "invisible-watermark is not installed (pip install 'hostguard[watermark]')",
        )
    try:
        bgr = _bgr(data)
    except Exception:  # noqa: BLE001 - any undecodable image is simply not evidence
        return ImageEvidence(path, Evidence.INCONCLUSIVE, "the image could not be decoded")
    if min(bgr.shape[:2]) < 256:
        return ImageEvidence(path, Evidence.INCONCLUSIVE, "image too small to decode a watermark")
    bits = [int(b) for b in WatermarkDecoder("bits", 48).decode(bgr, "dwtDct")]
    errors = sum(a != b for a, b in zip(bits, SDXL_WATERMARK_BITS, strict=True))
    if errors <= MAX_BIT_ERRORS:
        return ImageEvidence(path, Evidence.VERIFIED, "invisible-watermark (SDXL message) decoded")
    if _mime(data) == "image/jpeg":
        return ImageEvidence(
            path, Evidence.INCONCLUSIVE, "no watermark decoded; JPEG compression can destroy it"
        )
    return ImageEvidence(path, Evidence.NOT_FOUND, "no invisible-watermark message decoded")


CHECKERS = {"c2pa": check_c2pa, "invisible-watermark": check_invisible_watermark}


def check_watermark(method: str, images: list[tuple[str, bytes]]) -> WatermarkEvidence:
    """Check every sample image; one verified image verifies, a not-found needs all to agree."""
    checker = CHECKERS.get(method)
    if checker is None:
        return WatermarkEvidence(
            method, Evidence.INCONCLUSIVE, f"'{method}' cannot be checked offline"
        )
    if not images:
        return WatermarkEvidence(method, Evidence.INCONCLUSIVE, "no sample images to check")
    results = [checker(path, data) for path, data in images]
    if any(r.result == Evidence.VERIFIED for r in results):
        overall, detail = Evidence.VERIFIED, "watermark found in a sample image"
    elif any(r.result == Evidence.INCONCLUSIVE for r in results):
        overall, detail = Evidence.INCONCLUSIVE, "some sample images could not be checked"
    else:
        overall, detail = Evidence.NOT_FOUND, "no sample image carries the declared watermark"
    return WatermarkEvidence(method, overall, detail, results)
