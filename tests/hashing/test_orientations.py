"""A turned, mirrored or EXIF-rotated file matches its original at the usual PDQ distance.

Hundreds of images of each kind where the drift showed (noise, blurred noise, smooth
gradients) and crops of real photographs, as PNG and JPEG, with sides that the reduction's
factors divide and ones they do not (a few above the working size, so the JPEG draft decode
and the whole-factor reduction run). The list holds the original file's primary PDQ hash; the
turned file's hash in the orientation that turns it back must be within a few bits of it.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import gaussian_filter

from benchmarks.hashing.images import photographs
from hostguard.hashing.algorithms import ALGORITHMS
from hostguard.hashing.hasher import hash_file

PDQ = ALGORITHMS["pdq"]
PER_KIND = 200
# The turn applied to the file, and the name of the query orientation that turns it back.
TURNS = {
    "flip_x": (Image.Transpose.FLIP_LEFT_RIGHT, "flip_x"),
    "flip_y": (Image.Transpose.FLIP_TOP_BOTTOM, "flip_y"),
    "rotate90": (Image.Transpose.ROTATE_90, "rotate270"),
    "rotate180": (Image.Transpose.ROTATE_180, "rotate180"),
    "rotate270": (Image.Transpose.ROTATE_270, "rotate90"),
    "flip_plus1": (Image.Transpose.TRANSPOSE, "flip_plus1"),
    "flip_minus1": (Image.Transpose.TRANSVERSE, "flip_minus1"),
}
# EXIF orientation tag -> the turn a viewer applies (what the file shows is the stored
# pixels turned this way), so the query orientation named by TURNS[turn] shows the stored ones.
EXIF_TURNS = {2: "flip_x", 3: "rotate180", 4: "flip_y", 5: "flip_plus1", 6: "rotate270"}
EXIF_TURNS |= {7: "flip_minus1", 8: "rotate90"}
# JPEG re-encoding of the turned pixels moves some bits (smooth gradients the most, as any
# re-save does); 31 is the distance PDQ lists match at. The very same pixels, turned back,
# give the same bits, up to a few where a side the reduction's factor does not divide is
# box-filtered (centred, but Pillow rounds the window edges).
MOST = 31
SAME_PIXELS = 6


def _size(rng: np.random.Generator, index: int) -> tuple[int, int]:
    if index % 20 == 0:  # above the working size: draft decode and whole-factor reduction
        return int(rng.integers(700, 1100)), int(rng.integers(520, 900))
    return int(rng.integers(64, 200)), int(rng.integers(64, 200))


def _grey(array: np.ndarray) -> Image.Image:
    low, high = array.min(), array.max()
    return Image.fromarray(((array - low) * (255 / max(high - low, 1e-9))).astype(np.uint8))


def noise(rng, size):
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0]), dtype=np.uint8))


def blurred_noise(rng, size):
    field = rng.random((size[1], size[0]))
    return _grey(gaussian_filter(field, float(rng.uniform(1, 6))))


def gradient(rng, size):
    """Smooth gradients between a grid of random levels, 8 to 12 a side, bicubically stretched.

    Smoother ones (3x3 levels, or a linear ramp) are no test of orientations: most of their
    256 coefficients are so near zero that even re-saving the unturned JPEG at quality 85 moves
    about 50 bits under any PDQ implementation."""
    count = int(rng.integers(8, 13))
    levels = Image.fromarray(rng.integers(0, 256, (count, count), dtype=np.uint8))
    return _grey(np.asarray(levels.resize(size, Image.Resampling.BICUBIC), dtype=np.float64))


_PHOTOS = list(photographs().values())


def photograph(rng, size):
    """A crop of one of the bundled photographs, resized to `size`."""
    photo = _PHOTOS[int(rng.integers(len(_PHOTOS)))]
    width, height = photo.size
    w, h = int(width * rng.uniform(0.5, 1)), int(height * rng.uniform(0.5, 1))
    x, y = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
    return photo.crop((x, y, x + w, y + h)).resize(size, Image.Resampling.BILINEAR)


KINDS = {
    "noise": noise,
    "blurred_noise": blurred_noise,
    "gradient": gradient,
    "photograph": photograph,
}


def _file(img: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, fmt, **({"quality": 90} if fmt == "JPEG" else {}), **options)
    return buffer.getvalue()


def _variants(data: bytes) -> dict[str, str]:
    return {h.variant: h.hash for h in hash_file("q", data, ["pdq"]).hashes if not h.trimmed}


@pytest.mark.parametrize("kind", KINDS)
def test_turned_mirrored_and_exif_rotated_files_match_their_original(kind):
    rng = np.random.default_rng(list(KINDS).index(kind))
    turns = list(TURNS)
    distances = []
    for index in range(PER_KIND):
        size = _size(rng, index)
        image = KINDS[kind](rng, size)
        fmt = "JPEG" if index % 2 else "PNG"
        listed = hash_file("o", _file(image, fmt), ["pdq"]).primary("pdq").hash
        turn = turns[index % len(turns)]
        operation, back = TURNS[turn]
        turned = _variants(_file(image.transpose(operation), fmt))
        distances.append(("turned", turn, PDQ.distance(turned[back], listed)))
        # The same pixels stored with an EXIF orientation: the file shows them turned.
        tag = 2 + index % 7
        exif = Image.Exif()
        exif[0x0112] = tag
        shown = _variants(_file(image, fmt, exif=exif.tobytes()))
        distances.append(("exif", tag, PDQ.distance(shown[TURNS[EXIF_TURNS[tag]][1]], listed)))
    worst = max(distances, key=lambda d: d[2])
    assert worst[2] <= MOST, (kind, worst)
    # Files with the very same pixels (PNG, and EXIF-rotated JPEGs) come back to the same bits.
    exact = [d for i, d in enumerate(distances) if d[0] == "exif" or (i // 2) % 2 == 0]
    assert max(d[2] for d in exact) <= SAME_PIXELS, (kind, max(exact, key=lambda d: d[2]))


def test_a_blurred_noise_photo_at_1024x768_matches_its_mirror_and_its_turns():
    """The case reported: a 1024x768 blurred-noise JPEG's mirror was 40 bits away."""
    rng = np.random.default_rng(1)
    image = _grey(gaussian_filter(rng.random((768, 1024)), 2)).convert("RGB")
    listed = hash_file("o", _file(image, "JPEG"), ["pdq"]).primary("pdq").hash
    for turn, (operation, back) in TURNS.items():
        turned = _variants(_file(image.transpose(operation), "JPEG"))
        assert PDQ.distance(turned[back], listed) <= 8, turn
