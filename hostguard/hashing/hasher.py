"""Hash files the way matching needs: every frame, trimmed and untrimmed, every orientation.

`hash_file` turns one file's bytes into a `FileHashes`: exact digests of the bytes plus, for
each perceptual algorithm, the hashes of each sampled frame, with and without uniform borders,
in all eight dihedral orientations. The first hash of each algorithm (frame 0, untrimmed,
original orientation) is the image's "primary" hash, the one `hostguard hash` prints.
`hash_files` does the same for many files in worker processes.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import imagehash
import numpy as np
import scipy.fftpack
from PIL import Image

from hostguard.hashing.algorithms import (
    ALGORITHMS,
    DIHEDRAL,
    HashAlgorithm,
    HashValue,
    PdqAlgorithm,
    get_algorithm,
)
from hostguard.hashing.imaging import (
    DEFAULT_LIMITS,
    ImageError,
    ImageLimits,
    border_box,
    load_image,
)
from hostguard.hashing.pdq import pdq_dihedral, pdq_hash
from hostguard.hashing.video import VideoError, VideoFrame, hash_video, looks_like_video

LOW_QUALITY = 50


@dataclass(frozen=True)
class ComputedHash:
    algorithm: str
    hash: str
    quality: int | None = None
    variant: str = "original"
    frame: int = 0
    trimmed: bool = False

    @property
    def primary(self) -> bool:
        return self.variant == "original" and self.frame == 0 and not self.trimmed

    @property
    def low_quality(self) -> bool:
        return self.quality is not None and self.quality < LOW_QUALITY


@dataclass
class FileHashes:
    path: str
    hashes: list[ComputedHash] = field(default_factory=list)
    error: str | None = None
    # A video's (or animated GIF's) vPDQ hash: one PDQ-hashed frame a second; None for images.
    video: list[VideoFrame] | None = None

    def primary(self, algorithm: str) -> ComputedHash | None:
        for computed in self.hashes:
            if computed.algorithm == algorithm and computed.primary:
                return computed
        return None

    def for_matching(self, algorithm: str) -> list[ComputedHash]:
        """Hashes worth matching: PDQ hashes below quality 50 are left out."""
        return [h for h in self.hashes if h.algorithm == algorithm and not h.low_quality]

    def low_quality_hashes(self, algorithm: str) -> list[ComputedHash]:
        """The hashes `for_matching` leaves out, matched only at a stricter threshold; not those
        of quality 0 (no gradient at all: a blank image, whose bits are all rounding, and blank
        images of any colour hash within a few bits of each other)."""
        return [h for h in self.hashes if h.algorithm == algorithm and h.low_quality and h.quality]

    @property
    def quality(self) -> int | None:
        pdq = self.primary("pdq")
        return pdq.quality if pdq else None

    @property
    def low_quality(self) -> bool:
        pdq = self.primary("pdq")
        return bool(pdq and pdq.low_quality)


def hash_file(
    path: str,
    data: bytes,
    algorithms: Sequence[str] = tuple(ALGORITHMS),
    *,
    variants: bool = True,
    limits: ImageLimits = DEFAULT_LIMITS,
) -> FileHashes:
    """Hash one file. Exact digests are computed even when the pixels cannot be decoded.

    A video (MP4, WebM) gets its vPDQ hash, an animated GIF both its image hashes (a few
    frames) and its vPDQ hash, when "vpdq" is among `algorithms`; a video that cannot be
    decoded within `limits.video` is the file's error."""
    result = FileHashes(path=path)
    chosen = [get_algorithm(name) for name in algorithms]
    for algorithm in chosen:
        if algorithm.exact:
            result.hashes.append(ComputedHash(algorithm.name, algorithm.hash_bytes(data)))
    wants_video = any(a.video for a in chosen)
    if looks_like_video(data):
        if wants_video:
            _hash_video_into(result, data, limits)
        else:
            result.error = "a video; only its exact hashes were computed"
        return result
    try:
        loaded = load_image(data, limits=limits)
    except ImageError as exc:
        result.error = exc.message
        return result
    if wants_video and loaded.format == "GIF" and len(loaded.frames) > 1:
        _hash_video_into(result, data, limits)
    perceptual = [a for a in chosen if not a.exact and not a.video]
    if not perceptual:
        return result
    for frame_no, frame in enumerate(loaded.frames):
        for is_trimmed, box, pixels in _versions(frame, variants):
            image = frame if box is None else None
            inputs: dict[int | None, Image.Image] = {}
            shared: dict[int | None, dict[str, list[HashValue]]] = {}
            for algorithm in perceptual:
                if variants and isinstance(algorithm, PdqAlgorithm):
                    values = _pdq_variants(pixels)
                else:
                    if image is None:
                        image = frame.crop(box)
                    values = _image_variants(algorithm, image, inputs, shared, perceptual, variants)
                for value in values:
                    result.hashes.append(
                        ComputedHash(
                            algorithm.name,
                            value.hash,
                            value.quality,
                            value.variant,
                            frame_no,
                            is_trimmed,
                        )
                    )
    return result


