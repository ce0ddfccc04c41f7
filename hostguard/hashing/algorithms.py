"""Hash algorithms behind one small interface: PDQ, pHash, dHash, aHash, vPDQ, exact digests.

Every algorithm can say what a valid hash looks like (`validate`), how far apart two hashes
are (`distance`) and how to hash an image. Perceptual algorithms hash decoded pixels
(`hash_image`, plus `hash_variants` for mirrored/rotated copies); exact algorithms hash the
file bytes (`hash_bytes`). Error messages describe what is wrong with a hash, never the hash.
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC
from dataclasses import dataclass

import imagehash
import numpy as np
from PIL import Image

from hostguard.errors import InvalidInput
from hostguard.hashing.pdq import pdq_dihedral, pdq_hash

HEX_RE = re.compile(r"[0-9a-f]*")

# The eight dihedral variants every perceptual hash is computed for, as Pillow's transposes.
DIHEDRAL = (
    ("original", None),
    ("rotate90", Image.Transpose.ROTATE_90),
    ("rotate180", Image.Transpose.ROTATE_180),
    ("rotate270", Image.Transpose.ROTATE_270),
    ("flip_x", Image.Transpose.FLIP_LEFT_RIGHT),
    ("flip_y", Image.Transpose.FLIP_TOP_BOTTOM),
    ("flip_plus1", Image.Transpose.TRANSPOSE),
    ("flip_minus1", Image.Transpose.TRANSVERSE),
)


class InvalidHash(InvalidInput):
    """A hash string that does not fit its algorithm; the message never repeats the hash."""

    code = "invalid_hash"


@dataclass(frozen=True)
class HashValue:
    """One computed hash: lower-case hex, PDQ quality (0-100) or None, and which variant."""

    hash: str
    quality: int | None = None
    variant: str = "original"


class HashAlgorithm(ABC):
    """What hostguard needs from a hash algorithm."""

    name: str
    bits: int
    exact: bool = False
    video: bool = False  # hashes videos (a list entry is a whole video), not images
    default_threshold: int = 0
    # Largest side the hasher shrinks an image to before calling hash_image (None: as loaded).
    input_size: int | None = None

    @property
    def hex_length(self) -> int:
        return self.bits // 4

    def validate(self, value: str) -> str:
        """Return the normalised (lower-case, stripped) hash or raise InvalidHash with a reason."""
        if not isinstance(value, str):
            raise InvalidHash("hash is not text")
        text = value.strip().lower()
        if text.startswith("0x"):
            text = text[2:]
        if not text:
            raise InvalidHash("empty hash")
        if len(text) != self.hex_length:
            raise InvalidHash(
                f"{self.name} hashes have {self.hex_length} hex digits, this one has {len(text)}"
            )
        if not HEX_RE.fullmatch(text):
            raise InvalidHash("not a hexadecimal string")
        if text.count("0") == len(text):
            raise InvalidHash("all-zero hash (the hash of a blank or unreadable image)")
        return text

    def distance(self, a: str, b: str) -> int:
        """Hamming distance in bits (exact algorithms: 0 when equal, `bits` otherwise)."""
        return (int(a, 16) ^ int(b, 16)).bit_count()

    def hash_image(self, img: Image.Image) -> HashValue:
        raise NotImplementedError(f"{self.name} hashes file bytes, not pixels")

    def hash_variants(self, img: Image.Image) -> list[HashValue]:
        """Hashes of the image and its mirrored / rotated copies (perceptual algorithms)."""
        return [self.hash_image(img)]

    def hash_bytes(self, data: bytes) -> str:
        raise NotImplementedError(f"{self.name} hashes pixels, not file bytes")


class PdqAlgorithm(HashAlgorithm):
    """Meta's PDQ: 256 bits with a quality score; dihedral variants come almost for free."""

    name = "pdq"
    bits = 256
    default_threshold = 31
    # PDQ filters the whole image down to 64x64 itself, so it hashes the working-size frame
    # as it is (`hostguard.hashing.pdq` is fast at any size).
    input_size = None

    @staticmethod
    def _pixels(img: Image.Image) -> np.ndarray:
        if img.mode not in ("L", "RGB"):
            img = img.convert("RGB")
        return np.asarray(img)

    def hash_image(self, img: Image.Image) -> HashValue:
        value, quality = pdq_hash(self._pixels(img))
        return HashValue(value, quality, "original")

    def hash_variants(self, img: Image.Image) -> list[HashValue]:
        values, quality = pdq_dihedral(self._pixels(img))
        return [
            HashValue(value, quality, name)
            for value, (name, _op) in zip(values, DIHEDRAL, strict=True)
        ]


