"""Benign test images made with numpy and Pillow: gradients, shapes, noise textures, text."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image, ImageDraw


def make_image(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """A distinct RGB picture: a gradient background with shapes, texture and some text."""
    rng = np.random.default_rng(seed)
    width, height = size
    x = np.linspace(0, 1, width)[None, :]
    y = np.linspace(0, 1, height)[:, None]
    angle = rng.uniform(0, np.pi)
    base = np.cos(angle) * x + np.sin(angle) * y
    freq = rng.uniform(1, 6)
    channels = []
    for c in range(3):
        phase = rng.uniform(0, 2 * np.pi)
        wave = 0.5 + 0.5 * np.sin(2 * np.pi * freq * base + phase + c)
        channels.append(wave * rng.uniform(120, 255))
    pixels = np.stack(channels, axis=-1)
    pixels += rng.normal(0, 6, pixels.shape)
    img = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(3, 9))):
        x0, y0 = int(rng.integers(0, width - 20)), int(rng.integers(0, height - 20))
        x1 = x0 + int(rng.integers(15, width // 2))
        y1 = y0 + int(rng.integers(15, height // 2))
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        shape = rng.integers(0, 3)
        if shape == 0:
            draw.ellipse([x0, y0, x1, y1], fill=colour)
        elif shape == 1:
            draw.rectangle([x0, y0, x1, y1], fill=colour)
        else:
            draw.line([x0, y0, x1, y1], fill=colour, width=int(rng.integers(2, 12)))
    draw.text(
        (int(rng.integers(0, width // 2)), int(rng.integers(0, height - 12))),
        f"sample {seed}",
        fill=(0, 0, 0),
    )
    return img


def encode(img: Image.Image, fmt: str = "JPEG", **options) -> bytes:
    buffer = io.BytesIO()
    if fmt == "JPEG" and img.mode not in ("RGB", "L"):
        img = img.convert("RGB")
    img.save(buffer, fmt, **options)
    return buffer.getvalue()


def jpeg(seed: int, size=(320, 240), **options) -> bytes:
    return encode(make_image(seed, size), "JPEG", quality=options.pop("quality", 90), **options)


def png_claiming_size(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height (a decompression-bomb shape)."""
    real = encode(Image.new("L", (1, 1)), "PNG")
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    patched = struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))
    return real[:8] + patched + real[8 + 25 :]


# Distances within which the pipeline's robustness (orientation, borders, frames) is checked:
# the production defaults for PDQ and pHash; aHash/dHash defaults are stricter (see README).
ROBUST = {"pdq": 31, "phash": 8, "dhash": 8, "ahash": 8}
