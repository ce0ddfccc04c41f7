"""Contract every hash algorithm must meet, plus what each kind (perceptual, exact) promises."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image

from hostguard.errors import InvalidInput
from hostguard.hashing.algorithms import ALGORITHMS, EXACT, PERCEPTUAL, InvalidHash, get_algorithm
from hostguard.hashing.video import VideoFrame, video_identity
from tests.hashing.images import ROBUST, encode, jpeg, make_image

ALL = list(ALGORITHMS.values())


def sample_hash(algorithm, seed: int = 1) -> str:
    if algorithm.video:  # a listed video's identity: here of a one-second video of the image
        frame = ALGORITHMS["pdq"].hash_image(make_image(seed))
        return video_identity([VideoFrame(0, frame.quality or 0, frame.hash, 0.0)])
    if algorithm.exact:
        return algorithm.hash_bytes(jpeg(seed))
    return algorithm.hash_image(make_image(seed)).hash


@pytest.mark.parametrize("algorithm", ALL, ids=lambda a: a.name)
class TestAlgorithmContract:
    def test_hash_is_lower_case_hex_of_the_declared_width(self, algorithm):
        value = sample_hash(algorithm)
        assert len(value) == algorithm.bits // 4
        assert value == value.lower()
        int(value, 16)
        assert algorithm.validate(value) == value

    def test_validate_normalises_case_and_whitespace(self, algorithm):
        value = sample_hash(algorithm)
        assert algorithm.validate(f"  {value.upper()}\n") == value

    @pytest.mark.parametrize(
        "mutate, reason",
        [
            (lambda h: h[:-1], "hex digits"),
            (lambda h: h + "a", "hex digits"),
            (lambda h: "g" + h[1:], "hexadecimal"),
            (lambda h: "0" * len(h), "all-zero"),
            (lambda h: "", "empty"),
        ],
    )
    def test_validate_rejects_with_a_reason_that_does_not_repeat_the_hash(
        self, algorithm, mutate, reason
    ):
        bad = mutate(sample_hash(algorithm))
        with pytest.raises(InvalidHash) as caught:
            algorithm.validate(bad)
        assert reason in caught.value.message
        if len(bad) > 4:
            assert bad not in caught.value.message
            assert bad[:8] not in caught.value.message

    def test_distance_is_zero_to_itself_symmetric_and_positive_between_images(self, algorithm):
        a, b = sample_hash(algorithm, 1), sample_hash(algorithm, 2)
        assert algorithm.distance(a, a) == 0
        assert algorithm.distance(a, b) == algorithm.distance(b, a)
        assert 0 < algorithm.distance(a, b) <= algorithm.bits

    def test_hashing_is_deterministic(self, algorithm):
        assert sample_hash(algorithm, 5) == sample_hash(algorithm, 5)


@pytest.mark.parametrize("name", PERCEPTUAL)
def test_perceptual_hash_survives_recompression_but_separates_different_images(name):
    algorithm = ALGORITHMS[name]
    original = make_image(7)
    recompressed = Image.open(io.BytesIO(encode(original, "JPEG", quality=40)))
    near = algorithm.distance(
        algorithm.hash_image(original).hash, algorithm.hash_image(recompressed).hash
    )
    far = algorithm.distance(
        algorithm.hash_image(original).hash, algorithm.hash_image(make_image(8)).hash
    )
    assert near <= ROBUST[name]
    assert far > ROBUST[name]


@pytest.mark.parametrize("name", PERCEPTUAL)
def test_dihedral_variants_include_the_original_and_catch_a_mirrored_copy(name):
    algorithm = ALGORITHMS[name]
    original = make_image(11)
    variants = algorithm.hash_variants(original)
    assert len(variants) == 8
    assert variants[0].variant == "original"
    assert variants[0].hash == algorithm.hash_image(original).hash
    listed = algorithm.hash_image(original).hash
    for op in (
        Image.Transpose.FLIP_LEFT_RIGHT,
        Image.Transpose.ROTATE_90,
        Image.Transpose.FLIP_TOP_BOTTOM,
    ):
        query = algorithm.hash_variants(original.transpose(op))
        plain = algorithm.distance(query[0].hash, listed)
        best = min(algorithm.distance(v.hash, listed) for v in query)
        assert best <= ROBUST[name] < plain or best <= 2


def test_pdq_reports_quality_and_low_quality_for_a_flat_image():
    pdq = ALGORITHMS["pdq"]
    assert pdq.hash_image(make_image(3)).quality >= 50
    flat = pdq.hash_image(Image.new("RGB", (200, 200), (120, 120, 120)))
    assert flat.quality < 50


@pytest.mark.parametrize("name", EXACT)
def test_exact_digests_are_the_standard_digest_of_the_file_bytes(name):
    data = jpeg(3)
    algorithm = ALGORITHMS[name]
    assert algorithm.hash_bytes(data) == hashlib.new(name, data).hexdigest()
    assert (
        algorithm.distance(algorithm.hash_bytes(data), algorithm.hash_bytes(data + b"x"))
        == algorithm.bits
    )


def test_unknown_algorithm_is_a_clear_error():
    with pytest.raises(InvalidInput, match="unknown hash algorithm"):
        get_algorithm("sha3")
    assert get_algorithm(" PDQ ").name == "pdq"
