"""Pre-upload certifications: what an uploader still owes, taking their statements, the receipt."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypedDict, cast

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from hostguard.audit.service import record
from hostguard.db.types import utcnow
from hostguard.errors import Conflict, InvalidInput
from hostguard.platform.models import ModelRepo, Uploader
from hostguard.platform.service import find_repo
from hostguard.policy import Policy, Statement
from hostguard.uploads.models import Certification
from hostguard.uploads.receipts import (
    ReceiptError,
    key_for_receipt,
    sign_receipt,
    verify_receipt,
)
from hostguard.uploads.rechecks import recheck_held_decisions, recheck_held_hub_checks

if TYPE_CHECKING:
    from hostguard.runtime import Runtime

MAX_REVISION = 100
# the revision of a certification made for the repository (`certifications.scope: repo`),
# possibly before its first push: it names no commit
REPO_WIDE = "*"


# Every upload check reads them (docs/DEVELOPING.md, "Statements on hot paths").
_FOR_REVISION = (
    select(Certification)
    .where(
        Certification.uploader_pk == bindparam("uploader_pk"),
        Certification.repo_pk == bindparam("repo_pk"),
        Certification.revision == bindparam("revision"),
    )
    .order_by(col(Certification.id))
)
_FOR_REPO = (
    select(Certification)
    .where(
        Certification.uploader_pk == bindparam("uploader_pk"),
        Certification.repo_pk == bindparam("repo_pk"),
    )
    .order_by(col(Certification.id))
)


def certifications_for(
    session: Session, *, uploader: Uploader, repo: ModelRepo, revision: str, policy: Policy
) -> list[Certification]:
    """The certifications that count for `revision`, oldest first: under `certifications.scope:
    repo` every one of this uploader for the repo (a later one wins), else those of the revision."""
    params = {"uploader_pk": uploader.id, "repo_pk": repo.id}
    if policy.certifications.scope == "repo":
        return list(session.exec(_FOR_REPO, params=params).all())
    return list(session.exec(_FOR_REVISION, params={**params, "revision": revision}).all())


class CertifiedStatement(TypedDict):
    """A statement as certified: stored in `Certification.statements` and signed in the receipt."""

    id: str
    version: int
    text_sha256: str
    fields: dict[str, Any]


def certified_statements(
    session: Session, *, uploader: Uploader, repo: ModelRepo, revision: str, policy: Policy
) -> dict[str, CertifiedStatement]:
    """Statement id -> the latest certified entry (id, version, text_sha256, fields) that counts
    for `revision` (see `certifications_for`)."""
    done: dict[str, CertifiedStatement] = {}
    for cert in certifications_for(
        session, uploader=uploader, repo=repo, revision=revision, policy=policy
    ):
        for entry in cert.statements:
            done[entry["id"]] = entry
    return done


def owed_statements(
    session: Session,
    *,
    uploader: Uploader,
    repo: ModelRepo,
    revision: str,
    visibility: str,
    policy: Policy,
    done: dict[str, CertifiedStatement] | None = None,
) -> list[Statement]:
    """Statements the policy requires for this visibility that are not yet certified as shown now.

    `done`: the `certified_statements` of this uploader, repo and revision, when the caller
    already read them."""
    if done is None:
        done = certified_statements(
            session, uploader=uploader, repo=repo, revision=revision, policy=policy
        )
    owed = []
    for statement in policy.statements_for(visibility, outputs=repo.outputs):
        entry = done.get(statement.id)
        if (
            entry is None
            or entry["version"] != statement.version
            or entry["text_sha256"] != statement.text_sha256
        ):
            owed.append(statement)
    return owed


def declared_watermark_method(
    session: Session,
    *,
    uploader: Uploader,
    repo: ModelRepo,
    revision: str,
    policy: Policy,
    done: dict[str, CertifiedStatement] | None = None,
) -> str | None:
    """The watermark method the uploader certified for this revision, if any (`done` as above)."""
    if done is None:
        done = certified_statements(
            session, uploader=uploader, repo=repo, revision=revision, policy=policy
        )
    for statement in policy.certifications.statements:
        if not statement.applies_to(repo.outputs):
            continue
        for field in statement.fields:
            if field.checks_watermark and statement.id in done:
                value = done[statement.id].get("fields", {}).get(field.name)
                if value:
                    return value
    return None


def certify(
    *,
    session: Session,
    runtime: Runtime,
    actor: str,
    uploader: Uploader,
    repo: ModelRepo,
    revision: str,
    statements: list[dict],
    signed_name: str,
    policy: Policy,
    via: str = "api",
) -> Certification:
    """Record the accepted statements for a revision and sign a receipt over them.

    Under `certifications.scope: repo` an empty revision or `*` certifies the repository
    before (or regardless of) any push: the receipt names the repo with revision `*`."""
    revision = (revision or "").strip()
    repo_scope = policy.certifications.scope == "repo"
    if repo_scope and not revision:
        revision = REPO_WIDE
    if revision in ("", REPO_WIDE) and not repo_scope:
        raise InvalidInput(
            "the policy certifies each revision (certifications.scope: revision): "
            "name the revision to certify",
            code="revision_required",
        )
    if not revision or len(revision) > MAX_REVISION:
        raise InvalidInput(
            f"revision is required (at most {MAX_REVISION} characters)", code="revision_required"
        )
    signed_name = (signed_name or "").strip()
    if not 2 <= len(signed_name) <= 200:
        raise InvalidInput(
            "type your full name to sign (2 to 200 characters)", code="signed_name_required"
        )
    if not statements:
        raise InvalidInput("certify at least one statement", code="no_statements")
    entries: list[CertifiedStatement] = []
    seen = set()
    for given in statements:
        statement = policy.statement(str(given.get("id", "")))
        if statement is None:
            raise InvalidInput(f"unknown statement {given.get('id')!r}", code="unknown_statement")
        if statement.id in seen:
            raise InvalidInput(
                f"statement {statement.id} is given twice", code="duplicate_statement"
            )
        seen.add(statement.id)
        if given.get("version") != statement.version:
            raise Conflict(
                f"statement {statement.id} version {given.get('version')} is out of date; "
                f"the current version is {statement.version}",
                code="statement_outdated",
            )
        if given.get("accepted") is not True:
            raise InvalidInput(
                f"statement {statement.id} must be accepted to certify it",
                code="statement_not_accepted",
            )
        fields = statement.clean_fields(given.get("fields"))
        entries.append(
            {
                "id": statement.id,
                "version": statement.version,
                "text_sha256": statement.text_sha256,
                "fields": fields,
            }
        )
    certification_id = str(uuid.uuid4())
    now = utcnow()
    claims = {
        "certification_id": certification_id,
        "uploader": uploader.platform_id,
        "repo": repo.repo_id,
        "repo_type": repo.repo_type,
        "revision": revision,
        # what the receipt covers: `repo` = every revision of the repo while the statement
        # versions are unchanged; `revision` = that revision only
        "scope": policy.certifications.scope,
        "statements": entries,
        "signed_at": now.isoformat(timespec="seconds"),
        "policy": policy.ref,
    }
    receipt = sign_receipt(claims, runtime.keys.signing_key)
    assert uploader.id is not None and repo.id is not None  # stored ones (flushed when recorded)
    cert = Certification(
        certification_id=certification_id,
        uploader_pk=uploader.id,
        repo_pk=repo.id,
        revision=revision,
        statements=entries,
        signed_name_enc=runtime.keys.encrypt(signed_name),
        policy_id=policy.id,
        policy_version=policy.version,
        receipt=cast(dict, receipt),  # stored as it is signed (a TypedDict is a dict)
        via=via,
        signed_at=now,
    )
    session.add(cert)
    session.flush()
    record(
        session,
        actor=actor,
        action="certification.sign",
        subject=f"certification:{certification_id}",
        details={
            "repo": repo.repo_id,
            "revision": revision,
            "statements": [f"{e['id']}@{e['version']}" for e in entries],
            "policy": policy.ref,
        },
    )
    # a Hub revision the webhook held for this is checked again, without a new push
    # (any revision of the repo, when the certification covers them all)
    held_revision = None if repo_scope else revision
    recheck_held_hub_checks(
        session, ref=f"certification:{certification_id}", repo=repo, revision=held_revision
    )
    recheck_held_decisions(
        session, ref=f"certification:{certification_id}", repo=repo, revision=held_revision
    )
    return cert


def adopt_card_receipt(
    *,
    session: Session,
    runtime: Runtime,
    policy: Policy,
    signed: dict,
    repo_id: str,
    uploader_id: str,
    revision: str,
    same_content_as: Callable[[str], bool] | None = None,
) -> Certification | None:
    """Count a receipt found in the model card at `revision`, if it covers that revision's content.

    Embedding the receipt in the card makes a new commit, so the receipt names an earlier
    revision. It counts only if our key signed it, for this repo (and type) and uploader, its
    statements are still the current versions and texts, and it covers what is being checked:
    it names `revision` itself, or a revision whose files are exactly those of `revision` apart
    from the model card (`same_content_as`, which reads the Hub). A receipt for revision A thus
    never counts for a later revision whose weights or other files changed. Returns the new
    record, or None.
    """
    try:
        trusted = [runtime.keys.public_key, *runtime.keys.retired_public_keys]
        key = key_for_receipt(signed, trusted) or runtime.keys.public_key
        body = verify_receipt(signed, public_key=key).receipt
    except ReceiptError as exc:
        record(
            session,
            actor="system",
            action="certification.card_receipt_invalid",
            subject=f"repo:{repo_id}",
            reason=str(exc)[:200],
        )
        return None
    repo = find_repo(session, repo_id)
    uploader = session.exec(select(Uploader).where(Uploader.platform_id == uploader_id)).first()
    if (
        repo is None
        or uploader is None
        or body.get("repo") != repo_id
        or body.get("uploader") != uploader_id
        or body.get("repo_type", repo.repo_type) != repo.repo_type
    ):
        return None
    named = str(body.get("revision") or "")
    if named != revision and not (named and same_content_as is not None and same_content_as(named)):
        record(
            session,
            actor="system",
            action="certification.card_receipt_other_content",
            subject=f"repo:{repo_id}",
            reason=f"the receipt names {named[:40]}, whose files differ from {revision[:40]}",
        )
        return None
    current = [
        e
        for e in body.get("statements", [])
        if (st := policy.statement(e.get("id", ""))) is not None
        and st.version == e.get("version")
        and st.text_sha256 == e.get("text_sha256")
    ]
    done = certified_statements(
        session, uploader=uploader, repo=repo, revision=revision, policy=policy
    )
    if not current or all(e["id"] in done for e in current):
        return None
    assert uploader.id is not None and repo.id is not None  # both read from the database above
    cert = Certification(
        certification_id=str(uuid.uuid4()),
        uploader_pk=uploader.id,
        repo_pk=repo.id,
        revision=revision,
        statements=current,
        policy_id=policy.id,
        policy_version=policy.version,
        receipt=signed,
        via="model_card",
    )
    session.add(cert)
    session.flush()
    record(
        session,
        actor="system",
        action="certification.adopt_card_receipt",
        subject=f"certification:{cert.certification_id}",
        details={
            "repo": repo_id,
            "revision": revision,
            "from": body.get("certification_id"),
            "receipt_revision": named,
        },
    )
    return cert
