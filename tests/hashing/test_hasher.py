"""The hashing pipeline: robust variants (dihedral, borders, frames) and batches in workers."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from hostguard.hashing.algorithms import ALGORITHMS, PERCEPTUAL
from hostguard.hashing.hasher import _shared_variants, hash_blobs, hash_file, hash_paths
from hostguard.hashing.imaging import load_image, trim_border
from tests.hashing.images import ROBUST, encode, jpeg, make_image


def best_distance(algorithm: str, listed: str, data: bytes) -> int:
    alg = ALGORITHMS[algorithm]
    return min(alg.distance(h.hash, listed) for h in hash_file("q", data).for_matching(algorithm))


def listed_hash(algorithm: str, img: Image.Image) -> str:
    return ALGORITHMS[algorithm].hash_image(img).hash


@pytest.mark.parametrize("algorithm", PERCEPTUAL)
@pytest.mark.parametrize(
    "op",
    [
        Image.Transpose.FLIP_LEFT_RIGHT,
        Image.Transpose.FLIP_TOP_BOTTOM,
        Image.Transpose.ROTATE_90,
        Image.Transpose.ROTATE_180,
        Image.Transpose.ROTATE_270,
    ],
)
def test_mirrored_flipped_and_rotated_copies_match(algorithm, op):
    original = make_image(21, (400, 300))
    listed = listed_hash(algorithm, original)
    edited = encode(original.transpose(op), "JPEG", quality=90)
    assert best_distance(algorithm, listed, edited) <= ROBUST[algorithm]


def turned_images(seed: int, size: tuple[int, int]) -> list[Image.Image]:
    """Greyscale pictures of one size: a drawing, noise, black-and-white noise and a flat one."""
    rng = np.random.default_rng(seed)
    width, height = size
    drawing = make_image(seed, (max(width, 64), max(height, 64))).convert("L").resize(size)
    noise = rng.integers(0, 256, (height, width), dtype=np.uint8)
    stark = (rng.integers(0, 2, (height, width)) * 255).astype(np.uint8)
    flat = np.full((height, width), int(rng.integers(0, 256)), dtype=np.uint8)
    return [drawing] + [Image.fromarray(a) for a in (noise, stark, flat)]


SIZES = [(128, 96), (96, 128), (128, 128), (121, 37), (37, 121), (128, 9), (9, 128), (128, 1)]
SIZES += [(1, 1), (2, 3), (8, 8), (9, 8), (32, 32), (33, 31), (5, 70), (128, 13), (70, 128)]


@pytest.mark.parametrize("size", SIZES)
def test_shared_variants_are_imagehash_of_each_turned_image_bit_for_bit(size):
    """The fast path shrinks and turns arrays instead of images; it must not change one bit."""
    names = ["phash", "dhash", "ahash"]
    for seed in range(3):
        for img in turned_images(seed, size):
            fast = _shared_variants(img, [ALGORITHMS[n] for n in names])
            for name in names:
                assert fast[name] == ALGORITHMS[name].hash_variants(img), (name, seed)


def test_shared_variants_match_imagehash_on_many_random_sizes():
    rng = np.random.default_rng(99)
    names = ["phash", "dhash", "ahash"]
    for seed in range(60):
        long, short = 128, int(rng.integers(1, 129))
        size = (long, short) if seed % 2 else (short, long)
        img = turned_images(seed, size)[seed % 4]
        fast = _shared_variants(img, [ALGORITHMS[n] for n in names])
        for name in names:
            assert fast[name] == ALGORITHMS[name].hash_variants(img), (name, size, seed)


@pytest.mark.parametrize("seed", range(8))
def test_hash_file_gives_imagehash_of_every_version_and_orientation(seed):
    """Untrimmed and trimmed, each 64-bit hash is imagehash's on the shrunken, turned image."""
    rng = np.random.default_rng(seed)
    width, height = int(rng.integers(60, 700)), int(rng.integers(60, 700))
    border = (int(rng.integers(0, 90)), int(rng.integers(20, 90)))
    framed = Image.new("RGB", (width + 2 * border[0], height + 2 * border[1]), (250, 250, 250))
    framed.paste(make_image(seed, (width, height)), border)
    data = encode(framed, "PNG")
    frame = load_image(data).frames[0]
    trimmed = trim_border(frame)
    assert trimmed is not None
    result = hash_file("f.png", data)
    for is_trimmed, image in ((False, frame), (True, trimmed)):
        small = image.convert("L")
        small.thumbnail((128, 128), Image.Resampling.BILINEAR, reducing_gap=2.0)
        for name in ("phash", "dhash", "ahash"):
            expected = [(v.hash, v.variant) for v in ALGORITHMS[name].hash_variants(small)]
            got = [
                (h.hash, h.variant)
                for h in result.hashes
                if h.algorithm == name and h.trimmed == is_trimmed
            ]
            assert got == expected, (name, is_trimmed)


