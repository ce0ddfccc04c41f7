"""Commands of hostguard.uploads: know-your-uploader review, key rotation, policies, receipts."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from sqlmodel import col, select

from hostguard.cli.base import cli_actor, fail, get_runtime, main
from hostguard.datasets.attestation import (
    AttestationError,
    find_attestation,
    parse_document,
    verify_attestation,
)
from hostguard.keys import (
    add_encryption_key,
    drop_old_encryption_keys,
    load_keyring,
    rotate_signing_key,
)
from hostguard.platform.models import Uploader
from hostguard.policy import PolicyError, load_policy
from hostguard.uploads import kyu as kyu_service
from hostguard.uploads.models import KyuStatus, KyuSubmission
from hostguard.uploads.receipts import (
    ReceiptError,
    extract_receipt,
    key_for_receipt,
    key_id,
    public_key_from_b64,
    verify_receipt,
)


@main.group()
def kyu() -> None:
    """Know-your-uploader submissions (no personal data is printed)."""


@kyu.command("list")
@click.option("--status", type=click.Choice([s.value for s in KyuStatus]), default=None)
def kyu_list(status: str | None) -> None:
    """List submissions: id, uploader, status, dates."""
    runtime = get_runtime()
    with runtime.session() as session:
        query = select(KyuSubmission, Uploader).join(
            Uploader, col(Uploader.id) == col(KyuSubmission.uploader_pk)
        )
        if status:
            query = query.where(KyuSubmission.status == status)
        rows = session.exec(query.order_by(col(KyuSubmission.id))).all()
        if not rows:
            click.echo("no submissions")
        for sub, uploader in rows:
            submitted = sub.submitted_at.strftime("%Y-%m-%d %H:%M") if sub.submitted_at else "-"
            click.echo(
                f"{sub.id}\t{uploader.platform_id}\t{kyu_service.effective_status(sub)}\t{submitted}"
            )


@kyu.command("verify")
@click.argument("kyu_id", type=int)
def kyu_verify(kyu_id: int) -> None:
    """Approve a submission waiting for review."""
    runtime = get_runtime()
    with runtime.session() as session:
        sub = kyu_service.verify_kyu(
            session=session, actor=cli_actor(), kyu_id=kyu_id, policy=runtime.policy
        )
        click.echo(f"KYU {kyu_id} verified until {sub.expires_at:%Y-%m-%d}")


@kyu.command("reject")
@click.argument("kyu_id", type=int)
@click.option("--reason", required=True, help="Shown to the uploader; say what to fix.")
def kyu_reject(kyu_id: int, reason: str) -> None:
    """Reject a submission waiting for review, with a reason the uploader sees."""
    runtime = get_runtime()
    with runtime.session() as session:
        kyu_service.reject_kyu(session=session, actor=cli_actor(), kyu_id=kyu_id, reason=reason)
    click.echo(f"KYU {kyu_id} rejected")


@kyu.command("redact")
@click.argument("kyu_id", type=int)
@click.option("--reason", required=True)
def kyu_redact(kyu_id: int, reason: str) -> None:
    """Erase a submission's personal data and document (on request)."""
    runtime = get_runtime()
    with runtime.session() as session:
        kyu_service.redact_kyu(
            session=session, runtime=runtime, actor=cli_actor(), kyu_id=kyu_id, reason=reason
        )
    click.echo(f"KYU {kyu_id} redacted")


@main.group()
def keys() -> None:
    """Encryption and signing keys."""


