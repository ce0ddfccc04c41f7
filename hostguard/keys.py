"""Key material in the data dir: session secret, encryption keyring for personal data, signing key.

`hostguard init` creates what is missing; nothing here ever overwrites an existing key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hostguard.config import ConfigError, Settings

SECRET_FILE = "secret_key"
FERNET_FILE = "encryption.keys"  # one Fernet key per line, newest first
SIGNING_FILE = "signing_ed25519.pem"
# public keys of signing keys rotated out, newest first: receipts they signed still verify
RETIRED_SIGNING_FILE = "signing_ed25519.retired.pem"


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def ensure_keys(settings: Settings) -> list[str]:
    """Create the data dir and any missing key file; returns the names of files created."""
    created = []
    keys_dir = settings.keys_dir
    keys_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(keys_dir, 0o700)
    settings.documents_dir.mkdir(parents=True, exist_ok=True)
    if not (keys_dir / SECRET_FILE).exists():
        _write_private(keys_dir / SECRET_FILE, secrets.token_urlsafe(48).encode())
        created.append(SECRET_FILE)
    if not (keys_dir / FERNET_FILE).exists():
        _write_private(keys_dir / FERNET_FILE, Fernet.generate_key() + b"\n")
        created.append(FERNET_FILE)
    if not (keys_dir / SIGNING_FILE).exists():
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _write_private(keys_dir / SIGNING_FILE, pem)
        created.append(SIGNING_FILE)
    return created


@dataclass
class Keyring:
    secret_key: str
    fernet_keys: list[bytes]
    signing_key: Ed25519PrivateKey
    retired_public_keys: list[Ed25519PublicKey] = field(default_factory=list)

    @property
    def fernet(self) -> MultiFernet:
        return MultiFernet([Fernet(k) for k in self.fernet_keys])

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.signing_key.public_key()

    def public_key_b64(self) -> str:
        raw = self.public_key.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return base64.b64encode(raw).decode()

    def encrypt(self, plaintext: str | bytes) -> bytes:
        data = plaintext.encode() if isinstance(plaintext, str) else plaintext
        return self.fernet.encrypt(data)

    def decrypt(self, token: bytes) -> bytes:
        try:
            return self.fernet.decrypt(token)
        except InvalidToken as exc:
            raise ConfigError("encrypted data cannot be read with the current keys") from exc

    def decrypt_str(self, token: bytes | None) -> str | None:
        return None if token is None else self.decrypt(token).decode()


def load_keyring(settings: Settings) -> Keyring:
    keys_dir = settings.keys_dir
    missing = [n for n in (FERNET_FILE, SIGNING_FILE) if not (keys_dir / n).exists()]
    if missing:
        raise ConfigError(f"keys missing in {keys_dir}: {', '.join(missing)}; run 'hostguard init'")
    secret = settings.secret_key
    if not secret:
        secret_path = keys_dir / SECRET_FILE
        if not secret_path.exists():
            raise ConfigError(
                f"no secret key: set HOSTGUARD_SECRET_KEY or run 'hostguard init' ({secret_path})"
            )
        secret = secret_path.read_text().strip()
    fernet_keys = [
        line.strip().encode()
        for line in (keys_dir / FERNET_FILE).read_text().splitlines()
        if line.strip()
    ]
    signing = serialization.load_pem_private_key(
        (keys_dir / SIGNING_FILE).read_bytes(), password=None
    )
    if not isinstance(signing, Ed25519PrivateKey):
        raise ConfigError(f"{keys_dir / SIGNING_FILE} is not an Ed25519 private key")
    return Keyring(
        secret_key=secret,
        fernet_keys=fernet_keys,
        signing_key=signing,
        retired_public_keys=_retired_signing_keys(keys_dir / RETIRED_SIGNING_FILE),
    )


_PEM_BLOCK = "-----END PUBLIC KEY-----"


def _retired_signing_keys(path: Path) -> list[Ed25519PublicKey]:
    if not path.exists():
        return []
    keys = []
    for block in path.read_text().split(_PEM_BLOCK):
        if "-----BEGIN PUBLIC KEY-----" not in block:
            continue
        key = serialization.load_pem_public_key((block.strip() + "\n" + _PEM_BLOCK).encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ConfigError(f"{path} holds a key that is not an Ed25519 public key")
        keys.append(key)
    return keys


def rotate_signing_key(settings: Settings) -> None:
    """Make a new receipt-signing key; the old one's public key is kept as retired, so the
    receipts it signed still verify (and are published in /.well-known/jwks.json)."""
    keys_dir = settings.keys_dir
    current = serialization.load_pem_private_key(
        (keys_dir / SIGNING_FILE).read_bytes(), password=None
    )
    if not isinstance(current, Ed25519PrivateKey):
        raise ConfigError(f"{keys_dir / SIGNING_FILE} is not an Ed25519 private key")
    retired_path = keys_dir / RETIRED_SIGNING_FILE
    old_public = current.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    earlier = retired_path.read_bytes() if retired_path.exists() else b""
    tmp = retired_path.with_suffix(".tmp")
    tmp.write_bytes(old_public + earlier)
    tmp.replace(retired_path)
    new_private = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    tmp = (keys_dir / SIGNING_FILE).with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    _write_private(tmp, new_private)
    tmp.replace(keys_dir / SIGNING_FILE)


def add_encryption_key(settings: Settings) -> None:
    """Put a new Fernet key first in the keyring file (old keys stay to decrypt until rotated)."""
    path = settings.keys_dir / FERNET_FILE
    keys = path.read_text().strip().splitlines()
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join([Fernet.generate_key().decode(), *keys]) + "\n")
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def drop_old_encryption_keys(settings: Settings) -> None:
    """After everything was re-encrypted with the newest key, keep only that one."""
    path = settings.keys_dir / FERNET_FILE
    newest = path.read_text().strip().splitlines()[0]
    tmp = path.with_suffix(".tmp")
    tmp.write_text(newest + "\n")
    os.chmod(tmp, 0o600)
    tmp.replace(path)


# --- what signed documents (certification receipts, dataset scan attestations) share --------


def canonical_json(data: dict) -> bytes:
    """The exact bytes that are signed: sorted keys, no spaces, UTF-8."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """Short fingerprint of a public key (the first 16 hex digits of its SHA-256), published
    beside it at /api/v1/keys and named by receipts and attestations."""
    return hashlib.sha256(raw_public_key(key)).hexdigest()[:16]
