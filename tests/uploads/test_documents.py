"""ID documents: type judged by content, size-capped, stored encrypted outside the database."""

from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet, MultiFernet
from PIL import Image

from hostguard.errors import InvalidInput, TooLarge
from hostguard.uploads.documents import (
    check_document,
    read_document,
    reencrypt_document,
    store_document,
)


class _Keys:
    def __init__(self, keys):
        self.fernet_keys = keys

    @property
    def fernet(self):
        return MultiFernet([Fernet(k) for k in self.fernet_keys])

    def encrypt(self, data):
        return self.fernet.encrypt(data)

    def decrypt(self, token):
        return self.fernet.decrypt(token)


def _image(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 40), (200, 10, 10)).save(buf, fmt)
    return buf.getvalue()


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.mark.parametrize(
    ("data", "mime"),
    [(_image("JPEG"), "image/jpeg"), (_image("PNG"), "image/png"), (PDF, "application/pdf")],
)
def test_allowed_types_by_content(data, mime):
    assert check_document(data, max_bytes=1_000_000) == mime


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (_image("GIF"), "document_type"),
        (b"hello, I am a passport", "document_type"),
        (b"", "document_empty"),
    ],
)
def test_wrong_type_or_empty_is_refused(data, code):
    with pytest.raises(InvalidInput) as err:
        check_document(data, max_bytes=1_000_000)
    assert err.value.code == code


def test_oversized_is_refused():
    with pytest.raises(TooLarge) as err:
        check_document(_image("PNG") + b"\0" * 2048, max_bytes=1024)
    assert err.value.code == "document_too_large"


def test_stored_encrypted_and_rotatable(tmp_path):
    data = _image("PNG")
    keys = _Keys([Fernet.generate_key()])
    name = store_document(documents_dir=tmp_path, data=data, keys=keys)
    raw = (tmp_path / name).read_bytes()
    assert data not in raw and b"PNG" not in raw
    assert read_document(documents_dir=tmp_path, name=name, keys=keys) == data
    rotated = _Keys([Fernet.generate_key(), *keys.fernet_keys])
    leftover = tmp_path / (
        name.removesuffix(".bin") + ".tmp"
    )  # a crashed rotation's, older releases' name
    leftover.write_bytes(b"half written")
    reencrypt_document(documents_dir=tmp_path, name=name, keys=rotated)
    assert (
        read_document(documents_dir=tmp_path, name=name, keys=_Keys(rotated.fernet_keys[:1]))
        == data
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [name, leftover.name]
    )  # its own temp file is gone
    assert leftover.read_bytes() == b"half written"  # never reused: the orphan sweep removes it
    with pytest.raises(InvalidInput):
        read_document(documents_dir=tmp_path, name="../etc/passwd", keys=keys)