@pytest.mark.parametrize("algorithm", PERCEPTUAL)
@pytest.mark.parametrize("colour", [(0, 0, 0), (255, 255, 255)])
def test_bordered_and_letterboxed_copies_match(algorithm, colour):
    original = make_image(22, (400, 300))
    listed = listed_hash(algorithm, original)
    boxed = Image.new("RGB", (400, 500), colour)
    boxed.paste(original, (0, 100))
    framed = Image.new("RGB", (560, 420), colour)
    framed.paste(original, (80, 60))
    alg = ALGORITHMS[algorithm]
    for edited in (boxed, framed):
        data = encode(edited, "PNG")
        untrimmed = hash_file("q", data).primary(algorithm).hash
        assert alg.distance(untrimmed, listed) > ROBUST[algorithm] or algorithm == "pdq"
        assert best_distance(algorithm, listed, data) <= ROBUST[algorithm]


def test_both_trimmed_and_untrimmed_hashes_are_kept():
    framed = Image.new("RGB", (500, 400), (255, 255, 255))
    framed.paste(make_image(23, (400, 300)), (50, 50))
    result = hash_file("f.png", encode(framed, "PNG"), ["pdq"])
    assert {h.trimmed for h in result.hashes} == {False, True}
    assert len(result.hashes) == 16


def test_every_sampled_frame_of_an_animation_is_hashed():
    frames = [make_image(seed, (160, 120)) for seed in range(3)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=80)
    result = hash_file("a.gif", data, ["phash"], variants=False)
    assert sorted(h.frame for h in result.hashes) == [0, 1, 2]
    # a list built from a still of the second frame catches the animation
    still = listed_hash("phash", Image.open(io.BytesIO(encode(frames[1], "GIF"))).convert("RGB"))
    assert best_distance("phash", still, data) <= ROBUST["phash"]


def test_low_quality_pdq_hashes_are_reported_and_not_used_for_matching():
    flat = encode(Image.new("RGB", (300, 300), (40, 90, 200)), "PNG")
    result = hash_file("flat.png", flat, ["pdq", "md5"])
    assert result.low_quality and result.quality < 50
    assert result.for_matching("pdq") == []
    assert len(result.for_matching("md5")) == 1


def test_exact_digests_are_kept_even_when_pixels_cannot_be_decoded():
    result = hash_file("broken.jpg", jpeg(1)[:900], ["pdq", "sha256"])
    assert result.error == "truncated image data"
    assert [h.algorithm for h in result.hashes] == ["sha256"]


