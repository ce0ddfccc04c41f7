"""Watermark evidence: check the sample images for the watermark the uploader declared.

Only methods that can be checked offline are checked: C2PA content credentials (through
`c2pa-python`), IPTC `DigitalSourceType` metadata in the images' XMP, and the
invisible-watermark DWT-DCT mark Stable Diffusion XL embeds (through `invisible-watermark`,
an optional extra because it pulls in PyTorch). A failed decode is never proof of a false
statement: the result is `verified`, `not_found` or `inconclusive`, and the policy decides
what `not_found` does.

A C2PA manifest is `verified` only when its signer chains to a trust anchor the operator
configured (`HOSTGUARD_C2PA_TRUST_ANCHORS`) and it asserts AI generation (a `c2pa.actions`
`digitalSourceType` of `trainedAlgorithmicMedia` or `compositeWithTrainedAlgorithmicMedia`,
bare or as the IPTC URI). Anyone can sign with a certificate authority of their own making:
such a manifest validates (`Valid`) but is not `Trusted`, and is `inconclusive`, never
`verified`. IPTC metadata is unsigned, so it verifies only the `iptc-metadata` method (the
uploader declared metadata marking, which the EU AI Act's code of practice accepts, and the
metadata is there); under `c2pa` an image with metadata but no trusted manifest is
`inconclusive`.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import TypedDict, cast

import numpy as np
from PIL import Image

log = logging.getLogger(__name__)

# The fixed 48-bit message Stable Diffusion XL pipelines embed with invisible-watermark.
SDXL_WATERMARK_BITS = [int(b) for b in "101100111110110010010000011110111011000110011110"]
MAX_BIT_ERRORS = 2  # of 48 bits; random images agree on about 24
CHECKABLE_METHODS = ("c2pa", "invisible-watermark", "iptc-metadata")
# IPTC digital source types that say "made by a trained model" (cv.iptc.org/newscodes/digitalsourcetype)
AI_SOURCE_TYPES = frozenset({"trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia"})
IPTC_SOURCE_TYPE_URI = "http://cv.iptc.org/newscodes/digitalsourcetype/"
MAX_XMP_BYTES = 1 << 20


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


def is_ai_source_type(value: object) -> bool:
    """Whether an IPTC digital source type (bare name or URI) says the content was AI-generated."""
    if not isinstance(value, str):
        return False
    name = value.strip()
    if name.startswith(IPTC_SOURCE_TYPE_URI):
        name = name[len(IPTC_SOURCE_TYPE_URI) :]
    return name in AI_SOURCE_TYPES


def _asserts_ai_generation(manifest: dict | None) -> bool:
    for assertion in (manifest or {}).get("assertions", []) or []:
        if not str(assertion.get("label", "")).startswith("c2pa.actions"):
            continue
        for action in (assertion.get("data") or {}).get("actions", []) or []:
            if is_ai_source_type(action.get("digitalSourceType")):
                return True
    return False


def c2pa_settings(trust_anchors: str | None) -> dict:
    """c2pa-python settings: only the operator's anchors are trusted, nothing is fetched."""
    settings: dict = {"verify": {"verify_trust": True, "remote_manifest_fetch": False}}
    if trust_anchors:
        settings["trust"] = {"trust_anchors": trust_anchors}
    return settings


def check_c2pa(path: str, data: bytes, *, trust_anchors: str | None = None) -> ImageEvidence:
    try:
        import c2pa
    except ImportError:
        return ImageEvidence(path, Evidence.INCONCLUSIVE, "c2pa-python is not installed")
    mime = _mime(data)
    if mime is None:
        return ImageEvidence(path, Evidence.INCONCLUSIVE, "unknown image format")
    try:
        context = c2pa.Context.from_dict(c2pa_settings(trust_anchors))
        reader = c2pa.Reader.try_create(mime, io.BytesIO(data), context=context)
    except c2pa.C2paError as exc:
        return ImageEvidence(
            path, Evidence.INCONCLUSIVE, f"C2PA data could not be read ({type(exc).__name__})"
        )
    if reader is None:
        if xmp_source_type(data):
            return ImageEvidence(
                path,
                Evidence.INCONCLUSIVE,
                "no C2PA manifest; only unsigned IPTC metadata says the image is AI-generated",
            )
        return ImageEvidence(path, Evidence.NOT_FOUND, "no C2PA manifest in the image")
    with reader:
        state = reader.get_validation_state()
        manifest = reader.get_active_manifest()
    if state == "Trusted" and trust_anchors:
        if _asserts_ai_generation(manifest):
            return ImageEvidence(
                path, Evidence.VERIFIED, "C2PA manifest from a trusted signer says AI-generated"
            )
        return ImageEvidence(
            path,
            Evidence.NOT_FOUND,
            "C2PA manifest from a trusted signer does not say the image is AI-generated",
        )
    if state in ("Valid", "Trusted"):
        why = "no trust anchors are configured" if not trust_anchors else "an untrusted signer"
        return ImageEvidence(
            path, Evidence.INCONCLUSIVE, f"C2PA manifest signed by {why} (not verified)"
        )
    return ImageEvidence(
        path, Evidence.INCONCLUSIVE, f"C2PA manifest present but does not validate ({state})"
    )


