"""Sample videos: vPDQ lists imported in vPDQ's text format, matched by `hostguard scan`,
`POST /api/v1/scan` and the upload check after re-encoding, trimming and scaling; exact hashes of
videos; and bad or hostile videos refused with a per-file error in bounded time."""

from __future__ import annotations

import base64
import io
import json
import time

import pytest

from hostguard.errors import InvalidInput
from hostguard.hashing import service
from hostguard.hashing.hasher import hash_file
from hostguard.hashing.imaging import ImageLimits
from hostguard.hashing.video import (
    VideoFrame,
    VideoLimits,
    format_vpdq,
    hash_video,
    parse_vpdq,
    video_identity,
)
from tests.hashing.videos import animated_gif, encode, scene_frames

SECONDS = 8


@pytest.fixture(scope="module")
def videos() -> dict[str, bytes]:
    """A listed clip and what an uploader might make of it, plus an unrelated clip."""
    pictures = scene_frames(SECONDS, seed=11)
    return {
        "listed.mp4": encode(pictures),
        "reencoded.mp4": encode(pictures, crf=38, fps=6),
        "trimmed.mp4": encode(pictures, drop_seconds=1),
        "smaller.mp4": encode(pictures, size=(208, 156)),
        "copy.webm": encode(pictures, container="webm", codec="libvpx-vp9"),
        "copy.gif": animated_gif(pictures),
        "other.mp4": encode(scene_frames(SECONDS, seed=12)),
    }


@pytest.fixture(scope="module")
def listed_vpdq(videos) -> str:
    return format_vpdq(hash_video(videos["listed.mp4"]))


def test_vpdq_is_one_pdq_hash_a_second_in_vpdqs_text_format(videos, listed_vpdq):
    frames = hash_video(videos["listed.mp4"])
    # 5 frames a second: frames 0, 5, 10, ... are the first at or after each whole second
    assert [f.frame for f in frames] == [5 * s for s in range(SECONDS)]
    assert [f.timestamp for f in frames] == [float(s) for s in range(SECONDS)]
    assert all(f.quality == 100 for f in frames)
    first = listed_vpdq.splitlines()[0].split(",")
    assert first[0] == "0" and first[1] == "100" and len(first[2]) == 64 and first[3] == "0.000"
    assert parse_vpdq(listed_vpdq) == frames
    # the Python binding's README order (frame, hex, quality, timestamp) reads the same
    swapped = "\n".join(f"{f.frame},{f.hash},{f.quality},{f.timestamp}" for f in frames)
    assert parse_vpdq(swapped) == frames


@pytest.mark.parametrize(
    "line", ["1,2,3", "0,100,zz,0.0", f"0,101,{'ab' * 32},0.0", f"x,100,{'ab' * 32},0.0"]
)
def test_a_bad_vpdq_line_is_refused_with_its_line_number(line):
    with pytest.raises(InvalidInput, match="line 2"):
        parse_vpdq(f"0,100,{'ab' * 32},0.000\n{line}\n")


def test_scan_matches_a_listed_video_after_reencoding_trimming_and_scaling(
    cli, runtime, tmp_path, videos, listed_vpdq
):
    (tmp_path / "listed.mp4").write_bytes(videos["listed.mp4"])
    hashed = cli("hash", "--algorithm", "vpdq", str(tmp_path / "listed.mp4"))
    assert hashed.exit_code == 0, hashed.output
    assert json.loads(hashed.output)["vpdq"] == listed_vpdq  # what a list provider would send
    listing = tmp_path / "clip-17.vpdq.txt"
    listing.write_text(listed_vpdq)
    imported = cli("hashlist", "import", "videos", str(listing), "--algorithm", "vpdq")
    assert imported.exit_code == 0, imported.output
    summary = json.loads(imported.output)
    assert (summary["algorithm"], summary["format"], summary["added"]) == ("vpdq", "vpdq", 1)
    again = json.loads(cli("hashlist", "import", "videos", str(listing)).output)
    assert (again["added"], again["unchanged"]) == (0, 1)  # the same video is one entry
    for name, data in videos.items():
        (tmp_path / name).write_bytes(data)
    names = [n for n in videos if n != "listed.mp4"]
    result = cli("scan", "--json", *(str(tmp_path / n) for n in names))
    assert result.exit_code == 1, result.output  # something matched
    by_name = {r["path"].rsplit("/", 1)[1]: r for r in json.loads(result.output)["results"]}
    for name in names:
        assert by_name[name]["error"] is None, by_name[name]
        expected = name != "other.mp4"
        assert by_name[name]["matched"] is expected, by_name[name]
        if expected:
            match = by_name[name]["matches"][0]
            assert (match["list"], match["algorithm"], match["entry"]) == (
                "videos",
                "vpdq",
                "clip-17.vpdq.txt",
            )
            assert match["distance"] <= match["threshold"] == 20
    assert listed_vpdq.split(",")[2] not in result.output  # the list's hashes never shown


