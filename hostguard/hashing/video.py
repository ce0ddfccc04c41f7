"""Sample videos: vPDQ hashes (PDQ of one frame a second), decoded in a bounded child process.

vPDQ is Meta's video hash (ThreatExchange `vpdq/`): a video is decoded, the first frame at or
after each whole second is hashed with PDQ, and the hash is the list of those frames
(frame number, quality, PDQ hash, timestamp), written one per line as
`frame_number,quality,pdq_hex,timestamp`. Two videos match when, after dropping frames of
quality below 50 and frames with the same hash, at least 80 % of the query's frames are within
the frame threshold (31 bits) of some frame of the listed video, and at least 80 % of the
listed video's frames are within it of some query frame (`match_videos`).

Videos come from strangers and a decoder is a large attack surface, so decoding never runs in
the calling (web or CLI) process: each video is decoded by a child process with an address
space cap and a wall-clock limit, and it is refused before decoding when its stream claims a
side, pixel count or duration over the limits, and while decoding at the first frame past the
frame or duration limit. Frames are hashed at their full size with hostguard's own PDQ, as
the reference does: the hashes are vpdq's, bit for bit, on the videos compared (scaling frames
to 512 px first put them up to 28 bits away on 1080p, for no gain in time: decoding dominates).
"""

from __future__ import annotations

import hashlib
import io
import math
import multiprocessing
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from hostguard.errors import InvalidInput
from hostguard.hashing.algorithms import ALGORITHMS
from hostguard.hashing.index import MatchIndex, build_index
from hostguard.hashing.pdq import pdq_hash

QUALITY_THRESHOLD = 50  # frames below this PDQ quality are not compared (vPDQ's default)
QUERY_SHARE = 80.0  # per cent of the sample's frames that must match the listed video's
TARGET_SHARE = 80.0  # per cent of the listed video's frames that must match the sample's
MAX_LIST_FRAMES = 100_000  # frames one listed video may have in a vPDQ file

PDQ = ALGORITHMS["pdq"]
_HEX = re.compile(r"[0-9a-f]{64}")


class VideoError(InvalidInput):
    """A file that cannot be hashed as a video; the message says why, never what it holds."""

    code = "bad_video"


@dataclass(frozen=True)
class VideoLimits:
    """What one sample video may be: checked on the stream's header, then while decoding."""

    max_seconds: float = 600.0
    max_side: int = 4096
    max_pixels: int = 16_777_216  # a frame's width x height
    max_frames: int = 36_000  # decoded frames (every frame is decoded, one a second is hashed)
    timeout_seconds: float = 60.0
    memory_bytes: int = 2 * 1024**3  # the decoding child's address space


DEFAULT_VIDEO_LIMITS = VideoLimits()


@dataclass(frozen=True)
class VideoFrame:
    """One hashed frame of a vPDQ hash."""

    frame: int
    quality: int
    hash: str
    timestamp: float


def looks_like_video(data: bytes) -> bool:
    """MP4/MOV (an `ftyp` box first) or Matroska/WebM (an EBML header)."""
    return data[4:8] == b"ftyp" or data.startswith(b"\x1a\x45\xdf\xa3")


# --- hashing ---------------------------------------------------------------------------------


def hash_video(data: bytes, limits: VideoLimits = DEFAULT_VIDEO_LIMITS) -> list[VideoFrame]:
    """The vPDQ hash of a video (or animated GIF), decoded in a child process within `limits`;
    raises VideoError with a reason a person can act on."""
    if not data:
        raise VideoError("empty file")
    context = _context()
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(sender, data, limits), daemon=True)
    child.start()
    sender.close()
    try:
        if not receiver.poll(limits.timeout_seconds):
            raise VideoError(
                f"video took longer than {limits.timeout_seconds:g} s to decode; it was stopped"
            )
        try:
            ok, payload = receiver.recv()
        except EOFError:
            raise VideoError("video decoder failed (corrupt or hostile video?)") from None
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join(5)
    if not ok:
        raise VideoError(payload)
    return [VideoFrame(*row) for row in payload]


def _forget_inherited_forkserver() -> None:
    """In a forked child (a `hash_paths` worker), the parent's fork server is not its own: it
    cannot wait for it, and multiprocessing would fail on that; the child starts its own."""
    from multiprocessing import forkserver

    server: Any = forkserver._forkserver  # private: multiprocessing offers no reset
    server._forkserver_address = None
    server._forkserver_alive_fd = None
    server._forkserver_pid = None


