"""A flat image on a hash list (PDQ quality below 50, like a motion-blurred photo) is still
matched, at the policy's stricter threshold, and holds the upload for review with its reason."""

from __future__ import annotations

import io
import json

from PIL import Image, ImageEnhance, ImageFilter

from hostguard.hashing.algorithms import ALGORITHMS
from hostguard.hashing.service import import_list
from tests.hashing.images import encode, make_image
from tests.uploads.test_check_api import codes

PDQ = ALGORITHMS["pdq"]


def flat_image(seed: int) -> Image.Image:
    """A picture blurred and faded until little texture is left (PDQ quality 20-40), as a
    clock photographed in motion (scikit-image's clock_motion.png has quality 34)."""
    blurred = make_image(seed, (400, 300)).filter(ImageFilter.GaussianBlur(8))
    return ImageEnhance.Contrast(blurred).enhance(0.3)


def put_on_a_block_list(runtime, image: Image.Image) -> str:
    value = PDQ.hash_image(image)
    assert 0 < value.quality < 50, value.quality  # a low-quality hash, as the case needs
    with runtime.session() as s:
        import_list(
            session=s,
            actor="test",
            name="known",
            data=value.hash + "\n",
            algorithm="pdq",
            category="csam",  # a category and list that block a sure match
        )
    return value.hash


def test_a_flat_listed_image_and_its_edited_copy_are_held_with_the_reason(checker, runtime):
    image = flat_image(5)
    listed = put_on_a_block_list(runtime, image)
    edited = ImageEnhance.Contrast(image).enhance(0.8)  # less contrast, saved as JPEG
    for name, data in (
        ("samples/again.png", encode(image, "PNG")),
        ("samples/edited.jpg", encode(edited, "JPEG", quality=80)),
    ):
        status, body = checker(images=[(name, data)])
        assert status == 200
        assert body["decision"] == "hold", body  # never blocked, never let through
        assert "hash_match_low_quality" in codes(body) and "hash_match" not in codes(body)
        (match,) = body["matches"]
        assert match["low_quality"] is True and match["threshold"] == 16
        assert listed not in json.dumps(body)


def test_another_flat_image_is_not_matched(checker, runtime):
    put_on_a_block_list(runtime, flat_image(5))
    other = flat_image(6)
    assert PDQ.hash_image(other).quality < 50
    _, body = checker(images=[("samples/other.png", encode(other, "PNG"))])
    assert body["matches"] == [] and "hash_match_low_quality" not in codes(body)


def test_scan_json_marks_a_match_found_through_a_low_quality_hash(cli, runtime, tmp_path):
    image = flat_image(5)
    put_on_a_block_list(runtime, image)
    path = tmp_path / "again.jpg"
    path.write_bytes(encode(image, "JPEG", quality=90))
    result = cli("scan", "--json", str(path))
    assert result.exit_code == 1, result.output
    (scan,) = json.loads(result.output)["results"]
    assert scan["low_quality"] is True
    (match,) = scan["matches"]
    assert match["low_quality"] is True and match["threshold"] == 16
    human = cli("scan", str(path))
    assert "low-quality PDQ hash: review" in human.output


def test_the_scan_api_marks_a_match_found_through_a_low_quality_hash(client, operator, runtime):
    image = flat_image(5)
    put_on_a_block_list(runtime, image)
    response = client.post(
        "/api/v1/scan",
        headers=operator,
        content_type="multipart/form-data",
        data={"images": [(io.BytesIO(encode(image, "JPEG", quality=85)), "again.jpg")]},
    )
    assert response.status_code == 200
    (scan,) = response.get_json()["results"]
    (match,) = scan["matches"]
    assert scan["matched"] is True and match["low_quality"] is True
