"""hostguard's vPDQ against Meta's `vpdq` package on the same generated videos.

`vpdq` builds from source against the system's FFmpeg libraries (Debian: libavcodec-dev,
libavformat-dev, libavutil-dev, libswscale-dev, libavfilter-dev, libavdevice-dev, pkg-config),
so it is no dependency of hostguard; this check runs in three steps:

    python benchmarks/hashing/vpdq_reference.py make DIR        # hostguard's venv
    python benchmarks/hashing/vpdq_reference.py reference DIR   # any venv with vpdq installed
    python benchmarks/hashing/vpdq_reference.py compare DIR     # either

`make` writes test videos (generated, never downloaded) and hostguard's vPDQ of each;
`reference` writes vpdq's; `compare` prints, per video, whether the frames chosen (numbers,
timestamps) and their qualities agree, and the PDQ distances of the frames' hashes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

VIDEOS = {
    # name: (seconds, seed, size, encode options)
    "small.mp4": (8, 1, (320, 240), {}),
    "small-crf38.mp4": (8, 1, (320, 240), {"crf": 38, "fps": 6}),
    "small.webm": (8, 1, (320, 240), {"container": "webm", "codec": "libvpx-vp9"}),
    "small.gif": (8, 1, (320, 240), {"container": "gif", "codec": "gif", "fps": 4}),
    "hd.mp4": (6, 3, (1280, 720), {"fps": 10}),
    "odd.webm": (6, 4, (1000, 562), {"fps": 7, "container": "webm", "codec": "libvpx-vp9"}),
    "fullhd.mp4": (4, 5, (1920, 1080), {"fps": 25}),
}


def make(folder: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from hostguard.hashing.video import hash_video
    from tests.hashing.videos import encode, scene_frames

    folder.mkdir(parents=True, exist_ok=True)
    ours = {}
    for name, (seconds, seed, size, options) in VIDEOS.items():
        data = encode(scene_frames(seconds, seed=seed, size=size), **options)
        (folder / name).write_bytes(data)
        ours[name] = [[f.frame, f.quality, f.hash, f.timestamp] for f in hash_video(data)]
    (folder / "hostguard.json").write_text(json.dumps(ours))


def reference(folder: Path) -> None:
    import vpdq  # type: ignore[import-not-found]

    theirs = {
        name: [
            [f.frame_number, f.quality, f.hex, f.timestamp]
            for f in vpdq.computeHash(str(folder / name))
        ]
        for name in VIDEOS
    }
    (folder / "vpdq.json").write_text(json.dumps(theirs))


def compare(folder: Path) -> None:
    ours = json.loads((folder / "hostguard.json").read_text())
    theirs = json.loads((folder / "vpdq.json").read_text())
    print("| video | frames | same frames and timestamps | same qualities | PDQ distances |")
    print("| --- | ---: | --- | --- | --- |")
    for name in VIDEOS:
        a, b = ours[name], theirs[name]
        same_frames = [(f[0], round(f[3], 3)) for f in a] == [(f[0], round(f[3], 3)) for f in b]
        same_quality = [f[1] for f in a] == [f[1] for f in b]
        distances = [
            (int(x[2], 16) ^ int(y[2], 16)).bit_count() for x, y in zip(a, b, strict=False)
        ]
        print(
            f"| {name} | {len(a)} / {len(b)} | {'yes' if same_frames else 'no'} | "
            f"{'yes' if same_quality else 'no'} | {min(distances)}-{max(distances)} |"
        )


if __name__ == "__main__":
    step, where = sys.argv[1], Path(sys.argv[2])
    {"make": make, "reference": reference, "compare": compare}[step](where)