_XMP_PACKET = re.compile(rb"<x:xmpmeta.{0,%d}?</x:xmpmeta>" % MAX_XMP_BYTES, re.S)
_SOURCE_TYPE = re.compile(
    r"DigitalSourceType(?:\s*=\s*[\"']([^\"']{1,300})[\"']|[^>]{0,300}?rdf:resource\s*=\s*[\"']"
    r"([^\"']{1,300})[\"']|\s*>\s*([^<\s]{1,300})\s*<)"
)


def _xmp_packets(data: bytes) -> list[str]:
    packets: list[str] = []
    try:
        with Image.open(io.BytesIO(data)) as img:
            for key in ("xmp", "XML:com.adobe.xmp"):
                value = img.info.get(key)
                if isinstance(value, bytes):
                    value = value.decode("utf-8", "replace")
                if isinstance(value, str):
                    packets.append(value[:MAX_XMP_BYTES])
    except Exception:  # noqa: BLE001 - an undecodable image simply has no readable metadata
        pass
    if not packets and (found := _XMP_PACKET.search(data)):
        packets.append(found.group(0).decode("utf-8", "replace"))
    return packets


def xmp_source_type(data: bytes) -> str | None:
    """The AI `Iptc4xmpExt:DigitalSourceType` in an image's XMP metadata, if it has one."""
    for packet in _xmp_packets(data):
        for found in _SOURCE_TYPE.finditer(packet):
            value = next(v for v in found.groups() if v)
            if is_ai_source_type(value):
                return value
    return None


def check_iptc_metadata(
    path: str, data: bytes, *, trust_anchors: str | None = None
) -> ImageEvidence:
    source_type = xmp_source_type(data)
    if source_type:
        return ImageEvidence(
            path, Evidence.VERIFIED, "IPTC DigitalSourceType metadata says AI-generated"
        )
    return ImageEvidence(
        path, Evidence.NOT_FOUND, "no IPTC DigitalSourceType metadata saying AI-generated"
    )


def _bgr(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as img:
        rgb = np.asarray(img.convert("RGB"))
    return np.ascontiguousarray(rgb[:, :, ::-1])


def check_invisible_watermark(
    path: str, data: bytes, *, trust_anchors: str | None = None
) -> ImageEvidence:
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


CHECKERS = {
    "c2pa": check_c2pa,
    "invisible-watermark": check_invisible_watermark,
    "iptc-metadata": check_iptc_metadata,
}


def check_watermark(
    method: str,
    images: list[tuple[str, bytes]],
    *,
    trust_anchors: str | None = None,
    samples: str = "every",
) -> WatermarkEvidence:
    """Check every sample image and combine: with `samples="every"` (the policy's default) each
    image must carry the mark, a `not_found` anywhere decides; with `"any"` one verified
    image verifies and `not_found` needs all to agree."""
    checker = CHECKERS.get(method)
    if checker is None:
        return WatermarkEvidence(
            method, Evidence.INCONCLUSIVE, f"'{method}' cannot be checked offline"
        )
    if not images:
        return WatermarkEvidence(method, Evidence.INCONCLUSIVE, "no sample images to check")
    results = [checker(path, data, trust_anchors=trust_anchors) for path, data in images]
    found = [r.result for r in results]
    if samples == "any":
        if Evidence.VERIFIED in found:
            return WatermarkEvidence(
                method, Evidence.VERIFIED, "watermark found in a sample image", results
            )
    elif all(r == Evidence.VERIFIED for r in found):
        return WatermarkEvidence(
            method, Evidence.VERIFIED, "watermark found in every sample image", results
        )
    elif Evidence.NOT_FOUND in found:
        return WatermarkEvidence(
            method,
            Evidence.NOT_FOUND,
            "a sample image does not carry the declared watermark",
            results,
        )
    if Evidence.INCONCLUSIVE in found:
        return WatermarkEvidence(
            method, Evidence.INCONCLUSIVE, "some sample images could not be checked", results
        )
    return WatermarkEvidence(
        method, Evidence.NOT_FOUND, "no sample image carries the declared watermark", results
    )