def test_batch_in_worker_processes_matches_in_process_hashing_and_survives_bad_files(tmp_path):
    paths = []
    for i in range(6):
        path = tmp_path / f"{i}.jpg"
        path.write_bytes(jpeg(30 + i) if i != 3 else b"not an image")
        paths.append(str(path))
    paths.append(str(tmp_path / "missing.jpg"))
    pooled = list(hash_paths(paths, ["pdq", "md5"], workers=2))
    assert [r.path for r in pooled] == paths
    assert pooled[3].error.startswith("not a supported image")
    assert pooled[6].error.startswith("cannot read file")
    for result, path in zip(pooled[:3], paths[:3], strict=True):
        with open(path, "rb") as handle:
            local = hash_file(path, handle.read(), ["pdq", "md5"])
        assert result.hashes == local.hashes
    blobs = hash_blobs([(p, open(p, "rb").read()) for p in paths[:2]], ["phash"], workers=2)
    assert [b.primary("phash").hash for b in blobs] == [
        r.primary("phash").hash
        for r in hash_blobs([(p, open(p, "rb").read()) for p in paths[:2]], ["phash"])
    ]


def test_hash_file_gives_pdqs_own_hashes_of_the_frame_and_its_trimmed_crop():
    """hash_file reads a frame's pixels once and hashes the trimmed version as a view of them;
    the hashes are PDQ's own of the frame and of trim_border's crop, as images, bit for bit
    (on the dataset benchmark's JPEGs, a third of them with borders, and framed photographs)."""
    from benchmarks.hashing.images import benign_image, jpeg_bytes, photographs

    pdq = ALGORITHMS["pdq"]
    rng = np.random.default_rng(18)
    files = []
    for seed in range(90):
        size = (int(rng.integers(256, 513)), int(rng.integers(256, 513)))
        files.append(jpeg_bytes(benign_image(seed, size)))
    for photo in photographs().values():
        framed = Image.new("RGB", (photo.width + 60, photo.height + 20), (3, 3, 3))
        framed.paste(photo, (30, 10))
        files += [encode(framed, "PNG"), encode(photo, "JPEG", quality=90)]
    trimmed_files = 0
    for number, data in enumerate(files):
        frame = load_image(data).frames[0]
        trimmed = trim_border(frame)
        trimmed_files += trimmed is not None
        expected = [(False, v) for v in pdq.hash_variants(frame)]
        if trimmed is not None:
            expected += [(True, v) for v in pdq.hash_variants(trimmed)]
        got = hash_file("f", data, ["md5", "pdq"]).hashes[1:]
        assert [(h.trimmed, h.hash, h.quality, h.variant) for h in got] == [
            (t, v.hash, v.quality, v.variant) for t, v in expected
        ], number
    assert trimmed_files > 30


def test_warm_up_loads_every_compiled_loop_a_first_image_uses():
    """After warm_up, hashing a frame and its trimmed crop compiles or loads nothing more."""
    import subprocess
    import sys

    script = """
import numpy as np
from hostguard.hashing import hasher, imaging, pdq
from tests.hashing.images import encode
from PIL import Image
hasher.warm_up()
loops = [pdq._grey_samples, pdq._gradient, imaging._border_lines]
before = [len(loop.signatures) for loop in loops]
framed = Image.new("L", (500, 400), 250)
framed.paste(Image.effect_noise((400, 300), 60), (50, 50))
result = hasher.hash_file("f.png", encode(framed, "PNG"), ["pdq"])
assert {h.trimmed for h in result.hashes} == {False, True}
print([len(loop.signatures) for loop in loops] == before, before)
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.startswith("True"), out.stdout + out.stderr


def test_a_matcher_process_warms_the_hashing_loops_as_it_starts(tmp_path):
    """`snapshots.configure` (what web processes, workers and `hostguard scan` call at start)
    loads PDQ's and the border search's compiled loops, so the first upload check does not."""
    import subprocess
    import sys

    script = f"""
import threading
from hostguard.hashing import imaging, pdq, snapshots
loops = [pdq._grey_samples, pdq._gradient, imaging._border_lines]
assert [len(loop.signatures) for loop in loops] == [0, 0, 0]
snapshots.configure({str(tmp_path)!r})
[t.join() for t in threading.enumerate() if t.name == "index-warm-up"]
print(all(loop.signatures for loop in loops))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=180
    )
    assert out.stdout.strip() == "True", out.stdout + out.stderr
