"""Animated WebP, like GIF: a bounded number of frames is decoded and hashed."""

from __future__ import annotations

from hostguard.hashing.hasher import hash_blobs
from hostguard.hashing.imaging import DEFAULT_LIMITS, ImageLimits, load_image
from tests.hashing.images import encode, make_image


def animated_webp(count: int) -> bytes:
    frames = [make_image(seed, (120, 90)) for seed in range(count)]
    return encode(
        frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=40, lossless=True
    )


def test_animated_webp_decodes_a_bounded_number_of_distinct_frames():
    data = animated_webp(40)
    loaded = load_image(data, limits=ImageLimits(max_frames=5))
    assert loaded.format == "WEBP"
    assert len(loaded.frames) == 5
    assert len({f.tobytes() for f in loaded.frames}) == 5
    assert 1 < len(load_image(data).frames) <= DEFAULT_LIMITS.max_frames < 40


def test_animated_webp_hashes_each_decoded_frame_once_per_algorithm():
    data = animated_webp(30)
    [result] = hash_blobs(
        [("anim.webp", data)], ("pdq", "dhash"), variants=False, limits=ImageLimits(max_frames=4)
    )
    assert result.error is None
    for algorithm in ("pdq", "dhash"):
        frames = {h.frame for h in result.hashes if h.algorithm == algorithm and not h.trimmed}
        assert frames == {0, 1, 2, 3}
    assert len({h.hash for h in result.hashes if h.algorithm == "pdq" and not h.trimmed}) == 4
