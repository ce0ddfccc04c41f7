"""ID documents for know-your-uploader: checked by content, stored encrypted outside the database."""

from __future__ import annotations

import logging
import os
import re
import secrets
import stat
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import filetype

from hostguard.errors import InvalidInput, TooLarge

log = logging.getLogger(__name__)

ALLOWED_TYPES = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}
# what store_document writes (<32 hex>.bin) and reencrypt_document writes for a moment
# (<32 hex>.<8 hex>.tmp; releases before 2026-12-04: <32 hex>.tmp)
STORED_NAME = re.compile(r"[0-9a-f]{32}\.bin|[0-9a-f]{32}(\.[0-9a-f]{8})?\.tmp")


def check_document(data: bytes, *, max_bytes: int) -> str:
    """Return the document's MIME type, judged by its content (never by name or header)."""
    if not data:
        raise InvalidInput("the ID document is empty", code="document_empty")
    if len(data) > max_bytes:
        raise TooLarge(
            f"the ID document is larger than {max_bytes // (1024 * 1024) or 1} MB "
            f"({max_bytes} bytes)",
            code="document_too_large",
        )
    kind = filetype.guess(data)
    mime = kind.mime if kind else None
    if mime not in ALLOWED_TYPES:
        raise InvalidInput(
            "the ID document must be a JPEG, PNG or PDF file"
            + (f" (this one is {mime})" if mime else ""),
            code="document_type",
        )
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
    # a name of its own, never one a crashed rotation left behind (the orphan sweep removes those)
    tmp = path.with_name(f"{path.stem}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(token)
    tmp.replace(path)


def delete_document(*, documents_dir: Path, name: str) -> None:
    _path(documents_dir, name).unlink(missing_ok=True)


def remove_orphans(
    *, documents_dir: Path, older_than: datetime, referenced: Callable[[list[str]], set[str]]
) -> dict[str, int]:
    """Delete documents no submission points at, and re-encryption leftovers, unchanged since `older_than`.

    A rolled-back or crashed submission leaves its encrypted document behind with no row, so
    no redaction would ever reach it. `referenced(names)` returns those of `names` a
    submission still points at; they are kept whatever their age. Only regular files named
    as this module names them are considered (never a symbolic link, a directory or another
    file), and every call goes through one handle on the directory, so nothing outside it is
    touched. Returns the counts removed: `documents` (.bin) and `temp_files` (.tmp).
    """
    removed = {"documents": 0, "temp_files": 0}
    cutoff = older_than.timestamp()
    try:
        dir_fd = os.open(documents_dir, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        return removed
    except OSError as exc:  # unreadable, not a directory, a stale mount: the other sweeps go on
        log.warning("documents directory cannot be swept for orphans: %s", exc.__class__.__name__)
        return removed
    failed = 0
    try:
        old: dict[str, int] = {}  # name -> inode
        with os.scandir(dir_fd) as entries:
            for entry in entries:
                if STORED_NAME.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                    seen = entry.stat(follow_symlinks=False)
                    if seen.st_mtime < cutoff:
                        old[entry.name] = seen.st_ino
        keep = referenced(sorted(old)) if old else set()
        for name, inode in old.items():
            if name in keep:
                continue
            try:  # still the same old file it listed (nothing replaced it by rename since)
                current = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                if (
                    not stat.S_ISREG(current.st_mode)
                    or current.st_ino != inode
                    or current.st_mtime >= cutoff
                ):
                    continue
                os.unlink(name, dir_fd=dir_fd)
            except FileNotFoundError:
                continue
            except OSError:
                failed += 1
                continue
            removed["temp_files" if name.endswith(".tmp") else "documents"] += 1
    finally:
        os.close(dir_fd)
    if failed:
        log.warning(
            "could not delete %d orphaned document files; the next sweep tries again", failed
        )
    return removed
