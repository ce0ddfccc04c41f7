"""PDQ, Meta's 256-bit perceptual hash, computed with numpy: the reference's hashes and quality.

The reference implementation (ThreatExchange `pdq/cpp`, which the `pdqhash` package wraps)
blurs the image's luma with two passes of box filters along the rows and the columns (a tent
filter), keeps 64x64 evenly spaced samples, scores quality from the samples' gradients, and
sets each of the 256 bits by whether a 16x16 low-frequency DCT coefficient is above their
median. Blurring and sampling are linear, so each axis becomes a (64, length) weight matrix,
built once per length, and each sample reads only the few neighbouring pixels its weights
cover: several times faster than the reference's filter passes over every pixel of
hostguard's 512-1023 px frames, with the same bits (tests/hashing/test_pdq.py compares both
over hundreds of images and sizes). The eight dihedral hashes are the hashes of the turned
pixels (see `pdq_dihedral` for why not the reference's shortcut).

Same bits needs a clear median. Where many coefficients are exactly zero in exact arithmetic
(mirror-symmetric drawings, pure gradients, stripes), the median is zero too, and whether
such a coefficient lands above it is decided by rounding, in the reference's float32 sums as
in these float64 ones: those bits can differ, and two copies of such a picture disagree in
them under any PDQ implementation (a pure gradient's 256 coefficients are all zero, so its
whole hash is rounding). The coefficients themselves agree with the reference's to within
0.001, where they run into the thousands (tested).

Importing this module caps BLAS at one thread for the process. Hashing runs in many request
threads and processes at once; its matrix products (the DCT here, the 64-bit hashes' shrinks
in hasher.py) are small, and BLAS threads of their own only fight those for the same cores
(a dense version of the blur ran three to four times slower under load with them).
"""

from __future__ import annotations

import functools

import numba
import numpy as np
from threadpoolctl import threadpool_limits

threadpool_limits(limits=1, user_api="blas")

MIN_SIDE = 5  # the reference hashes smaller images as all zeros with quality 0
ZERO_HASH = "0" * 64

# The reference's 16x64 DCT matrix (rows 1-16 of the 64-point DCT-II), stored as float32.
_DCT = (
    (
        np.float32(np.sqrt(2.0 / 64))
        * np.cos((np.pi / 2 / 64) * np.outer(np.arange(1, 17), 2 * np.arange(64) + 1))
    )
    .astype(np.float32)
    .astype(np.float64)
)


def _axis_weights(length: int) -> np.ndarray:
    """(64, length): the 64 samples along one axis as weighted sums of its pixels.

    Each box pass averages a window of `full` pixels (fewer at the edges, where the window is
    cut short and the average is over what is left), and two passes are the composition. The
    sample for output i is the filtered pixel at int((i + 0.5) * length / 64).
    """
    full = (length + 2 * 64 - 1) // (2 * 64)
    half = (full + 2) // 2
    position = np.arange(length)
    low = np.maximum(0, position - (full - half))
    high = np.minimum(length - 1, position + half - 1)
    samples = (((np.arange(64) + 0.5) * length) / 64).astype(np.int64)
    outputs = np.arange(64)
    weights = np.zeros((64, length))
    for step in range(full):  # the pixels each sample averages, one offset at a time
        pixel = low[samples] + step
        inside = pixel <= high[samples]
        pixel = np.minimum(pixel, length - 1)
        share = np.where(inside, 1.0 / (high[samples] - low[samples] + 1), 0.0)
        share = share / (high[pixel] - low[pixel] + 1)
        for offset in range(full):  # and the pixels each of those averages
            column = low[pixel] + offset
            np.add.at(
                weights,
                (outputs, np.minimum(column, length - 1)),
                np.where(column <= high[pixel], share, 0.0),
            )
    return weights


@functools.lru_cache(maxsize=1024)
def _axis_taps(length: int) -> tuple[np.ndarray, np.ndarray]:
    """The same as (64, taps) pixel positions and their weights: each sample uses only the
    few pixels (at most 2 * window - 1) around it, so the rest of each row is left out."""
    weights = _axis_weights(length)
    used = weights > 0
    taps = int(used.sum(axis=1).max())
    first = np.minimum(used.argmax(axis=1), length - taps)
    positions = first[:, None] + np.arange(taps)
    chosen = np.take_along_axis(weights, positions, axis=1)
    for array in (positions, chosen):
        array.setflags(write=False)  # shared through the cache
    return positions, chosen