os.register_at_fork(after_in_child=_forget_inherited_forkserver)


def _context():
    """Children fork from a small server process that has PyAV and PDQ imported already, not
    from the caller (a threaded web process is no safe thing to fork)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["av", "hostguard.hashing.pdq", "hostguard.hashing.video"])
    return context


def _child(sender, data: bytes, limits: VideoLimits) -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    except (ImportError, ValueError, OSError):
        pass
    try:
        frames = _decode(data, limits)
        sender.send((True, [(f.frame, f.quality, f.hash, f.timestamp) for f in frames]))
    except VideoError as exc:
        sender.send((False, exc.message))
    except MemoryError:
        sender.send((False, "video needs too much memory to decode (decompression bomb?)"))
    except Exception as exc:  # decoders raise many kinds of errors on malformed input
        sender.send((False, f"corrupt video data ({type(exc).__name__})"))
    finally:
        sender.close()


def _decode(data: bytes, limits: VideoLimits) -> list[VideoFrame]:
    import av  # imported here: only decoding children need PyAV (FFmpeg) loaded

    try:
        container = av.open(io.BytesIO(data), mode="r")
    except (av.FFmpegError, ValueError):
        raise VideoError(
            "corrupt video data (an MP4, WebM or GIF that cannot be decoded)"
        ) from None
    with container:
        if not container.streams.video:
            raise VideoError("file has no video stream")
        stream = container.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        if width < 1 or height < 1:
            raise VideoError("video has no readable dimensions (corrupt or hostile video?)")
        if max(width, height) > limits.max_side or width * height > limits.max_pixels:
            raise VideoError(
                f"video dimensions {width}x{height} are too large (at most {limits.max_side} "
                f"a side and {limits.max_pixels} pixels)"
            )
        claimed = _claimed_seconds(container, stream)
        if claimed is not None and claimed > limits.max_seconds:
            raise VideoError(
                f"video is {claimed:.0f} s long, the limit is {limits.max_seconds:g} s"
            )
        rate = float(stream.average_rate or stream.guessed_rate or 25)
        frames: list[VideoFrame] = []
        next_second = 0
        for number, frame in enumerate(container.decode(stream)):
            if number >= limits.max_frames:
                raise VideoError(f"video has more than {limits.max_frames} frames")
            if frame.width != width or frame.height != height:
                if max(frame.width, frame.height) > limits.max_side:
                    raise VideoError("video changes to dimensions that are too large")
            seconds = frame.time if frame.time is not None else number / rate
            if seconds > limits.max_seconds:
                raise VideoError(f"video is longer than {limits.max_seconds:g} s")
            if seconds + 1e-6 < next_second:
                continue
            pixels = frame.to_ndarray(format="rgb24")
            value, quality = pdq_hash(np.ascontiguousarray(pixels))
            frames.append(VideoFrame(number, quality, value, round(float(seconds), 3)))
            next_second = math.floor(seconds + 1e-6) + 1
    if not frames:
        raise VideoError("video has no decodable frames")
    return frames


def _claimed_seconds(container, stream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return None


# --- the text format -------------------------------------------------------------------------


def format_vpdq(frames: list[VideoFrame]) -> str:
    """vPDQ's text format, as its reference tools write it."""
    return "".join(f"{f.frame},{f.quality},{f.hash},{f.timestamp:.3f}\n" for f in frames)


def parse_vpdq(text: str) -> list[VideoFrame]:
    """Frames of one video in vPDQ's text format; raises InvalidInput naming the line.

    The reference writes `frame_number,quality,pdq_hex,timestamp`; its Python binding's
    README prints `frame_number,pdq_hex,quality,timestamp`: the hex field is found either way.
    Blank lines and lines starting with '#' are skipped."""
    frames = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split(",")]
        if len(fields) != 4:
            raise InvalidInput(
                f"line {number}: a vPDQ line has 4 comma-separated fields "
                "(frame_number,quality,pdq_hex,timestamp)",
                code="invalid_vpdq",
            )
        hex_at = 2 if _HEX.fullmatch(fields[2].lower()) else 1
        value = fields[hex_at].lower()
        quality_field = fields[1] if hex_at == 2 else fields[2]
        try:
            frame, quality, seconds = int(fields[0]), int(quality_field), float(fields[3])
        except ValueError:
            frame = quality = -1
            seconds = 0.0
        if not _HEX.fullmatch(value) or frame < 0 or not 0 <= quality <= 100:
            raise InvalidInput(
                f"line {number}: not a vPDQ frame (frame number, quality 0-100, 64 hex digits, "
                "timestamp)",
                code="invalid_vpdq",
            )
        frames.append(VideoFrame(frame, quality, value, seconds))
        if len(frames) > MAX_LIST_FRAMES:
            raise InvalidInput(
                f"a listed video has at most {MAX_LIST_FRAMES} frames", code="invalid_vpdq"
            )
    return frames