@keys.command("rotate")
def keys_rotate() -> None:
    """Add a new encryption key, re-encrypt all personal data with it, then drop the old keys."""
    import hostguard.registry  # noqa: F401  (every domain's tables, whose encrypted columns it finds)
    from hostguard.uploads.rotation import reencrypt_all

    runtime = get_runtime()
    settings = runtime.settings
    add_encryption_key(settings)
    keyring = load_keyring(settings)
    with runtime.session() as session:
        counts = reencrypt_all(
            session=session, keys=keyring, documents_dir=settings.documents_dir, actor=cli_actor()
        )
    drop_old_encryption_keys(settings)
    runtime.__dict__.pop("keys", None)
    click.echo("re-encrypted: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    click.echo("old encryption keys dropped")


@keys.command("rotate-signing")
def keys_rotate_signing() -> None:
    """Make a new receipt-signing key; the old one stays published as retired (jwks.json), so
    receipts it signed still verify."""
    runtime = get_runtime()
    old = key_id(runtime.keys.public_key)
    rotate_signing_key(runtime.settings)
    new = key_id(load_keyring(runtime.settings).public_key)
    click.echo(f"receipts are now signed with key {new}; key {old} is retired (still verifies)")


@main.group()
def policy() -> None:
    """Upload policies."""


@policy.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def policy_check(file: Path) -> None:
    """Validate a policy file; every problem is printed with where it is."""
    try:
        loaded = load_policy(file)
    except PolicyError as exc:
        click.echo(f"{exc.source}: invalid policy", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(2)
    click.echo(
        f"{file}: policy {loaded.id} version {loaded.version} is valid "
        f"({len(loaded.certifications.statements)} statements, "
        f"{len(loaded.hash_categories)} hash-list categories)"
    )


@main.group()
def certification() -> None:
    """Certification receipts."""


@certification.command("verify")
@click.argument("file", type=click.File("r"))
@click.option(
    "--public-key",
    default=None,
    help="Trusted base64 Ed25519 key (from the platform's /api/v1/keys). Default: this "
    "installation's key. Without either the receipt cannot be verified.",
)
def certification_verify(file, public_key: str | None) -> None:
    """Check a receipt offline: FILE is a receipt (JSON/YAML), a model card, or - for stdin.

    FILE may also be a dataset scan attestation (`hostguard dataset scan --json`, the
    attestation alone, or a dataset card embedding it under `hostguard_dataset_scan`).

    Exit 0: valid, signed by the trusted key. Exit 1: altered, or signed by another key.
    Exit 3: no trusted key to check against (the key inside a receipt proves nothing: anyone
    can sign a receipt with a key of their own and embed it).
    """
    text = file.read()
    try:
        attestation = find_attestation(parse_document(text))
    except AttestationError:
        attestation = None
    if attestation is not None:
        _verify_dataset_attestation(attestation, public_key)
        return
    try:
        signed = extract_receipt(text)
        trusted = public_key_from_b64(public_key) if public_key else _local_key(signed)
        result = verify_receipt(signed, public_key=trusted)
    except ReceiptError as exc:
        fail(f"receipt does not verify: {exc}", code=1)
    r = result.receipt
    if result.key_source == "embedded":
        fail(
            f"NOT VERIFIED: receipt {r.get('certification_id')} is signed by the key it carries "
            f"({result.key_id}), which anyone can make; pass --public-key with the key from the "
            "platform's /api/v1/keys, or run this where hostguard is installed",
            code=3,
        )
    click.echo(
        f"valid receipt {r.get('certification_id')}: {r.get('uploader')} certified "
        f"{r.get('repo')}@{r.get('revision')} at {r.get('signed_at')} "
        f"(policy {r.get('policy', {}).get('id')} v{r.get('policy', {}).get('version')})"
    )
    for st in r.get("statements", []):
        click.echo(
            f"  {st['id']} v{st['version']} text sha256 {st['text_sha256'][:16]}… {st.get('fields') or ''}"
        )
    click.echo(
        f"signed by key {result.key_id} ({'given with --public-key' if public_key else 'this installation'})"
    )


def _verify_dataset_attestation(signed: dict, public_key: str | None) -> None:
    """`certification verify` of a dataset scan attestation (`hostguard dataset scan`)."""
    try:
        trusted = public_key_from_b64(public_key) if public_key else _local_key(signed)
        result = verify_attestation(signed, public_key=trusted)
    except (ReceiptError, AttestationError) as exc:
        fail(f"attestation does not verify: {exc}", code=1)
    a = result.attestation
    if result.key_source == "embedded":
        fail(
            f"NOT VERIFIED: attestation {a.get('attestation_id')} is signed by the key it carries "
            f"({result.key_id}), which anyone can make; pass --public-key with the key from the "
            "platform's /api/v1/keys, or run this where hostguard is installed",
            code=3,
        )
    dataset = a.get("dataset", {})
    named = (
        f"{dataset['repo']}@{dataset.get('revision')}"
        if dataset.get("repo")
        else f"{dataset.get('shards')} shards, sha256 {str(dataset.get('shards_sha256'))[:16]}…"
    )
    counts = a.get("counts", {})
    click.echo(
        f"valid dataset scan attestation {a.get('attestation_id')}: {named} scanned at "
        f"{a.get('scanned_at')}: {counts.get('images')} images, {counts.get('unreadable')} "
        f"unreadable, {counts.get('matched')} matched ({'clean' if a.get('clean') else 'NOT clean'})"
    )
    for item in a.get("lists", []):
        click.echo(
            f"  list {item['name']} ({item['algorithm']}) v{item['version']} "
            f"threshold {item['threshold']}"
        )
    click.echo(
        f"signed by key {result.key_id} ({'given with --public-key' if public_key else 'this installation'})"
    )


def _local_key(signed):
    """This installation's key that signed the receipt or attestation (current or retired), else
    the current one."""
    try:
        keys = get_runtime().keys
    except Exception:  # no local installation: nothing trusted to check against
        return None
    trusted = [keys.public_key, *keys.retired_public_keys]
    # a receipt names its key in `receipt`, a dataset scan attestation in `attestation`
    named = {"receipt": signed.get("receipt") or signed.get("attestation")}
    return key_for_receipt(named, trusted) or keys.public_key