def _luma(pixels: np.ndarray, rgb: bool) -> np.ndarray:
    """Float luma of grey pixels, or of RGB ones (last axis), as the reference computes it."""
    if not rgb:
        return pixels.astype(np.float64)
    return pixels.astype(np.float64) @ np.array([0.299, 0.587, 0.114])


def _samples(pixels: np.ndarray, mirrored: bool = False) -> np.ndarray:
    """The 64x64 blurred samples the DCT is taken of, as (1, 1, 64, 64); with `mirrored`, as
    (2, 2, 64, 64): [0, 0] the pixels as they are, [0, 1] mirrored left-right, [1, 0] upside
    down, [1, 1] both.

    The mirrored grids are the very sums the turned pixels would give (each sample reads the
    same pixels with the same weights in the same order), but the costly pass down the rows
    is made twice instead of four times: mirroring left-right only reverses its columns.
    Grey pixels (what the hasher's frames are) go through compiled loops, `_grey_samples`;
    RGB ones through numpy, `_numpy_samples`. Both give the same floats.
    """
    rows, columns = pixels.shape[:2]
    row_taps, row_weights = _axis_taps(rows)
    column_taps, column_weights = _axis_taps(columns)
    if pixels.ndim != 2:
        return _numpy_samples(pixels, mirrored)
    ways = 2 if mirrored else 1
    grids = _grey_samples(pixels, row_taps, row_weights, column_taps, column_weights, ways)
    # In the memory order of einsum's result ([reading, j, way, i]): BLAS's sums depend on
    # how a matrix lies in memory, so the DCTs' bits depend on it too (a gradient's do).
    return grids.reshape(ways, 64, ways, 64).transpose(2, 0, 3, 1)


def _numpy_samples(pixels: np.ndarray, mirrored: bool = False) -> np.ndarray:
    """`_samples` in numpy (any pixels, grey or RGB): the luma of only the rows the 64
    samples use, weighted with einsum."""
    rows, columns = pixels.shape[:2]
    row_taps, row_weights = _axis_taps(rows)
    column_taps, column_weights = _axis_taps(columns)

    def down(taps: np.ndarray) -> np.ndarray:  # (64, columns)
        # Only the rows the 64 samples use are read (and turned into floats): 64 x taps.
        lines = _luma(pixels[taps], rgb=pixels.ndim == 3)  # (64, taps, columns)
        return np.einsum("itc,it->ic", lines, row_weights)

    passed = down(row_taps)
    if not mirrored:
        return np.einsum("ijt,jt->ij", passed[:, column_taps], column_weights)[None, None]
    both = np.stack([passed, down(rows - 1 - row_taps)])  # (2, 64, columns)
    # (2, 64, 2, 64, taps): as is and upside down, each read forwards and backwards
    read = both[:, :, np.stack([column_taps, columns - 1 - column_taps])]
    return np.einsum("aibjt,jt->abij", read, column_weights)


@numba.njit(nogil=True, cache=True)
def _grey_samples(
    pixels, row_taps, row_weights, column_taps, column_weights, ways
):  # pragma: no cover - compiled
    """`_numpy_samples` of grey pixels in compiled loops, to the last bit.

    numpy's einsum adds each sample's products one tap after the other, starting from zero,
    in float64 and without fused multiply-adds; so do these loops, so the sums are the same
    floats (tests/hashing/test_pdq.py compares the two). They read the 8-bit pixels where they
    are, where numpy first copies the rows used into floats, and they pass across eight lines
    at a time from a transposed copy, so that a tap's column is read once for all of them.
    """
    rows, columns = pixels.shape
    lines = ways * 64
    block = np.empty((8, columns))
    passed = np.empty((columns, lines))  # down the rows, transposed: [column, way * 64 + i]
    for start in range(0, lines, 8):
        block[:] = 0.0
        for k in range(8):
            way, i = divmod(start + k, 64)
            line = block[k]
            for t in range(row_taps.shape[1]):
                row = row_taps[i, t] if way == 0 else rows - 1 - row_taps[i, t]
                weight = row_weights[i, t]
                source = pixels[row]
                for c in range(columns):
                    line[c] += source[c] * weight
        for c in range(columns):
            for k in range(8):
                passed[c, start + k] = block[k, c]
    grids = np.zeros((ways, 64, lines))  # [reading, j, way * 64 + i]
    for reading in range(ways):
        for j in range(64):
            total = grids[reading, j]
            for t in range(column_taps.shape[1]):
                c = column_taps[j, t] if reading == 0 else columns - 1 - column_taps[j, t]
                weight = column_weights[j, t]
                source = passed[c]
                for k in range(lines):
                    total[k] += source[k] * weight
    return grids


