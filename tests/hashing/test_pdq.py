"""hostguard's own PDQ gives the reference implementation's coefficients, hashes and quality."""

from __future__ import annotations

import io

import numpy as np
import pdqhash  # the reference (ThreatExchange's C++ PDQ), a test dependency only
import pytest

from hostguard.hashing.algorithms import ALGORITHMS, DIHEDRAL, bits_to_hex
from hostguard.hashing.hasher import hash_file
from hostguard.hashing.pdq import (
    _DCT,
    ZERO_HASH,
    _axis_taps,
    _axis_weights,
    _dct_and_quality,
    _hex,
    _numpy_samples,
    _samples,
    pdq_dihedral,
    pdq_hash,
)
from tests.hashing.images import make_image

# Working-frame sizes and trimmed crops: even and odd box windows (1-4 pixels), sides that
# 64 divides and ones it does not, exactly 64, under 64, and under PDQ's 5-pixel minimum.
SIZES = [
    (512, 384),
    (384, 288),
    (503, 324),
    (511, 511),
    (257, 129),
    (128, 96),
    (64, 64),
    (63, 40),
    (17, 9),
    (5, 5),
    (4, 30),
]


def reference_one(pixels: np.ndarray) -> tuple[str, int]:
    rgb = pixels if pixels.ndim == 3 else np.stack([pixels] * 3, axis=-1)
    vector, quality = pdqhash.compute(np.ascontiguousarray(rgb))
    return bits_to_hex(vector), int(quality)


def reference(pixels: np.ndarray) -> tuple[list[str], int]:
    """The reference's hash of the pixels turned each way (in DIHEDRAL's order), and quality."""
    turns = [
        pixels,
        np.rot90(pixels),
        np.rot90(pixels, 2),
        np.rot90(pixels, 3),
        pixels[:, ::-1],
        pixels[::-1],
        pixels.swapaxes(0, 1),
        np.rot90(pixels, 2).swapaxes(0, 1),
    ]
    return [reference_one(turned)[0] for turned in turns], reference_one(pixels)[1]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_hashes_and_quality_are_the_reference_ones(size, mode):
    for seed in range(12):
        pixels = np.asarray(
            make_image(seed, (max(size[0], 40), max(size[1], 40))).resize(size).convert(mode)
        )
        hashes, quality = pdq_dihedral(pixels)
        assert (hashes, quality) == reference(pixels), (seed, size, mode)
        assert pdq_hash(pixels) == (hashes[0], quality)


def test_a_flat_image_has_quality_zero_and_a_tiny_one_hashes_to_zero():
    flat = np.full((200, 300), 120, dtype=np.uint8)
    assert pdq_hash(flat)[1] == 0 == reference(flat)[1]
    assert pdq_dihedral(np.zeros((4, 100), dtype=np.uint8)) == ([ZERO_HASH] * 8, 0)


def test_each_orientation_is_the_hash_of_the_image_turned_that_way():
    pdq = ALGORITHMS["pdq"]
    for size in ((384, 384), (503, 324)):
        image = make_image(7, size).convert("L")
        variants = {value.variant: value.hash for value in pdq.hash_variants(image)}
        for name, operation in DIHEDRAL:
            turned = image if operation is None else image.transpose(operation)
            assert pdq.hash_image(turned).hash == variants[name], (size, name)


def test_the_references_dihedral_shortcut_drifts_on_texture_and_ours_does_not():
    """The reference's dihedral hashes are sign changes of the original's DCT; its sample
    grid is not centred, so on noise its mirror is far from the mirrored image's own hash."""
    noise = np.random.default_rng(0).integers(0, 256, (384, 512), dtype=np.uint8)
    mirrored = np.ascontiguousarray(noise[:, ::-1])
    vectors, _quality = pdqhash.compute_dihedral(np.stack([noise] * 3, axis=-1))
    pdq = ALGORITHMS["pdq"]
    shortcut = bits_to_hex(vectors[4])  # the reference's left-right mirror ("flipY")
    assert pdq.distance(shortcut, reference_one(mirrored)[0]) > 31
    assert pdq_dihedral(noise)[0][4] == reference_one(mirrored)[0]


def test_each_sample_weighs_only_nearby_pixels_and_the_weights_sum_to_one():
    for length in (5, 64, 129, 384, 503, 512):
        weights = _axis_weights(length)
        assert weights.shape == (64, length)
        assert np.allclose(weights.sum(axis=1), 1.0)
        window = (length + 127) // 128
        positions, chosen = _axis_taps(length)
        assert positions.shape == chosen.shape == (64, 2 * window - 1)
        rebuilt = np.zeros_like(weights)
        np.put_along_axis(rebuilt, positions, chosen, axis=1)
        assert np.array_equal(rebuilt, weights)  # the taps leave out only zeros
    with pytest.raises(ValueError):
        _axis_taps(512)[1][0, 0] = 1.0  # cached and shared, so read-only


def test_a_file_is_pdq_hashed_at_its_working_size_without_another_resize():
    image = make_image(3, (512, 384))  # already the working size: decoded and used as it is
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    result = hash_file("f.png", buffer.getvalue(), ["pdq"])
    hashes, quality = reference(np.asarray(image.convert("L")))
    assert result.primary("pdq").hash == hashes[0]
    assert result.primary("pdq").quality == quality


