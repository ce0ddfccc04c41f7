"""ID documents for know-your-uploader: checked by content, stored encrypted outside the database."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import filetype

from hostguard.errors import InvalidInput, TooLarge

ALLOWED_TYPES = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}


def check_document(data: bytes, *, max_bytes: int) -> str:
    """Return the document's MIME type, judged by its content (never by name or header)."""
    if not data:
        raise InvalidInput("the ID document is empty", code="document_empty")
    if len(data) > max_bytes:
        raise TooLarge(f"the ID document is larger than {max_bytes // (1024 * 1024) or 1} MB "
                       f"({max_bytes} bytes)", code="document_too_large")
    kind = filetype.guess(data)
    mime = kind.mime if kind else None
    if mime not in ALLOWED_TYPES:
        raise InvalidInput("the ID document must be a JPEG, PNG or PDF file"
                           + (f" (this one is {mime})" if mime else ""), code="document_type")
    return mime


def store_document(*, documents_dir: Path, data: bytes, keys) -> str:
    """Encrypt and write the document; returns its random file name (stored in the database)."""
    documents_dir.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}.bin"
    path = documents_dir / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(keys.encrypt(data))
    return name


def _path(documents_dir: Path, name: str) -> Path:
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise InvalidInput("bad document reference")
    return documents_dir / name


def read_document(*, documents_dir: Path, name: str, keys) -> bytes:
    return keys.decrypt(_path(documents_dir, name).read_bytes())


def reencrypt_document(*, documents_dir: Path, name: str, keys) -> None:
    """Rewrite the document under the newest key (for key rotation), atomically."""
    path = _path(documents_dir, name)
    token = keys.fernet.rotate(path.read_bytes())
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(token)
    tmp.replace(path)


def delete_document(*, documents_dir: Path, name: str) -> None:
    _path(documents_dir, name).unlink(missing_ok=True)