@numba.njit(nogil=True, cache=True)
def _gradient(samples):  # pragma: no cover - compiled
    """The reference's quality sum: each step between neighbouring samples in float32, times
    100, over 255, truncated; the same float32 operations as numpy's on the arrays."""
    scale, full = np.float32(100), np.float32(255)
    total = 0
    for i in range(64):
        for j in range(64):
            here = np.float32(samples[i, j])
            if i < 63:
                total += abs(int((here - np.float32(samples[i + 1, j])) * scale / full))
            if j < 63:
                total += abs(int((here - np.float32(samples[i, j + 1])) * scale / full))
    return total


def _quality(samples: np.ndarray) -> int:
    # Quality counts significant gradients between neighbouring samples, in float32 and with
    # each step truncated to a whole number, exactly as the reference does.
    return min(100, int(_gradient(samples)) // 90)


def _dct_and_quality(pixels: np.ndarray) -> tuple[np.ndarray, int]:
    samples = _samples(pixels)[0, 0]
    return _DCT @ samples @ _DCT.T, _quality(samples)


def _hex(coefficients: np.ndarray) -> list[str]:
    """Hashes of a stack of 16x16 DCTs: bit i*16+j is set when that coefficient is above the
    median (the 128th smallest), and bit 255 comes first in the hex."""
    flat = coefficients.reshape(len(coefficients), 256)
    median = np.sort(flat, axis=1)[:, 127:128]
    packed = np.packbits(flat[:, ::-1] > median, axis=1)
    return [row.tobytes().hex() for row in packed]


def _check(pixels: np.ndarray) -> None:
    if pixels.dtype != np.uint8 or not (
        pixels.ndim == 2 or (pixels.ndim == 3 and pixels.shape[2] == 3)
    ):
        raise ValueError(
            "PDQ hashes 8-bit pixels, grey (rows, columns) or RGB (rows, columns, 3); "
            f"got {pixels.dtype} {pixels.shape}"
        )


def pdq_hash(pixels: np.ndarray) -> tuple[str, int]:
    """The PDQ hash (hex) and quality (0-100) of grey or RGB pixels."""
    _check(pixels)
    if min(pixels.shape[:2]) < MIN_SIDE:
        return ZERO_HASH, 0
    dct, quality = _dct_and_quality(pixels)
    return _hex(dct[None])[0], quality


def pdq_dihedral(pixels: np.ndarray) -> tuple[list[str], int]:
    """The hashes of all eight orientations and the quality, in the order of
    `algorithms.DIHEDRAL`: original, rotate90, rotate180, rotate270 (Pillow's, counter-
    clockwise), flip_x (left-right), flip_y (top-bottom), flip_plus1 (transpose), flip_minus1.

    Each is the reference's hash of the pixels turned that way, not the reference's own
    `dihedral` shortcut (sign changes of the original's DCT): its sample grid and box windows
    are not centred (sample i is the pixel at int((i + 0.5) * length / 64), an even window
    reaches one pixel further right than left), so a mirrored image is sampled one pixel off
    the original's grid, and on texture (noise, grain, foliage) the shortcut's mirror was 40
    to 90 bits from the mirrored file's own hash. Transposing commutes exactly with the
    sampling, so four sample grids (as is, mirrored either way, both) give all eight."""
    _check(pixels)
    if min(pixels.shape[:2]) < MIN_SIDE:
        return [ZERO_HASH] * 8, 0
    grids = _samples(pixels, mirrored=True)  # [way, reading]: as is, across; down, both
    # DCT X DCT^T of each grid and of its transpose, each read by BLAS as it lies in memory
    # (a transpose is a view), so the same sums as one product at a time.
    dcts = [np.matmul(np.matmul(_DCT, g), _DCT.T) for g in (grids, grids.swapaxes(2, 3))]
    plain, turned = dcts[0].reshape(4, 16, 16), dcts[1].reshape(4, 16, 16)
    # DIHEDRAL's order: original, rotate90, rotate180, rotate270, flip_x, flip_y, flip_plus1,
    # flip_minus1 = as is, across^T, both, down^T, across, down, (as is)^T, both^T
    ordered = [plain[0], turned[1], plain[3], turned[2], plain[1], plain[2], turned[0], turned[3]]
    return _hex(np.stack(ordered)), _quality(grids[0, 0])