class ImageHash64(HashAlgorithm):
    """A 64-bit hash from the `imagehash` package (pHash, dHash or aHash)."""

    bits = 64
    input_size = 128

    def __init__(self, name: str, function, default_threshold: int):
        self.name = name
        self._function = function
        self.default_threshold = default_threshold

    def hash_image(self, img: Image.Image) -> HashValue:
        return HashValue(str(self._function(img)), None, "original")

    def hash_variants(self, img: Image.Image) -> list[HashValue]:
        grey = img if img.mode == "L" else img.convert("L")
        values = []
        for name, op in DIHEDRAL:
            turned = grey if op is None else grey.transpose(op)
            values.append(HashValue(str(self._function(turned)), None, name))
        return values


class DigestAlgorithm(HashAlgorithm):
    """An exact cryptographic digest of the file bytes."""

    exact = True
    default_threshold = 0

    def __init__(self, name: str, bits: int):
        self.name = name
        self.bits = bits

    def distance(self, a: str, b: str) -> int:
        return 0 if a == b else self.bits

    def hash_bytes(self, data: bytes) -> str:
        return hashlib.new(self.name, data).hexdigest()


class VpdqAlgorithm(HashAlgorithm):
    """Meta's vPDQ: a video as the PDQ hashes of one frame a second (`hostguard.hashing.video`).

    A list entry is one video; its `hash` is the video's 64-hex identity
    (`video.video_identity`) and its frames are kept beside it. The threshold is the largest
    PDQ distance at which two frames count as the same."""

    name = "vpdq"
    bits = 256
    video = True
    default_threshold = 31


def bits_to_hex(vector) -> str:
    """A 0/1 vector (most significant bit first) as lower-case hex."""
    return np.packbits(np.asarray(vector, dtype=np.uint8)).tobytes().hex()


# Default thresholds for the 64-bit hashes come from benchmarks/hashing/evaluate.py
# (see docs/readme/hashing.md): the largest distance with no false positive among 1.6 million
# pairs of distinct benign images. aHash and dHash are weak on flat, synthetic pictures.
ALGORITHMS: dict[str, HashAlgorithm] = {
    "pdq": PdqAlgorithm(),
    "phash": ImageHash64("phash", imagehash.phash, default_threshold=8),
    "dhash": ImageHash64("dhash", imagehash.dhash, default_threshold=3),
    "ahash": ImageHash64("ahash", imagehash.average_hash, default_threshold=0),
    "vpdq": VpdqAlgorithm(),
    "md5": DigestAlgorithm("md5", 128),
    "sha1": DigestAlgorithm("sha1", 160),
    "sha256": DigestAlgorithm("sha256", 256),
}
PERCEPTUAL = tuple(name for name, alg in ALGORITHMS.items() if not alg.exact and not alg.video)
EXACT = tuple(name for name, alg in ALGORITHMS.items() if alg.exact)


def get_algorithm(name: str) -> HashAlgorithm:
    try:
        return ALGORITHMS[name.strip().lower()]
    except KeyError:
        raise InvalidInput(
            f"unknown hash algorithm {name!r}; choose one of {', '.join(ALGORITHMS)}",
            code="unknown_algorithm",
        ) from None
