"""Watermark evidence from sample images: verified, not_found or inconclusive, never a guess."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from hostguard.uploads.watermark import SDXL_WATERMARK_BITS, Evidence, check_watermark


def _picture(size: int = 512) -> np.ndarray:
    rng = np.random.default_rng(7)
    x = np.linspace(0, 255, size)
    base = np.add.outer(x, x) / 2
    return np.stack(
        [base, np.roll(base, 50, 0), base * 0.7 + rng.random((size, size)) * 60], -1
    ).astype(np.uint8)


def _encode(rgb: np.ndarray, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, fmt)
    return buf.getvalue()


def test_plain_png_has_no_c2pa_manifest():
    import c2pa  # noqa: F401

    evidence = check_watermark("c2pa", [("sample.png", _encode(_picture()))])
    assert evidence.result == Evidence.NOT_FOUND
    assert evidence.images[0].detail == "no C2PA manifest in the image"


def test_sdxl_invisible_watermark_is_verified_and_its_absence_not_found():
    import imwatermark

    encoder = imwatermark.WatermarkEncoder()
    encoder.set_watermark("bits", SDXL_WATERMARK_BITS)
    rgb = _picture()
    marked = encoder.encode(np.ascontiguousarray(rgb[:, :, ::-1]), "dwtDct")[:, :, ::-1]
    assert (
        check_watermark(
            "invisible-watermark", [("a.png", _encode(np.ascontiguousarray(marked)))]
        ).result
        == Evidence.VERIFIED
    )
    assert (
        check_watermark("invisible-watermark", [("b.png", _encode(rgb))]).result
        == Evidence.NOT_FOUND
    )
    # one marked image among unmarked ones is enough only when the policy says "any"
    both = [("b.png", _encode(rgb)), ("a.png", _encode(np.ascontiguousarray(marked)))]
    assert check_watermark("invisible-watermark", both, samples="any").result == Evidence.VERIFIED
    assert check_watermark("invisible-watermark", both).result == Evidence.NOT_FOUND


def test_unmarked_jpeg_is_inconclusive_not_an_accusation():
    import imwatermark  # noqa: F401

    evidence = check_watermark("invisible-watermark", [("c.jpg", _encode(_picture(), "JPEG"))])
    assert evidence.result == Evidence.INCONCLUSIVE


@pytest.mark.parametrize(
    ("method", "images", "detail"),
    [
        ("other", [("a.png", b"x")], "cannot be checked offline"),
        ("c2pa", [], "no sample images"),
    ],
)
def test_uncheckable_cases_are_inconclusive(method, images, detail):
    evidence = check_watermark(method, images)
    assert evidence.result == Evidence.INCONCLUSIVE
    assert detail in evidence.detail


def test_small_or_broken_images_are_inconclusive():
    import imwatermark  # noqa: F401

    assert (
        check_watermark("invisible-watermark", [("s.png", _encode(_picture(64)))]).result
        == Evidence.INCONCLUSIVE
    )
    assert (
        check_watermark("invisible-watermark", [("x.png", b"not an image")]).result
        == Evidence.INCONCLUSIVE
    )
