"""Benign synthetic images with varied structure, and the everyday edits the evaluation applies."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps

WORDS = "river lamp garden model upload window paper orange seven forest cable music table".split()


def _smooth_noise(rng, width, height, scale):
    small = rng.random((max(2, height // scale), max(2, width // scale), 3)) * 255
    img = Image.fromarray(small.astype(np.uint8)).resize((width, height), Image.Resampling.BICUBIC)
    return np.asarray(img, dtype=np.float64)


def benign_image(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """One of five kinds of picture (gradient+shapes, texture, pattern, document, "photo")."""
    rng = np.random.default_rng(seed)
    width, height = size
    kind = seed % 5
    if kind == 0:
        x = np.linspace(0, 1, width)[None, :, None]
        y = np.linspace(0, 1, height)[:, None, None]
        a, b = rng.uniform(-1, 1, 2)
        pixels = (a * x + b * y) * rng.uniform(80, 255, 3) + rng.uniform(0, 120, 3)
    elif kind == 1:
        pixels = _smooth_noise(rng, width, height, int(rng.integers(4, 60)))
    elif kind == 2:
        x = np.arange(width)[None, :, None]
        y = np.arange(height)[:, None, None]
        fx, fy = rng.uniform(0.005, 0.08, 2)
        pixels = 127 + 120 * np.sin(fx * x + rng.uniform(0, 6, 3)) * np.cos(
            fy * y + rng.uniform(0, 6, 3)
        )
    elif kind == 3:
        pixels = np.full((height, width, 3), rng.uniform(200, 255, 3))
    else:
        pixels = _smooth_noise(rng, width, height, int(rng.integers(40, 160))) * 0.7
        pixels += _smooth_noise(rng, width, height, 8) * 0.3
    img = Image.fromarray(
        np.clip(pixels + rng.normal(0, 3, (height, width, 3)), 0, 255).astype(np.uint8)
    )
    draw = ImageDraw.Draw(img)
    if kind == 3:
        for row in range(int(rng.integers(8, 25))):
            text = " ".join(rng.choice(WORDS, int(rng.integers(3, 9))))
            draw.text((int(rng.integers(10, 60)), 20 + row * 18), text, fill=(0, 0, 0))
    if kind == 3:
        x0, y0 = int(rng.integers(0, width // 2)), int(rng.integers(0, height // 2))
        figure = _smooth_noise(rng, width // 3, height // 3, int(rng.integers(4, 30)))
        img.paste(Image.fromarray(figure.astype(np.uint8)), (x0, y0))
    shapes = int(rng.integers(4, 12)) if kind != 1 else int(rng.integers(0, 4))
    for _ in range(shapes):
        x0, y0 = int(rng.integers(0, width - 30)), int(rng.integers(0, height - 30))
        x1 = x0 + int(rng.integers(20, width // 2))
        y1 = y0 + int(rng.integers(20, height // 2))
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        [draw.ellipse, draw.rectangle][int(rng.integers(0, 2))]([x0, y0, x1, y1], fill=colour)
    return img


def jpeg_bytes(img: Image.Image, quality: int = 90, **options) -> bytes:
    buffer = io.BytesIO()
    img.convert("RGB").save(buffer, "JPEG", quality=quality, **options)
    return buffer.getvalue()


def png_bytes(img: Image.Image) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, "PNG")
    return buffer.getvalue()


def _caption(img: Image.Image) -> Image.Image:
    width, height = img.size
    out = Image.new("RGB", (width, height + height // 6), (255, 255, 255))
    out.paste(img, (0, 0))
    ImageDraw.Draw(out).text((10, height + 8), "look at this, shared from my phone", fill=(0, 0, 0))
    return out


def _border(img: Image.Image, colour, horizontal: int, vertical: int) -> Image.Image:
    width, height = img.size
    out = Image.new("RGB", (width + 2 * horizontal, height + 2 * vertical), colour)
    out.paste(img, (horizontal, vertical))
    return out


def _exif_rotated(img: Image.Image) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # viewers rotate 90 degrees clockwise
    return jpeg_bytes(img.transpose(Image.Transpose.ROTATE_90), exif=exif.tobytes())


def _noise(img: Image.Image) -> Image.Image:
    rng = np.random.default_rng(0)
    array = np.asarray(img, dtype=np.float64) + rng.normal(0, 10, (img.height, img.width, 3))
    return Image.fromarray(np.clip(array, 0, 255).astype(np.uint8))


def _crop(img: Image.Image, share: float) -> Image.Image:
    width, height = img.size
    dx, dy = int(width * share), int(height * share)
    return img.crop((dx, dy, width - dx, height - dy))


EDITS = {
    "resize-50%": lambda im: jpeg_bytes(im.resize((im.width // 2, im.height // 2))),
    "recompress-q30": lambda im: jpeg_bytes(im, quality=30),
    "brightness+30%": lambda im: jpeg_bytes(ImageEnhance.Brightness(im).enhance(1.3)),
    "contrast-30%": lambda im: jpeg_bytes(ImageEnhance.Contrast(im).enhance(0.7)),
    "blur-r2": lambda im: jpeg_bytes(im.filter(ImageFilter.GaussianBlur(2))),
    "greyscale": lambda im: jpeg_bytes(ImageOps.grayscale(im)),
    "noise-s10": lambda im: jpeg_bytes(_noise(im)),
    "aspect-4:3-to-16:9": lambda im: jpeg_bytes(im.resize((int(im.width * 4 / 3), im.height))),
    "exif-rotation": _exif_rotated,
    "white-border-10%": lambda im: png_bytes(
        _border(im, (255, 255, 255), im.width // 10, im.height // 10)
    ),
    "letterbox-black": lambda im: png_bytes(_border(im, (0, 0, 0), 0, im.height // 4)),
    "mirror": lambda im: jpeg_bytes(im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)),
    "flip": lambda im: jpeg_bytes(im.transpose(Image.Transpose.FLIP_TOP_BOTTOM)),
    "rotate-90": lambda im: jpeg_bytes(im.transpose(Image.Transpose.ROTATE_90)),
    "crop-5%": lambda im: jpeg_bytes(_crop(im, 0.05)),
    "crop-10%": lambda im: jpeg_bytes(_crop(im, 0.10)),
    "caption-bar": lambda im: jpeg_bytes(_caption(im)),
}


# Real photographs bundled in scikit-image's wheel (skimage/data), read from disk: nothing is
# downloaded. Left out: drawings (chessboard, logo, phantom, horse, color), the right image of
# the motorcycle stereo pair (a near copy of the left one) and the face thumbnails (25 px).
PHOTOGRAPHS = (
    "astronaut.png",
    "brick.png",
    "camera.png",
    "cell.png",
    "chelsea.png",
    "clock_motion.png",
    "coffee.png",
    "coins.png",
    "grass.png",
    "gravel.png",
    "hubble_deep_field.jpg",
    "ihc.png",
    "microaneurysms.png",
    "moon.png",
    "motorcycle_left.png",
    "page.png",
    "retina.jpg",
    "rocket.jpg",
    "text.png",
)


def photographs() -> dict[str, Image.Image]:
    """The bundled photographs by file name, as RGB images."""
    import skimage  # a test/benchmark dependency only

    folder = Path(skimage.__file__).parent / "data"
    return {name: Image.open(folder / name).convert("RGB") for name in PHOTOGRAPHS}
