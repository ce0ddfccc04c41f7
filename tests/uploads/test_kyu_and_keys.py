"""KYU lifecycle, encryption at rest, audited reads by legal only, key rotation, retention."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlmodel import select

import hostguard.registry  # noqa: F401  (every job handler)
from hostguard.errors import Conflict, InvalidInput, PermissionDenied
from hostguard.jobs.service import run_due
from hostguard.policy import load_policy
from hostguard.uploads import kyu as kyu_service
from hostguard.uploads.models import KyuStatus, KyuSubmission, PersonalDataAccess
from hostguard.workflows.retention import sweep_kyu
from tests.uploads.conftest import KYU_FORM, png

SECRETS = [KYU_FORM["legal_name"], "Quiet Street", KYU_FORM["date_of_birth"], "u-1@example.org"]


def _raw_database_bytes(runtime) -> bytes:
    """Every stored value, as the database returns it, for a plaintext search."""
    out = []
    with runtime.engine.connect() as conn:
        for table in (
            "kyu_submissions",
            "uploaders",
            "certifications",
            "audit_records",
            "upload_checks",
            "personal_data_access",
            "jobs",
        ):
            for row in conn.execute(text(f"SELECT * FROM {table}")):
                out.append(repr(tuple(row)).encode())
    return b"\n".join(out)


def test_lifecycle_every_transition(checker, submit_kyu, runtime):
    checker()  # the check opens a submission in requires_input
    with runtime.session() as s:
        assert s.exec(select(KyuSubmission)).one().status == KyuStatus.REQUIRES_INPUT
    assert submit_kyu().get_json() == {"kyu_id": 1, "status": "pending_review"}
    assert submit_kyu().status_code == 409  # already waiting
    policy = load_policy()
    with runtime.session() as s:
        with pytest.raises(InvalidInput):
            kyu_service.reject_kyu(session=s, actor="user:1", kyu_id=1, reason="")
    with runtime.session() as s:
        sub = kyu_service.reject_kyu(
            session=s, actor="user:1", kyu_id=1, reason="Document unreadable"
        )
        assert sub.status == KyuStatus.REJECTED
    assert submit_kyu().get_json() == {"kyu_id": 2, "status": "pending_review"}  # resubmitted
    with runtime.session() as s:
        assert s.get(KyuSubmission, 1).rejection_reason == "Document unreadable"  # history kept
        sub = kyu_service.verify_kyu(session=s, actor="user:1", kyu_id=2, policy=policy)
        assert sub.status == KyuStatus.VERIFIED and sub.expires_at is not None
        with pytest.raises(Conflict):
            kyu_service.verify_kyu(session=s, actor="user:1", kyu_id=2, policy=policy)
    with runtime.session() as s:
        later = s.get(KyuSubmission, 2).expires_at + timedelta(seconds=1)
        assert kyu_service.expire_due(session=s, now=later) == 1
        assert s.get(KyuSubmission, 2).status == KyuStatus.EXPIRED
    with runtime.session() as s:
        sub = s.get(KyuSubmission, 2)
        document = runtime.settings.documents_dir / sub.document_ref
        assert document.exists()
        kyu_service.redact_kyu(
            session=s, runtime=runtime, actor="cli", kyu_id=2, reason="on request"
        )
    with runtime.session() as s:
        sub = s.get(KyuSubmission, 2)
        assert (
            sub.status == KyuStatus.REDACTED
            and sub.legal_name_enc is None
            and sub.document_ref is None
        )
    run_due(runtime.engine, runtime=runtime)
    assert not document.exists()
    assert submit_kyu().status_code == 201  # a redacted uploader can start again


def test_redaction_deletes_the_document_only_once_committed(checker, submit_kyu, runtime):
    checker()
    submit_kyu()
    with runtime.session() as s:
        kyu_service.reject_kyu(session=s, actor="user:1", kyu_id=1, reason="Document unreadable")
        document = runtime.settings.documents_dir / s.get(KyuSubmission, 1).document_ref
    with pytest.raises(RuntimeError), runtime.session() as s:
        kyu_service.redact_kyu(
            session=s, runtime=runtime, actor="cli", kyu_id=1, reason="on request"
        )
        raise RuntimeError("a later step of the same transaction fails")
    run_due(runtime.engine, runtime=runtime)
    with runtime.session() as s:
        sub = s.get(KyuSubmission, 1)
        assert (
            sub.status == KyuStatus.REJECTED
            and runtime.settings.documents_dir / sub.document_ref == document
        )
    assert document.exists()  # the rolled-back redaction left the document readable
    with runtime.session() as s:
        kyu_service.redact_kyu(
            session=s, runtime=runtime, actor="cli", kyu_id=1, reason="on request"
        )
    assert document.exists()  # deleted by the job, after the commit
    assert run_due(runtime.engine, runtime=runtime) == 1
    assert not document.exists()
    with runtime.session() as s:
        assert s.get(KyuSubmission, 1).document_ref is None


def test_retention_sweep_redacts_old_rejections(checker, submit_kyu, runtime):
    checker()
    submit_kyu()
    with runtime.session() as s:
        kyu_service.reject_kyu(session=s, actor="user:1", kyu_id=1, reason="Document unreadable")
    policy = load_policy()
    with runtime.session() as s:
        assert sweep_kyu(session=s, runtime=runtime, policy=policy) == 0
        future = kyu_service.utcnow() + timedelta(days=policy.retention.kyu_rejected_days + 1)
        assert sweep_kyu(session=s, runtime=runtime, policy=policy, now=future) == 1
        assert s.get(KyuSubmission, 1).status == KyuStatus.REDACTED


def test_retention_sweep_keeps_kyu_of_an_uploader_under_legal_hold(checker, submit_kyu, runtime):
    from hostguard.cases.models import Case
    from hostguard.platform.models import ModelRepo

    checker()  # alice/model by u-1
    checker(uploader="u-2", repo="bob/model")
    submit_kyu()
    submit_kyu(uploader="u-2")
    policy = load_policy()
    future = kyu_service.utcnow() + timedelta(days=policy.retention.kyu_rejected_days + 1)
    with runtime.session() as s:
        for kyu_id in (1, 2):
            kyu_service.reject_kyu(
                session=s, actor="user:1", kyu_id=kyu_id, reason="Document unreadable"
            )
        repo = s.exec(select(ModelRepo).where(ModelRepo.repo_id == "alice/model")).one()
        s.add(
            Case(
                repo_pk=repo.id,
                category="csam",
                source="hash_match",
                legal_hold_until=future + timedelta(days=30),
            )
        )
    with runtime.session() as s:
        assert sweep_kyu(session=s, runtime=runtime, policy=policy, now=future) == 1
        held = s.exec(select(KyuSubmission).where(KyuSubmission.status == KyuStatus.REJECTED)).one()
        assert held.legal_name_enc is not None and held.document_ref is not None
        assert (
            s.exec(select(KyuSubmission).where(KyuSubmission.status == KyuStatus.REDACTED)).one().id
            != held.id
        )
    with runtime.session() as s:  # once the hold has ended, the retention period applies again
        after_hold = future + timedelta(days=31)
        assert sweep_kyu(session=s, runtime=runtime, policy=policy, now=after_hold) == 1
        assert s.get(KyuSubmission, held.id).status == KyuStatus.REDACTED


def test_personal_data_is_encrypted_in_the_database_and_the_data_dir(checker, submit_kyu, runtime):
    document = png(color=(1, 2, 3))
    checker()
    submit_kyu(document=document)
    raw = _raw_database_bytes(runtime)
    for secret in SECRETS:
        assert secret.encode() not in raw
    stored = list(runtime.settings.documents_dir.iterdir())
    assert len(stored) == 1
    for path in runtime.settings.data_dir.rglob("*"):
        if path.is_file() and path.suffix != ".db" and "keys" not in path.parts:
            content = path.read_bytes()
            assert document not in content and b"IHDR" not in content
            assert all(s.encode() not in content for s in SECRETS)


def test_only_legal_reads_personal_data_and_every_read_is_logged(checker, submit_kyu, runtime):
    checker()
    submit_kyu()
    with runtime.session() as s:
        with pytest.raises(PermissionDenied):
            kyu_service.read_personal_data(
                session=s, runtime=runtime, actor="user:9", role="admin", kyu_id=1, reason="curious"
            )
        with pytest.raises(InvalidInput):
            kyu_service.read_personal_data(
                session=s, runtime=runtime, actor="user:9", role="legal", kyu_id=1, reason=""
            )
    with runtime.session() as s:
        details = kyu_service.read_personal_data(
            session=s,
            runtime=runtime,
            actor="user:9",
            role="legal",
            kyu_id=1,
            reason="reviewing the submission",
        )
        assert details["legal_name"] == KYU_FORM["legal_name"] and details["country"] == "DE"
        data, mime = kyu_service.read_id_document(
            session=s,
            runtime=runtime,
            actor="user:9",
            role="legal",
            kyu_id=1,
            reason="reviewing the submission",
        )
        assert data == png() and mime == "image/png"
    with runtime.session() as s:
        log = s.exec(select(PersonalDataAccess)).all()
        assert [(a.actor, a.what, a.reason) for a in log] == [
            ("user:9", "details", "reviewing the submission"),
            ("user:9", "document", "reviewing the submission"),
        ]


def _fill_every_encrypted_column(runtime) -> dict[tuple[str, str], str]:
    """Rows with every encrypted column set, beyond what the upload flow writes; -> plaintexts."""
    from hostguard.cases.intake import open_case
    from hostguard.cases.models import AuthorityOrder, CaseEvidence, Notice, Notification
    from hostguard.exchanges.models import Exchange
    from hostguard.platform.models import ModelRepo, WebhookEndpoint

    keys = runtime.keys
    with runtime.session() as s:
        repo = s.exec(select(ModelRepo)).first()
        case = open_case(
            session=s,
            repo=repo,
            source="hash_match",
            category="csam",
            actor="system",
            kind="hash_match",
            automated=True,
            policy=runtime.policy,
        )
        s.add(
            CaseEvidence(
                case_id=case.id,
                source="hash_match",
                kind="hash_match",
                uploader_ip_enc=keys.encrypt("203.0.113.7"),
            )
        )
        s.add(
            Exchange(
                name="ncmec-test",
                type="ncmec",
                algorithm="md5",
                interval_seconds=300,
                credentials_enc=keys.encrypt('{"user": "u", "password": "p"}'),
            )
        )
        s.add(
            WebhookEndpoint(
                name="platform", url="https://platform.example/h", secret_enc=keys.encrypt("whsec")
            )
        )
        s.add(
            Notice(
                source="notice",
                category="csam",
                explanation="seen on the model card",
                name_enc=keys.encrypt("Nora Notifier"),
                email_enc=keys.encrypt("nora@example.org"),
            )
        )
        s.add(
            AuthorityOrder(
                authority="Authority",
                reference="ref-1",
                legal_basis="Art. 9",
                category="csam",
                created_by="cli",
                feedback_to_enc=keys.encrypt("orders@authority.example"),
            )
        )
        s.add(
            Notification(
                recipient="notice:1",
                kind="receipt",
                subject="Received",
                body="Thanks",
                email_enc=keys.encrypt("nora@example.org"),
            )
        )
    return {
        ("notices", "name_enc"): "Nora Notifier",
        ("notices", "email_enc"): "nora@example.org",
        ("authority_orders", "feedback_to_enc"): "orders@authority.example",
        ("notifications", "email_enc"): "nora@example.org",
        ("case_evidence", "uploader_ip_enc"): "203.0.113.7",
        ("exchanges", "credentials_enc"): '{"user": "u", "password": "p"}',
        ("webhook_endpoints", "secret_enc"): "whsec",
        ("uploaders", "email_enc"): "u-1@example.org",
        ("certifications", "signed_name_enc"): "Alice Example",
        ("kyu_submissions", "legal_name_enc"): KYU_FORM["legal_name"],
        ("kyu_submissions", "address_enc"): KYU_FORM["address"],
        ("kyu_submissions", "country_enc"): KYU_FORM["country"],
        ("kyu_submissions", "date_of_birth_enc"): KYU_FORM["date_of_birth"],
    }


def test_keys_rotate_reencrypts_every_encrypted_column(
    checker, submit_kyu, runtime, cli, client, operator
):
    from hostguard.keys import load_keyring
    from hostguard.uploads.rotation import encrypted_columns
    from tests.uploads.test_check_api import certify_all

    checker()
    submit_kyu()
    assert certify_all(client, operator).status_code == 201
    expected = _fill_every_encrypted_column(runtime)
    found = {
        (table.name, c.name) for table, columns in encrypted_columns().items() for c in columns
    }
    # a new encrypted column must get a row here, so the rotation below is seen to cover it
    assert found == set(expected)
    keys_file = runtime.settings.keys_dir / "encryption.keys"
    old_key = keys_file.read_text().strip()
    with runtime.session() as s:
        sub = s.get(KyuSubmission, 1)
        old_document = (runtime.settings.documents_dir / sub.document_ref).read_bytes()
    result = cli("keys", "rotate")
    assert result.exit_code == 0, result.output
    assert "1 documents" in result.output and "1 certifications" in result.output
    assert "1 notices" in result.output and "1 notifications" in result.output
    new_key = keys_file.read_text().strip()
    assert new_key != old_key and "\n" not in new_key  # only the new key is left
    fresh = load_keyring(runtime.settings)
    assert fresh.fernet_keys == [new_key.encode()]
    with runtime.engine.connect() as conn:
        for (table, column), plaintext in expected.items():
            values = (
                conn.execute(text(f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL"))
                .scalars()
                .all()
            )
            assert values, (table, column)
            assert [fresh.decrypt_str(bytes(v)) for v in values] == [plaintext] * len(values), (
                table,
                column,
            )
    with runtime.session() as s:
        sub = s.get(KyuSubmission, 1)
        document = (runtime.settings.documents_dir / sub.document_ref).read_bytes()
        assert document != old_document and fresh.decrypt(document) == png()


def test_kyu_cli_lists_without_personal_data(checker, submit_kyu, cli):
    checker()
    submit_kyu()
    result = cli("kyu", "list", "--status", "pending_review")
    assert result.exit_code == 0 and "u-1\tpending_review" in result.output
    assert KYU_FORM["legal_name"] not in result.output
    result = cli("kyu", "verify", "99")
    assert result.exit_code == 2 and "no KYU submission 99" in result.stderr