def _versions(frame: Image.Image, variants: bool):
    """(trimmed, box, pixels) of a frame as it is and, with `variants`, without its borders.

    The pixels are read out of the frame once: the border is found on them and PDQ hashes them
    (the trimmed version as a view of them); the frame is cropped to the box only when another
    algorithm asks for the trimmed image."""
    pixels = np.asarray(frame if frame.mode in ("L", "RGB") else frame.convert("RGB"))
    yield False, None, pixels
    if not variants:
        return
    box = border_box(pixels)
    if box is not None:
        left, top, right, bottom = box
        yield True, box, pixels[top:bottom, left:right]


def _image_variants(
    algorithm: HashAlgorithm,
    image: Image.Image,
    inputs: dict[int | None, Image.Image],
    shared: dict[int | None, dict[str, list[HashValue]]],
    perceptual: list[HashAlgorithm],
    variants: bool,
) -> list[HashValue]:
    """An algorithm's hashes of an image, shrunk to its input size (once per size, kept in
    `inputs`), the 64-bit hashes' orientations computed together (kept in `shared`)."""
    size = algorithm.input_size
    if size not in inputs:
        if size is None:
            inputs[None] = image
        else:
            small = image.convert("L")
            small.thumbnail((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
            inputs[size] = small
    source = inputs[size]
    if variants and _fast_function(algorithm):
        if size not in shared:
            same = [a for a in perceptual if a.input_size == size and _fast_function(a)]
            shared[size] = _shared_variants(source, same)
        return shared[size][algorithm.name]
    return algorithm.hash_variants(source) if variants else [algorithm.hash_image(source)]


def _pdq_variants(pixels: np.ndarray) -> list[HashValue]:
    """`PdqAlgorithm.hash_variants` of pixels read out of a frame (what it would read)."""
    values, quality = pdq_dihedral(pixels)
    return [
        HashValue(value, quality, name) for value, (name, _op) in zip(values, DIHEDRAL, strict=True)
    ]


def _hash_video_into(result: FileHashes, data: bytes, limits: ImageLimits) -> None:
    try:
        result.video = hash_video(data, limits.video)
    except VideoError as exc:
        result.error = exc.message


# The imagehash algorithms, computed by hostguard for all eight orientations at once, bit for
# bit as imagehash computes them on each turned image. Each hash shrinks the image with Pillow's
# Lanczos filter to a few pixels (pHash 32x32, dHash 9x8, aHash 8x8) and compares them. Resizing
# commutes exactly with mirroring, so every orientation is a mirror of either the shrunken image
# or the shrunken transposed image: two shrinks per hash, then the eight mirrored copies are
# hashed together as one (8, rows, columns) stack.
#
# The shrinks themselves are two matrix products with Pillow's own fixed-point weights (whole
# multiples of 2**-22), rounded after each pass as Pillow rounds them. Every partial sum is a
# multiple of 2**-22 smaller than 512, which a double holds exactly, so the products are exact
# in whatever order BLAS adds. Pillow chooses from the sizes which pass goes first, so that is
# learnt once per size by shrinking noise both ways; a size it cannot tell apart is left to
# Pillow.
_LANCZOS = Image.Resampling.LANCZOS
_PRECISION = 22  # Pillow's 8-bit resampling weights are multiples of 2**-22


@functools.lru_cache(maxsize=512)
def _lanczos_weights(size: int, shrunk: int) -> np.ndarray:
    """Pillow's weights from `size` pixels to `shrunk`, as a (size, shrunk) matrix.

    Resized across, a 32-bit image whose rows are impulses of 2**22 gives back every weight
    times 2**22, rounded to an integer the way Pillow rounds it for 8-bit images.
    """
    impulses = Image.fromarray(np.eye(size, dtype=np.int32) << _PRECISION)
    weights = np.asarray(impulses.resize((shrunk, size), _LANCZOS), dtype=np.float64)
    weights *= 2.0**-_PRECISION
    weights.setflags(write=False)  # shared through the cache
    return weights


def _round_pass(sums: np.ndarray) -> np.ndarray:
    """Pillow's 8-bit result of weighted sums: round half up, clip to 0-255 (in place)."""
    sums += 0.5
    np.floor(sums, out=sums)
    np.maximum(sums, 0, out=sums)
    return np.minimum(sums, 255, out=sums)


def _resample(pixels: np.ndarray, across: np.ndarray, down: np.ndarray, down_first: bool):
    if down_first:
        return _round_pass(_round_pass(down.T @ pixels) @ across)
    return _round_pass(down.T @ _round_pass(pixels @ across))


@functools.lru_cache(maxsize=2048)
def _down_first(columns: int, rows: int, width: int, height: int) -> bool | None:
    """Whether Pillow shrinks rows x columns to height x width down first (None: not known)."""
    across = _lanczos_weights(columns, width)
    down = _lanczos_weights(rows, height)
    one_pass = columns == width or rows == height  # then the order makes no difference
    noise = np.random.default_rng([columns, rows, width, height])
    for _ in range(3):
        probe = noise.integers(0, 256, (rows, columns), dtype=np.uint8)
        expected = np.asarray(Image.fromarray(probe).resize((width, height), _LANCZOS))
        orders = [
            first
            for first in ((False,) if one_pass else (False, True))
            if np.array_equal(_resample(probe.astype(np.float64), across, down, first), expected)
        ]
        if len(orders) != 2:
            return orders[0] if orders else None
    return None


def _shrink(grey: Image.Image, pixels: np.ndarray, transposed: bool, width: int, height: int):
    """`grey` (or its transpose) Lanczos-resized to width x height, exactly as Pillow does it."""
    if transposed:
        pixels = pixels.T
    rows, columns = pixels.shape
    down_first = _down_first(columns, rows, width, height)
    if down_first is None:
        source = grey.transpose(Image.Transpose.TRANSPOSE) if transposed else grey
        return np.asarray(source.resize((width, height), _LANCZOS), dtype=np.float64)
    across = _lanczos_weights(columns, width)
    down = _lanczos_weights(rows, height)
    return _resample(pixels, across, down, down_first)


def _phash_bits(stack: np.ndarray) -> np.ndarray:
    # Only the first eight rows of the first transform reach the 8x8 low frequencies, and the
    # second transform works on each row by itself: leaving out the other rows changes nothing.
    dct = scipy.fftpack.dct(scipy.fftpack.dct(stack, axis=1)[:, :8, :], axis=2)
    low = dct[:, :, :8]
    ordered = np.sort(low.reshape(len(low), -1), axis=1)
    median = (ordered[:, 31] + ordered[:, 32]) / 2  # as np.median of 64 values
    return low > median[:, None, None]


def _dhash_bits(stack: np.ndarray) -> np.ndarray:
    return stack[:, :, 1:] > stack[:, :, :-1]


def _ahash_bits(stack: np.ndarray) -> np.ndarray:
    return stack > stack.mean(axis=(1, 2), keepdims=True)


# imagehash function -> (shrunken width, height, bits of a stack of shrunken images)
_FAST_BITS: dict[object, tuple[int, int, Callable[[np.ndarray], np.ndarray]]] = {
    imagehash.phash: (32, 32, _phash_bits),
    imagehash.dhash: (9, 8, _dhash_bits),
    imagehash.average_hash: (8, 8, _ahash_bits),
}

# For each DIHEDRAL orientation: whether it starts from the transposed image, and the mirroring
# that turns that (shrunken) image's pixels into the orientation's pixels.
MIRRORED = {
    "original": (False, lambda a: a),
    "rotate180": (False, lambda a: a[::-1, ::-1]),
    "flip_x": (False, lambda a: a[:, ::-1]),
    "flip_y": (False, lambda a: a[::-1, :]),
    "flip_plus1": (True, lambda a: a),
    "rotate90": (True, lambda a: a[::-1, :]),
    "rotate270": (True, lambda a: a[:, ::-1]),
    "flip_minus1": (True, lambda a: a[::-1, ::-1]),
}


def _fast_function(algorithm: HashAlgorithm):
    return _FAST_BITS.get(getattr(algorithm, "_function", None))


def _shared_variants(
    image: Image.Image, algorithms: list[HashAlgorithm]
) -> dict[str, list[HashValue]]:
    """`hash_variants` of several imagehash algorithms on one image, all orientations at once."""
    grey = image if image.mode == "L" else image.convert("L")
    pixels = np.asarray(grey, dtype=np.float64)
    result = {}
    for algorithm in algorithms:
        width, height, bits = _fast_function(algorithm)
        shrunk = {t: _shrink(grey, pixels, t, width, height) for t in (False, True)}
        stack = np.stack([MIRRORED[name][1](shrunk[MIRRORED[name][0]]) for name, _op in DIHEDRAL])
        text = np.packbits(bits(stack).reshape(len(stack), -1), axis=1).tobytes().hex()
        step = len(text) // len(stack)
        result[algorithm.name] = [
            HashValue(text[i * step : (i + 1) * step], None, name)
            for i, (name, _op) in enumerate(DIHEDRAL)
        ]
    return result


def _hash_path_worker(args: tuple[str, Sequence[str], bool, ImageLimits]) -> FileHashes:
    path, algorithms, variants, limits = args
    try:
        size = os.path.getsize(path)
        if size > limits.max_bytes:
            return FileHashes(
                path, error=f"file too large: {size} bytes, the limit is {limits.max_bytes}"
            )
        data = Path(path).read_bytes()
    except OSError as exc:
        return FileHashes(path, error=f"cannot read file: {exc.strerror or type(exc).__name__}")
    return hash_file(path, data, algorithms, variants=variants, limits=limits)


def _hash_bytes_worker(args: tuple[str, bytes, Sequence[str], bool, ImageLimits]) -> FileHashes:
    name, data, algorithms, variants, limits = args
    return hash_file(name, data, algorithms, variants=variants, limits=limits)


def warm_up() -> None:
    """Load the compiled hashing loops now, not at a process's first image.

    PDQ's sampling and the border search are numba loops, cached on disk (`__pycache__`):
    their first call in a process loads them, about 0.2 s (several seconds when the cache is
    missing and they are compiled). Processes that hash requests (web, worker, `hostguard
    scan`) call it as they start, beside `index.warm_up` (`snapshots.configure`), so their first
    upload check does not pay it."""
    noise = np.random.default_rng(0).integers(0, 256, (64, 80), dtype=np.uint8)
    framed = np.full((80, 96), 255, dtype=np.uint8)
    framed[8:72, 8:88] = noise
    for mode in ("L", "RGB"):
        frame = Image.fromarray(framed).convert(mode)
        # read-only pixels, as Pillow's frames give, and the trimmed version's view of them
        for _trimmed, _box, pixels in _versions(frame, True):
            pdq_dihedral(pixels)
            pdq_hash(pixels)


def default_workers() -> int:
    return max(
        1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )


def hash_paths(
    paths: Iterable[str],
    algorithms: Sequence[str] = tuple(ALGORITHMS),
    *,
    variants: bool = True,
    workers: int | None = None,
    limits: ImageLimits = DEFAULT_LIMITS,
) -> Iterable[FileHashes]:
    """Hash files on disk, in order, in worker processes when there are several."""
    jobs = [(str(p), tuple(algorithms), variants, limits) for p in paths]
    yield from _run(_hash_path_worker, jobs, workers)


def hash_blobs(
    items: Sequence[tuple[str, bytes]],
    algorithms: Sequence[str] = tuple(ALGORITHMS),
    *,
    variants: bool = True,
    workers: int | None = None,
    limits: ImageLimits = DEFAULT_LIMITS,
) -> list[FileHashes]:
    """Hash in-memory files (name, bytes), in order; small batches stay in this process."""
    jobs = [(name, data, tuple(algorithms), variants, limits) for name, data in items]
    if workers is None and len(jobs) < 8:
        workers = 1
    return list(_run(_hash_bytes_worker, jobs, workers))


def _run(function, jobs: list, workers: int | None) -> Iterable[FileHashes]:
    workers = min(workers or default_workers(), len(jobs)) if jobs else 1
    if workers <= 1:
        for job in jobs:
            yield function(job)
        return
    chunk = max(1, min(16, len(jobs) // (workers * 4)))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(function, jobs, chunksize=chunk)
