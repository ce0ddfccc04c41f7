"""Safe, fast image loading for hashing: caps, orientation, transparency, borders, frames.

Images come from strangers, so decoding is bounded: a byte cap, a pixel cap checked before
decoding (decompression bombs), a side-length cap, a short list of formats, and a bounded
number of animation frames. JPEGs are decoded at reduced size with DCT scaling (`draft`), and
everything is reduced by a whole factor to under twice the working size (512 px), which is all
the perceptual hashes look at. Both reductions commute with mirroring and turning, so a turned
copy's frame is the original's frame turned (what matching every orientation relies on).
Each failure becomes an `ImageError` whose message a person can act on.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numba
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from hostguard.errors import InvalidInput
from hostguard.hashing.video import DEFAULT_VIDEO_LIMITS, VideoLimits

FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")


class ImageError(InvalidInput):
    """A file that cannot be hashed as an image; the message says why, never what it holds."""

    code = "bad_image"


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int = 50 * 1024 * 1024
    max_pixels: int = 100_000_000
    max_side: int = 40_000
    max_frames: int = 8
    max_scanned_frames: int = 200
    working_size: int = 512
    video: VideoLimits = DEFAULT_VIDEO_LIMITS


DEFAULT_LIMITS = ImageLimits()


@dataclass
class LoadedImage:
    """Decoded frames: greyscale, oriented, flattened, and at most 2 * working_size - 1 pixels a
    side (reduced by whole factors, never resampled to an exact size)."""

    format: str
    width: int
    height: int
    frames: list[Image.Image]


SIGNATURES = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)


def _signature(data: bytes) -> str | None:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return next((name for magic, name in SIGNATURES if data.startswith(magic)), None)


def _looks_like_svg(data: bytes) -> bool:
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith(b"<svg") or (
        head.startswith(b"<?xml") and b"<svg" in data[:4096].lower()
    )


def load_image(data: bytes, *, limits: ImageLimits = DEFAULT_LIMITS) -> LoadedImage:
    """Decode `data` into small greyscale frames ready for hashing, or raise ImageError."""
    if not data:
        raise ImageError("empty file")
    if len(data) > limits.max_bytes:
        raise ImageError(f"file too large: {len(data)} bytes, the limit is {limits.max_bytes}")
    if _looks_like_svg(data):
        raise ImageError("SVG is a vector format and cannot be hashed; convert it to PNG first")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return _decode(data, limits)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError("image has too many pixels (decompression bomb?)") from None
    except UnidentifiedImageError:
        claimed = _signature(data)
        if claimed:
            raise ImageError(
                f"corrupt image data (looks like {claimed} but cannot be decoded)"
            ) from None
        raise ImageError(f"not a supported image (supported: {', '.join(FORMATS)})") from None
    except OSError as exc:
        reason = "truncated image data" if "truncated" in str(exc) else "corrupt image data"
        raise ImageError(reason) from None
    except Exception as exc:  # decoders raise many types on malformed input
        raise ImageError(f"corrupt image data ({type(exc).__name__})") from None


def _decode(data: bytes, limits: ImageLimits) -> LoadedImage:
    img = Image.open(io.BytesIO(data), formats=FORMATS)
    width, height = img.size
    if width < 1 or height < 1:
        raise ImageError("image has no pixels")
    if width > limits.max_side or height > limits.max_side:
        raise ImageError(f"image dimensions {width}x{height} are too large")
    if width * height > limits.max_pixels:
        raise ImageError(f"image has {width * height} pixels, the limit is {limits.max_pixels}")
    frame_count = getattr(img, "n_frames", 1) if getattr(img, "is_animated", False) else 1
    scanned = min(frame_count, limits.max_scanned_frames)
    if frame_count > 1 and scanned * width * height > 4 * limits.max_pixels:
        scanned = max(1, (4 * limits.max_pixels) // (width * height))
    wanted = _spread(scanned, limits.max_frames)
    frames = []
    exif = img.getexif() if img.format in ("JPEG", "TIFF", "WEBP", "PNG") else None
    for index in wanted:
        if index:
            img.seek(index)
        frames.append(_prepare(img, limits, exif, frame_count > 1))
    return LoadedImage(img.format or "", width, height, frames)


def _spread(count: int, most: int) -> list[int]:
    if count <= most:
        return list(range(count))
    return sorted({round(i * (count - 1) / (most - 1)) for i in range(most)})


def _prepare(img: Image.Image, limits: ImageLimits, exif, animated: bool) -> Image.Image:
    size = limits.working_size
    if img.format == "JPEG":
        # Every hash works on luma: decode only the Y channel, scaled down in the DCT.
        step = draft_step(img.size, size)
        img.draft("L", (img.width // step, img.height // step) if step > 1 else None)
    img.load()
    frame = img.copy() if animated else img
    if frame.mode in ("P", "PA"):
        frame = frame.convert("RGBA")
    if exif is not None and exif.get(0x0112, 1) != 1:
        frame.info["exif"] = exif.tobytes()
        frame = ImageOps.exif_transpose(frame)
    frame = flatten(frame)
    return reduce(frame, size)


def draft_step(size: tuple[int, int], working: int) -> int:
    """How much a JPEG is scaled down in its DCT: 8, 4, 2 or 1, leaving at least `working`
    pixels on the longer side, and only by a step that divides both sides, so that the scaled
    pixels pair up the same way in a mirrored or turned copy of the file."""
    width, height = size
    for step in (8, 4, 2):
        if max(width, height) // step >= working and width % step == 0 == height % step:
            return step
    return 1


def reduce(frame: Image.Image, working: int) -> Image.Image:
    """`frame` shrunk by a whole factor to under twice `working` pixels a side.

    Averaging whole blocks of pixels is cheap; resampling to exactly `size` (a 640 px photo
    to 512) cost more than all the hashes together, and PDQ does its own filtering anyway.
    Blocks are counted from the top left, so when a side is not a multiple of the factor they
    would fall differently on a mirrored copy (one pixel off, up to 40 PDQ bits on texture):
    then the box filter is centred instead (Pillow's resize), which commutes with mirroring.
    """
    factor = max(frame.size) // working
    if factor <= 1:
        return frame
    width, height = frame.size
    if width % factor == 0 and height % factor == 0:
        return frame.reduce(factor)
    size = (max(1, round(width / factor)), max(1, round(height / factor)))
    return frame.resize(size, Image.Resampling.BOX)


def flatten(img: Image.Image) -> Image.Image:
    """Greyscale (luma, which is all the hashes use) with transparency composited onto white."""
    if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        background.alpha_composite(rgba)
        return background.convert("L")
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(img, dtype=np.float64)
        top = array.max() or 1.0
        return Image.fromarray((array * (255.0 / top)).astype(np.uint8), "L")
    return img if img.mode == "L" else img.convert("L")


def trim_border(
    img: Image.Image, *, tolerance: int = 24, min_keep: float = 0.25
) -> Image.Image | None:
    """The image without uniform borders / letterbox bars, or None when there are none."""
    array = np.asarray(img if img.mode == "L" else img.convert("RGB"))
    box = border_box(array, tolerance=tolerance, min_keep=min_keep)
    return None if box is None else img.crop(box)


def border_box(
    pixels: np.ndarray, *, tolerance: int = 24, min_keep: float = 0.25
) -> tuple[int, int, int, int] | None:
    """The box (left, top, right, bottom) of 8-bit grey (rows, columns) or RGB (rows, columns,
    3) pixels without their uniform borders / letterbox bars, or None when there are none.

    A side is trimmed line by line while the line is nearly one colour and close to the
    colour of the outermost line on that side (the per-channel median). Nothing is trimmed if
    the rest would be tiny.
    """
    array = pixels[..., None] if pixels.ndim == 2 else pixels
    height, width = array.shape[:2]
    if height < 8 or width < 8:
        return None
    top, bottom, left, right = _border_lines(array, float(tolerance))
    if (bottom - top) < min_keep * height or (right - left) < min_keep * width:
        return None
    trimmed_share = 1 - ((bottom - top) * (right - left)) / (height * width)
    if trimmed_share < 0.02:
        return None
    return left, top, right, bottom


@numba.njit(nogil=True, cache=True)
def _border_lines(array, tolerance):  # pragma: no cover - compiled
    """The first row, last row + 1, first column and last column + 1 left by the trimming.

    Rows go first, from the top and from the bottom, each against its outermost row's colour.
    Bars added around a picture share one colour: once rows were trimmed, a side's columns are
    trimmed only in a colour close to theirs, so the picture's own plain margin is left alone.
    """
    height, width = array.shape[:2]
    top_colour = _median(array[0])
    bottom_colour = _median(array[height - 1])
    top = 0
    while top < height - 1 and _uniform(array[top], top_colour, tolerance):
        top += 1
    bottom = height
    while bottom - 1 > top and _uniform(array[bottom - 1], bottom_colour, tolerance):
        bottom -= 1
    left_colour = _median(array[top:bottom, 0])
    right_colour = _median(array[top:bottom, width - 1])
    left, right = 0, width
    if _bar_coloured(left_colour, top_colour, top, bottom_colour, height - bottom, tolerance):
        while left < width - 1 and _uniform(array[top:bottom, left], left_colour, tolerance):
            left += 1
    if _bar_coloured(right_colour, top_colour, top, bottom_colour, height - bottom, tolerance):
        while right - 1 > left and _uniform(array[top:bottom, right - 1], right_colour, tolerance):
            right -= 1
    return top, bottom, left, right


@numba.njit(nogil=True, cache=True)
def _median(line):  # pragma: no cover - compiled
    """Each channel's median of a line of 8-bit pixels (n, channels), as np.median gives it
    (the mean of the two middle values when n is even), counted in 256 bins."""
    count, channels = line.shape
    colour = np.empty(channels)
    counts = np.empty(256, dtype=np.int64)
    for channel in range(channels):
        counts[:] = 0
        for position in range(count):
            counts[line[position, channel]] += 1
        low, high, seen = -1, -1, 0
        for value in range(256):
            seen += counts[value]
            if low < 0 and seen > (count - 1) // 2:
                low = value
            if seen > count // 2:
                high = value
                break
        colour[channel] = (np.float64(low) + np.float64(high)) / 2
    return colour


@numba.njit(nogil=True, cache=True)
def _uniform(line, colour, tolerance):  # pragma: no cover - compiled
    """Whether every pixel of a line is within `tolerance` of `colour` in every channel."""
    for position in range(line.shape[0]):
        for channel in range(line.shape[1]):
            value = np.float64(line[position, channel])
            if value > colour[channel] + tolerance or value < colour[channel] - tolerance:
                return False
    return True


@numba.njit(nogil=True, cache=True)
def _bar_coloured(
    colour, top_colour, top_lines, bottom_colour, bottom_lines, tolerance
):  # pragma: no cover - compiled
    """Whether a side's colour is that of the rows trimmed (any colour when none were)."""
    if not top_lines and not bottom_lines:
        return True
    for bar, lines in ((top_colour, top_lines), (bottom_colour, bottom_lines)):
        if lines and np.all(np.abs(colour - bar) <= tolerance):
            return True
    return False