def test_numpys_blas_runs_on_one_thread_once_hashing_is_imported():
    from threadpoolctl import threadpool_info

    numpys = [
        pool
        for pool in threadpool_info()
        if pool["user_api"] == "blas" and "/numpy" in pool["filepath"]
    ]
    assert numpys and all(pool["num_threads"] == 1 for pool in numpys)


def drawings() -> dict[str, np.ndarray]:
    """Pictures whose DCT has many coefficients that are exactly zero in exact arithmetic."""
    from PIL import Image, ImageDraw

    logo = Image.new("L", (512, 384), 255)
    ImageDraw.Draw(logo).ellipse((128, 96, 384, 288), fill=40)
    gradient = np.tile(np.linspace(0, 255, 384).astype(np.uint8)[:, None], (1, 512))
    stripes = np.tile(((np.arange(512) // 32) % 2 * 255).astype(np.uint8), (384, 1))
    return {"logo": np.asarray(logo), "gradient": gradient, "stripes": stripes}


@pytest.mark.parametrize("name", ["logo", "gradient", "stripes"])
def test_coefficients_match_the_reference_where_rounding_decides_the_bits(name):
    pixels = drawings()[name]
    dct, quality = _dct_and_quality(pixels)
    theirs, their_quality = pdqhash.compute_float(np.ascontiguousarray(np.stack([pixels] * 3, -1)))
    theirs = np.asarray(theirs, dtype=np.float64)[::-1].reshape(16, 16)
    assert quality == their_quality
    tolerance = 1e-3  # coefficients of 8-bit pixels run into the thousands (2,693 for the logo)
    assert np.allclose(dct, theirs, rtol=0, atol=tolerance)
    # every bit whose coefficient is clearly away from the median is the reference's
    median = np.sort(theirs.ravel())[127]
    clear = np.abs(theirs - median) > tolerance
    ours_bits = dct > np.sort(dct.ravel())[127]
    assert np.array_equal(ours_bits[clear], (theirs > median)[clear])


def test_other_pixel_types_are_refused_with_a_clear_error():
    for bad in (np.zeros((20, 20)), np.zeros((20, 20, 4), np.uint8), np.zeros((20, 20), bool)):
        with pytest.raises(ValueError, match="8-bit pixels"):
            pdq_hash(bad)


# --- the compiled loops against the previous implementation -------------------------------


def previous_quality(samples: np.ndarray) -> int:
    """Quality as the numpy implementation computed it before the compiled loops."""
    small = samples.astype(np.float32)
    scale, full = np.float32(100), np.float32(255)
    steps = np.trunc((small[:-1] - small[1:]) * scale / full)
    across = np.trunc((small[:, :-1] - small[:, 1:]) * scale / full)
    gradient = int(np.abs(steps).sum(dtype=np.int64) + np.abs(across).sum(dtype=np.int64))
    return min(100, gradient // 90)


def previous_dihedral(pixels: np.ndarray) -> tuple[list[str], int]:
    """`pdq_dihedral` as numpy computed it before the compiled loops: einsum's samples, then
    one DCT product at a time (each grid and transpose as einsum laid it out in memory)."""
    grids = _numpy_samples(pixels, mirrored=True)
    plain, across, down, both = grids[0, 0], grids[0, 1], grids[1, 0], grids[1, 1]
    turned = [plain, across.T, both, down.T, across, down, plain.T, both.T]
    return _hex(np.stack([_DCT @ grid @ _DCT.T for grid in turned])), previous_quality(plain)


def grey_pictures() -> list[np.ndarray]:
    """Hundreds of grey frames as hashing gets them: the dataset benchmark's JPEGs decoded, a
    crop of each (a view, as the trimmed version is), photographs, noise of many sizes, and
    drawings whose bits rounding decides."""
    from benchmarks.hashing.images import benign_image, jpeg_bytes, photographs
    from hostguard.hashing.imaging import load_image

    rng = np.random.default_rng(15)
    frames = []
    for seed in range(120):
        size = (int(rng.integers(256, 513)), int(rng.integers(256, 513)))
        frame = np.asarray(load_image(jpeg_bytes(benign_image(seed, size))).frames[0])
        frames += [frame, frame[seed % 40 : frame.shape[0] - 3, 7 : frame.shape[1] - seed % 50]]
    for photo in photographs().values():
        grey = np.asarray(photo.convert("L"))
        frames += [grey, grey[11:-5, 3:-17], np.ascontiguousarray(grey[::2, ::3])]
    for _ in range(80):
        frames.append(rng.integers(0, 256, tuple(rng.integers(5, 1100, 2)), dtype=np.uint8))
    return frames + list(drawings().values())


def test_compiled_hashes_are_the_previous_implementations_bit_for_bit():
    """Grey pixels go through compiled loops: the same floats as numpy's einsum, so the same
    hashes and quality as before, where rounding decides bits too (the drawings)."""
    pictures = grey_pictures()
    assert len(pictures) > 300
    for number, pixels in enumerate(pictures):
        assert np.array_equal(_samples(pixels, True), _numpy_samples(pixels, True)), number
        hashes, quality = pdq_dihedral(pixels)
        assert (hashes, quality) == previous_dihedral(pixels), (number, pixels.shape)
        previous_one = _DCT @ _numpy_samples(pixels)[0, 0] @ _DCT.T
        assert pdq_hash(pixels) == (_hex(previous_one[None])[0], quality), number
