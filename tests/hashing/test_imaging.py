"""Bad input gets a clear per-file error; good input is oriented, flattened and trimmed."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from hostguard.hashing.algorithms import ALGORITHMS
from hostguard.hashing.imaging import ImageError, ImageLimits, load_image, trim_border
from tests.hashing.images import encode, jpeg, make_image, png_claiming_size


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "empty file"),
        (jpeg(1)[:1500], "truncated"),
        (b"this is a text file pretending to be a picture\n" * 20, "not a supported image"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 300, "corrupt image"),
        (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>', "SVG"),
        (b"<svg width='10' height='10'></svg>", "SVG"),
        (png_claiming_size(30_000, 30_000), "too many pixels"),
        (png_claiming_size(90_000, 10), "dimensions"),
        (png_claiming_size(0, 10), "corrupt image"),
        (encode(make_image(2), "ICO"), "not a supported image"),
        (encode(make_image(2), "PPM"), "not a supported image"),
    ],
    ids=[
        "empty",
        "truncated-jpeg",
        "text",
        "corrupt-jpeg",
        "svg-xml",
        "svg",
        "bomb",
        "absurd-dimensions",
        "zero-width",
        "ico",
        "ppm",
    ],
)
def test_bad_files_get_a_clear_error(data, reason):
    with pytest.raises(ImageError) as caught:
        load_image(data)
    assert reason in caught.value.message


def test_byte_and_pixel_caps_are_configurable():
    data = jpeg(1, size=(400, 300))
    with pytest.raises(ImageError, match="file too large"):
        load_image(data, limits=ImageLimits(max_bytes=len(data) - 1))
    with pytest.raises(ImageError, match="pixels, the limit is 100000"):
        load_image(data, limits=ImageLimits(max_pixels=100_000))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF"])
def test_supported_formats_decode_to_small_greyscale_frames(fmt):
    loaded = load_image(encode(make_image(4, (1200, 900)), fmt))
    assert loaded.format == fmt
    assert (loaded.width, loaded.height) == (1200, 900)
    frame = loaded.frames[0]
    # reduced by a whole factor to under twice the 512 px working size: 1200 / 2
    assert frame.mode == "L" and 512 <= max(frame.size) < 1024
    assert frame.size[0] * 3 == frame.size[1] * 4


def test_frames_are_reduced_by_whole_factors_and_never_resampled():
    picture = make_image(6, (1200, 900))
    frame = load_image(encode(picture, "PNG")).frames[0]
    assert np.array_equal(np.asarray(frame), np.asarray(picture.convert("L").reduce(2)))
    small = make_image(6, (640, 480))  # under twice the working size: used as decoded
    frame = load_image(encode(small, "PNG")).frames[0]
    assert np.array_equal(np.asarray(frame), np.asarray(small.convert("L")))


def test_jpeg_is_decoded_at_reduced_size_and_hashes_like_the_full_decode():
    data = jpeg(5, size=(2048, 1536))
    frame = load_image(data).frames[0]
    assert max(frame.size) <= 512
    pdq = ALGORITHMS["pdq"]
    full = pdq.hash_image(Image.open(__import__("io").BytesIO(data)).convert("RGB")).hash
    assert pdq.distance(full, pdq.hash_image(frame).hash) <= 12


def test_exif_orientation_is_applied():
    upright = make_image(6, (300, 200))
    stored = upright.transpose(Image.Transpose.ROTATE_270)  # as a camera would store it
    exif = Image.Exif()
    exif[0x0112] = 8  # viewers rotate it 90 degrees counter-clockwise
    data = encode(stored, "JPEG", quality=95, exif=exif.tobytes())
    frame = load_image(data).frames[0]
    assert frame.size == (300, 200)
    pdq = ALGORITHMS["pdq"]
    assert pdq.distance(pdq.hash_image(frame).hash, pdq.hash_image(upright).hash) <= 10


def test_transparency_is_flattened_onto_white():
    rgba = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    rgba.paste((200, 0, 0, 255), (25, 25, 75, 75))
    frame = load_image(encode(rgba, "PNG")).frames[0]
    assert frame.mode == "L"
    assert frame.getpixel((2, 2)) == 255  # white, not the black of the transparent pixels
    assert frame.getpixel((50, 50)) == 60  # the luma of (200, 0, 0)


def test_animated_gif_hashes_a_bounded_number_of_frames():
    frames = [make_image(seed, (120, 90)) for seed in range(40)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50)
    loaded = load_image(data, limits=ImageLimits(max_frames=5))
    assert len(loaded.frames) == 5
    assert len({f.tobytes() for f in loaded.frames}) == 5


def test_uniform_border_and_letterbox_are_trimmed():
    picture = make_image(9, (300, 200))
    framed = Image.new("RGB", (400, 300), (255, 255, 255))
    framed.paste(picture, (50, 50))
    letterbox = Image.new("RGB", (300, 400), (0, 0, 0))
    letterbox.paste(picture, (0, 100))
    for bordered, box in ((framed, (300, 200)), (letterbox, (300, 200))):
        trimmed = trim_border(bordered)
        assert trimmed is not None
        assert abs(trimmed.size[0] - box[0]) <= 4 and abs(trimmed.size[1] - box[1]) <= 4


def test_letterbox_bars_are_trimmed_but_not_the_pictures_own_plain_margin():
    picture = Image.new("RGB", (300, 200), (214, 214, 214))  # a page with a plain margin
    picture.paste(make_image(9, (260, 160)), (20, 20))
    letterbox = Image.new("RGB", (300, 400), (0, 0, 0))
    letterbox.paste(picture, (0, 100))
    trimmed = trim_border(letterbox)
    assert trimmed is not None and trimmed.size == (300, 200)  # the black bars only
    assert trim_border(picture).size == (260, 160)  # with no bars, a plain margin is a border


def test_images_without_borders_and_flat_images_are_not_trimmed():
    assert trim_border(make_image(10)) is None
    assert trim_border(Image.new("RGB", (100, 100), (9, 9, 9))) is None
    noise = np.random.default_rng(0).integers(0, 256, (100, 100, 3), dtype=np.uint8)
    assert trim_border(Image.fromarray(noise)) is None


def trim_line_by_line(img: Image.Image, tolerance: int = 24, min_keep: float = 0.25):
    """trim_border's rule spelt out one line at a time, to check the fast version against."""
    array = np.asarray(img if img.mode == "L" else img.convert("RGB"), dtype=np.int16)
    if array.ndim == 2:
        array = array[..., None]
    height, width = array.shape[:2]
    if height < 8 or width < 8:
        return None

    def uniform(line, edge):
        return np.abs(line - edge).max() <= tolerance

    top, bottom, left, right = 0, height, 0, width
    bars = []  # the colours of trimmed rows
    edge = np.median(array[0], axis=0)
    while top < bottom - 1 and uniform(array[top], edge):
        top += 1
    if top:
        bars.append(edge)
    edge = np.median(array[height - 1], axis=0)
    while bottom - 1 > top and uniform(array[bottom - 1], edge):
        bottom -= 1
    if bottom < height:
        bars.append(edge)

    def bar_coloured(edge):
        return not bars or any(np.abs(edge - bar).max() <= tolerance for bar in bars)

    edge = np.median(array[top:bottom, 0], axis=0)
    while bar_coloured(edge) and left < right - 1 and uniform(array[top:bottom, left], edge):
        left += 1
    edge = np.median(array[top:bottom, width - 1], axis=0)
    while bar_coloured(edge) and right - 1 > left and uniform(array[top:bottom, right - 1], edge):
        right -= 1
    if (bottom - top) < min_keep * height or (right - left) < min_keep * width:
        return None
    if 1 - ((bottom - top) * (right - left)) / (height * width) < 0.02:
        return None
    return (left, top, right, bottom)


def test_trim_border_finds_the_same_box_as_trimming_line_by_line():
    rng = np.random.default_rng(4)
    trimmed = 0
    for trial in range(400):
        height, width = int(rng.integers(1, 160)), int(rng.integers(1, 160))
        shape = (height, width, 3) if trial % 3 == 0 else (height, width)
        spread = int(rng.integers(0, 40))
        pixels = np.clip(
            int(rng.integers(0, 256)) + rng.integers(-spread, spread + 1, shape), 0, 255
        )
        top, bottom = sorted(int(v) for v in rng.integers(0, height + 1, 2))
        left, right = sorted(int(v) for v in rng.integers(0, width + 1, 2))
        inner = pixels[top:bottom, left:right]
        pixels[top:bottom, left:right] = rng.integers(0, 256, inner.shape)
        img = Image.fromarray(pixels.astype(np.uint8), "RGB" if len(shape) == 3 else "L")
        box = trim_line_by_line(img)
        result = trim_border(img)
        assert (result is None) == (box is None), trial
        if box is not None:
            trimmed += 1
            assert result.tobytes() == img.crop(box).tobytes(), trial
    assert trimmed > 50
