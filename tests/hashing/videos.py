"""Sample videos made by the tests with PyAV: textured frames that change every second."""

from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np
from PIL import Image


def scene_frames(seconds: int, *, seed: int = 0, size: tuple[int, int] = (320, 240)) -> list:
    """One distinct blurred-noise picture per second (RGB arrays), as in a real clip's cuts."""
    rng = np.random.default_rng(seed)
    pictures = []
    for _ in range(seconds):
        small = rng.integers(0, 256, (size[1] // 16, size[0] // 16, 3), dtype=np.uint8)
        img = Image.fromarray(small).resize(size, Image.Resampling.BICUBIC)
        pictures.append(np.asarray(img))
    return pictures


def encode(
    pictures: list,
    *,
    fps: int = 5,
    container: str = "mp4",
    codec: str = "libx264",
    size: tuple[int, int] | None = None,
    drop_seconds: int = 0,
    crf: int = 23,
) -> bytes:
    """A video showing each picture for one second (`fps` frames), optionally scaled to `size`
    and without its first `drop_seconds` seconds."""
    buffer = io.BytesIO()
    out = av.open(buffer, mode="w", format=container)
    height, width = pictures[0].shape[:2]
    if size is not None:
        width, height = size
    stream = out.add_stream(codec, rate=fps)
    stream.width, stream.height = width, height
    stream.pix_fmt = "rgb8" if codec == "gif" else "yuv420p"
    stream.time_base = Fraction(1, fps)
    if codec == "libx264":
        stream.options = {"crf": str(crf), "preset": "ultrafast"}
    elif codec in ("libvpx", "libvpx-vp9"):
        stream.options = {"crf": str(crf), "b:v": "0", "deadline": "realtime", "cpu-used": "8"}
    pts = 0
    for picture in pictures[drop_seconds:]:
        img = Image.fromarray(picture)
        if size is not None:
            img = img.resize(size, Image.Resampling.BILINEAR)
        for _ in range(fps):
            frame = av.VideoFrame.from_image(img)
            frame.pts = pts
            pts += 1
            for packet in stream.encode(frame):
                out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
    out.close()
    return buffer.getvalue()


def animated_gif(pictures: list, *, fps: int = 4) -> bytes:
    """An animated GIF (FFmpeg's encoder; it loops forever) showing each picture for a second."""
    return encode(pictures, fps=fps, container="gif", codec="gif")