def video_identity(frames: list[VideoFrame]) -> str:
    """A 64-hex identity of a vPDQ hash (SHA-256 of its frames' hashes, in order): what a
    list entry's `hash` column holds for a video, so a re-import of the same video is no
    second entry."""
    return hashlib.sha256("\n".join(f.hash for f in frames).encode()).hexdigest()


def pack_frames(frames: list[VideoFrame]) -> str:
    """How a listed (or a sample) video's frames are stored: `quality:hex` per frame,
    space-separated."""
    return " ".join(f"{f.quality}:{f.hash}" for f in frames)


def unpack_frames(packed: str | None) -> list[tuple[int, str]]:
    """(quality, hex) of each frame `pack_frames` stored: all that matching reads of them."""
    pairs = []
    for item in (packed or "").split():
        quality, _, value = item.partition(":")
        pairs.append((int(quality), value))
    return pairs


# --- matching --------------------------------------------------------------------------------


def _comparable(pairs) -> list[str]:
    """The distinct hashes of frames of quality >= 50, in first-seen order."""
    return list(dict.fromkeys(value for quality, value in pairs if quality >= QUALITY_THRESHOLD))


@dataclass
class VideoIndex:
    """The comparable frames of a list's videos, each frame an entry of hostguard's PDQ match
    index (as the reference's faiss-backed vPDQ index holds them), grouped by video so that a
    query can count the shares of frames matched both ways."""

    entry_ids: list[int]
    frames: MatchIndex  # its entry ids are frame positions
    starts: np.ndarray  # the position of each video's first frame
    counts: np.ndarray  # comparable frames per video

    @classmethod
    def build(cls, rows) -> VideoIndex:
        """From (entry_id, packed frames) rows."""
        ids, hashes, counts = [], [], []
        for entry_id, packed in rows:
            comparable = _comparable(unpack_frames(packed))
            if comparable:
                ids.append(entry_id)
                hashes.extend(comparable)
                counts.append(len(comparable))
        count_array = np.asarray(counts, dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(count_array)[:-1]]).astype(np.int64)
        frames = build_index(PDQ, zip(hashes, range(len(hashes)), strict=True))
        return cls(ids, frames, starts, count_array)

    def query(
        self, frames: Iterable[VideoFrame | tuple[int, str]], threshold: int
    ) -> list[tuple[int, float, float]]:
        """(entry id, query share %, target share %) of every listed video the sample matches
        both ways (shares at least QUERY_SHARE and TARGET_SHARE). `frames`: the sample's
        frames, or their (quality, hex) pairs as `unpack_frames` reads them back."""
        query = _comparable((f.quality, f.hash) if isinstance(f, VideoFrame) else f for f in frames)
        if not query or not self.entry_ids:
            return []
        found = self.frames.query(query, threshold)
        if not found:
            return []
        asked = np.fromiter((m.query for m in found), dtype=np.int64, count=len(found))
        rows = np.fromiter((m.entry for m in found), dtype=np.int64, count=len(found))
        owners = np.searchsorted(self.starts, rows, "right") - 1
        videos = len(self.entry_ids)
        # distinct (video, query frame) and distinct listed frames, counted per video
        pairs = np.unique(owners * len(query) + asked)
        query_share = np.bincount(pairs // len(query), minlength=videos) * 100.0 / len(query)
        listed = np.bincount(owners[np.unique(rows, return_index=True)[1]], minlength=videos)
        target_share = listed * 100.0 / self.counts
        matched = (query_share >= QUERY_SHARE) & (target_share >= TARGET_SHARE)
        return [
            (self.entry_ids[i], float(query_share[i]), float(target_share[i]))
            for i in np.flatnonzero(matched)
        ]