def test_api_scan_and_upload_check_match_videos_by_vpdq_and_by_md5(
    client, runtime, api_headers, videos, listed_vpdq
):
    from hostguard.hashing.algorithms import ALGORITHMS

    md5 = ALGORITHMS["md5"].hash_bytes(videos["other.mp4"])
    with runtime.session() as session:
        service.import_list(
            session=session,
            actor="test",
            name="videos",
            data=listed_vpdq,
            algorithm="vpdq",
            entry_name="clip",
            category="csam",
        )
        service.import_list(session=session, actor="test", name="exact", data=md5, algorithm="md5")
    operator = api_headers("operator")
    response = client.post(
        "/api/v1/scan",
        data={
            "images": [
                (io.BytesIO(videos["trimmed.mp4"]), "trimmed.mp4"),
                (io.BytesIO(videos["other.mp4"]), "other.mp4"),
            ]
        },
        headers=operator,
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    trimmed, other = response.get_json()["results"]
    assert [m["list"] for m in trimmed["matches"]] == ["videos"]
    assert [m["list"] for m in other["matches"]] == ["exact"]

    body = {
        "uploader": {"id": "u-9", "username": "u-9", "email": "u-9@example.org"},
        "repo": {
            "id": "alice/clips",
            "type": "model",
            "revision": "r" * 40,
            "visibility": "public",
        },
        "files": [{"path": "model.safetensors", "size": 10, "sha256": "a" * 64}],
        "samples": [
            {
                "path": "samples/clip.mp4",
                "content_base64": base64.b64encode(videos["smaller.mp4"]).decode(),
            }
        ],
    }
    answer = client.post("/api/v1/uploads/check", json=body, headers=operator).get_json()
    assert answer["decision"] == "block", answer
    assert [m["list"] for m in answer["matches"]] == ["videos"]
    # the old field name, as a multipart file
    body.pop("samples")
    multipart = client.post(
        "/api/v1/uploads/check",
        data={
            "check": json.dumps(body),
            "sample_images": [(io.BytesIO(videos["copy.webm"]), "samples/clip.webm")],
        },
        headers=operator,
        content_type="multipart/form-data",
    ).get_json()
    assert multipart["decision"] == "block", multipart
    assert [m["list"] for m in multipart["matches"]] == ["videos"]


def patched_gif(width: int, height: int) -> bytes:
    """A small animated GIF whose header claims a huge screen (a decompression bomb)."""
    data = bytearray(animated_gif(scene_frames(2, size=(64, 48))))
    data[6:10] = width.to_bytes(2, "little") + height.to_bytes(2, "little")
    return bytes(data)


def endless_gif(seconds: int) -> bytes:
    """An endlessly looping GIF with many small frames (25 a second)."""
    return animated_gif(scene_frames(seconds, size=(32, 32)), fps=25)


@pytest.mark.parametrize(
    ("data", "limits", "reason"),
    [
        (b"\x00\x00\x00\x18ftypisom" + b"\x13\x37" * 4000, VideoLimits(), "corrupt video"),
        (b"\x1a\x45\xdf\xa3" + b"\x00" * 64, VideoLimits(), "corrupt video"),
        (None, VideoLimits(max_seconds=3), "limit is 3 s"),
        (None, VideoLimits(max_side=100), "too large"),
        (None, VideoLimits(max_frames=12), "more than 12 frames"),
        (None, VideoLimits(timeout_seconds=0.01), "longer than 0.01 s to decode"),
        (None, VideoLimits(memory_bytes=64 * 1024**2), "video"),
    ],
    ids=[
        "garbage-mp4",
        "garbage-webm",
        "too-long",
        "too-wide",
        "too-many-frames",
        "timeout",
        "no-memory",
    ],
)
def test_a_bad_or_hostile_video_gets_a_clear_error_in_bounded_time(videos, data, limits, reason):
    started = time.monotonic()
    result = hash_file("clip.mp4", data or videos["listed.mp4"], limits=ImageLimits(video=limits))
    assert time.monotonic() - started < limits.timeout_seconds + 10
    assert result.video is None and reason in result.error, result.error
    assert {h.algorithm for h in result.hashes} == {"md5", "sha1", "sha256"}  # still matched


def test_hostile_gifs_are_refused_before_or_while_decoding():
    started = time.monotonic()
    with pytest.raises(InvalidInput, match="too large"):
        hash_video(patched_gif(12_000, 12_000))
    with pytest.raises(InvalidInput, match="no readable dimensions"):
        hash_video(patched_gif(65_000, 65_000))
    with pytest.raises(InvalidInput, match="more than 500 frames"):
        hash_video(endless_gif(40), VideoLimits(max_frames=500))
    assert time.monotonic() - started < 20


def test_a_video_that_stalls_its_decoder_does_not_stall_the_caller(videos):
    """The time limit holds whatever the decoder does: the child is killed."""
    started = time.monotonic()
    with pytest.raises(InvalidInput, match="longer than"):
        hash_video(videos["listed.mp4"], VideoLimits(timeout_seconds=0.001))
    # the next video decodes normally: nothing was left behind
    assert len(hash_video(videos["trimmed.mp4"])) == SECONDS - 1
    assert time.monotonic() - started < 15


def test_frames_are_vpdq_frames():
    frame = VideoFrame(5, 100, "ab" * 32, 1.0)
    assert format_vpdq([frame]) == f"5,100,{'ab' * 32},1.000\n"


def test_a_suppressed_video_entry_stops_matching(runtime, videos, listed_vpdq):
    """A video entry is allow-listed by its identity (what the list holds), and only it."""
    with runtime.session() as session:
        service.import_list(
            session=session, actor="test", name="videos", data=listed_vpdq, algorithm="vpdq"
        )
    sample = [("clip.mp4", videos["reencoded.mp4"])]
    with runtime.session() as session:
        assert service.scan_images(session=session, runtime=runtime, images=sample)[0].matches
        service.suppress(
            session=session,
            actor="test",
            name="videos",
            hash=video_identity(parse_vpdq(listed_vpdq)),
            reason="a trailer, wrongly listed",
        )
    with runtime.session() as session:
        assert not service.scan_images(session=session, runtime=runtime, images=sample)[0].matches
