"""The records retention sweep: upload checks, the personal-data access log and webhook deliveries past
the policy's periods are deleted; newer ones and those under a legal hold are kept; ID documents no
submission points at go after a grace period; one audit record counts them.
"""

from __future__ import annotations

import os
import secrets
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

import hostguard.registry  # noqa: F401  (registers every job handler and periodic task)
from hostguard.audit.models import AuditRecord
from hostguard.audit.service import verify
from hostguard.cases.models import Case
from hostguard.db.types import utcnow
from hostguard.jobs.models import Job, PeriodicTask
from hostguard.jobs.periodic import schedule_due
from hostguard.jobs.service import run_due
from hostguard.platform.models import WebhookDelivery
from hostguard.platform.service import get_or_create_repo, get_or_create_uploader
from hostguard.uploads import kyu as kyu_service
from hostguard.uploads.documents import read_document
from hostguard.uploads.models import KyuSubmission, PersonalDataAccess, UploadCheck
from hostguard.workflows.retention import ORPHAN_DOCUMENT_GRACE
from hostguard.workflows.retention import sweep_records as retention_sweep
from tests.uploads.conftest import KYU_FORM, png

DAY = timedelta(days=1)


def _seed(runtime) -> dict:
    """Rows just past and just inside each period, and old rows under a legal hold; returns their ids by name."""
    keep = runtime.policy.retention
    now = utcnow()
    ids = {}
    with runtime.session() as s:
        free = get_or_create_uploader(s, platform_id="u-free", username="free", keys=runtime.keys)
        held = get_or_create_uploader(s, platform_id="u-held", username="held", keys=runtime.keys)
        free_repo = get_or_create_repo(s, repo_id="free/model", uploader=free)
        held_repo = get_or_create_repo(s, repo_id="held/model", uploader=held)
        other_repo = get_or_create_repo(s, repo_id="free/other", uploader=free)
        s.flush()
        hold = Case(
            repo_pk=held_repo.id,
            category="child_sexual_abuse",
            source="notice",
            legal_hold_until=now + 300 * DAY,
        )
        ended = Case(
            repo_pk=other_repo.id, category="other", source="notice", legal_hold_until=now - DAY
        )
        s.add_all([hold, ended])
        s.flush()

        def check(name, repo, age_days, case_id=None):
            at = now - age_days * DAY
            row = UploadCheck(
                check_id=str(uuid.uuid4()),
                idempotency_key=uuid.uuid4().hex,
                repo_pk=repo.id,
                revision="r1",
                visibility="public",
                decision="allow",
                case_id=case_id,
                policy_id="default",
                policy_version=1,
                created_at=at,
                updated_at=at,
            )
            s.add(row)
            s.flush()
            ids[name] = row.id

        old = keep.upload_checks_days + 1
        check("check_old", free_repo, old)
        check("check_new", free_repo, keep.upload_checks_days - 1)
        check("check_held_repo", held_repo, old)
        check("check_held_case", free_repo, old, case_id=hold.id)  # tied to the held case itself
        check("check_hold_ended", other_repo, old, case_id=ended.id)

        subs = {}
        for uploader in (free, held):
            sub = KyuSubmission(uploader_pk=uploader.id, status="verified")
            s.add(sub)
            s.flush()
            subs[uploader.platform_id] = sub.id

        def access(name, kyu_pk, age_days):
            row = PersonalDataAccess(
                actor="user:9",
                kyu_pk=kyu_pk,
                what="details",
                reason="identity check",
                at=now - age_days * DAY,
            )
            s.add(row)
            s.flush()
            ids[name] = row.id

        old = keep.personal_data_access_log_days + 1
        access("access_old", subs["u-free"], old)
        access("access_new", subs["u-free"], keep.personal_data_access_log_days - 1)
        access("access_held", subs["u-held"], old)

        def delivery(name, status, age_days):
            row = WebhookDelivery(
                delivery_id=str(uuid.uuid4()),
                event="case.decided",
                url="http://127.0.0.1/x",
                status=status,
                created_at=now - age_days * DAY,
            )
            s.add(row)
            s.flush()
            ids[name] = row.id

        old = keep.webhook_deliveries_days + 1
        delivery("delivery_old", "delivered", old)
        delivery("delivery_old_failed", "failed", old)
        delivery("delivery_new", "delivered", keep.webhook_deliveries_days - 1)
        delivery("delivery_pending", "pending", old)  # still being retried
    return ids


def _left(runtime, model, ids: dict, prefix: str) -> set[str]:
    with runtime.session() as s:
        present = set(s.exec(select(model.id)).all())
    return {name for name, pk in ids.items() if name.startswith(prefix) and pk in present}


def test_old_records_go_new_and_held_ones_stay(runtime):
    ids = _seed(runtime)
    with runtime.session() as s:
        counts = retention_sweep(
            session=s, policy=runtime.policy, documents_dir=runtime.settings.documents_dir
        )
    assert counts == {
        "upload_checks": 2,
        "personal_data_access": 1,
        "webhook_deliveries": 2,
        "upload_checks_kept_for_legal_hold": 2,
        "orphaned_documents": 0,
        "document_temp_files": 0,
    }
    assert _left(runtime, UploadCheck, ids, "check_") == {
        "check_new",
        "check_held_repo",
        "check_held_case",
    }
    assert _left(runtime, PersonalDataAccess, ids, "access_") == {"access_new", "access_held"}
    assert _left(runtime, WebhookDelivery, ids, "delivery_") == {"delivery_new", "delivery_pending"}
    with runtime.session() as s:
        (audit,) = s.exec(select(AuditRecord).where(AuditRecord.action == "retention.sweep")).all()
        assert audit.actor == "system" and audit.subject == "retention"
        assert audit.details["upload_checks"] == 2 and audit.details["webhook_deliveries"] == 2
        assert audit.details["days"]["upload_checks"] == runtime.policy.retention.upload_checks_days
        assert "free" not in str(audit.details) and "held" not in str(
            audit.details
        )  # no people, no repos
        assert verify(s).ok


def test_the_sweep_runs_as_a_periodic_job_and_again_finds_nothing(runtime):
    ids = _seed(runtime)
    orphan = _file(runtime, ".bin", age=ORPHAN_DOCUMENT_GRACE + timedelta(minutes=5))
    for _ in range(2):
        with runtime.session() as s:  # the next slot: the task is due again
            for job in s.exec(select(Job)).all():
                s.delete(job)
        with runtime.session() as s:
            row = s.get(PeriodicTask, "ops.retention")
            if row is not None:
                row.next_run_at = utcnow() - DAY
        assert "ops.retention" in schedule_due(runtime.engine)
        run_due(runtime.engine, runtime=runtime, kinds={"periodic.ops.retention"})
    assert _left(runtime, UploadCheck, ids, "check_") == {
        "check_new",
        "check_held_repo",
        "check_held_case",
    }
    with runtime.session() as s:
        sweeps = s.exec(
            select(AuditRecord)
            .where(AuditRecord.action == "retention.sweep")
            .order_by(AuditRecord.id)
        ).all()
        assert [a.details["upload_checks"] for a in sweeps] == [2, 0]
        assert [a.details["orphaned_documents"] for a in sweeps] == [1, 0]
    assert not orphan.exists()


# --- ID documents no submission points at -------------------------------------------------------


def _file(runtime, suffix: str, *, age: timedelta, name: str | None = None) -> Path:
    """A file in the documents directory, named as the store names them, last modified `age` ago."""
    folder = runtime.settings.documents_dir
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (name or secrets.token_hex(16) + suffix)
    path.write_bytes(b"encrypted bytes")
    _age(path, age)
    return path


def _age(path: Path, age: timedelta) -> None:
    at = (utcnow() - age).timestamp()
    os.utime(path, (at, at), follow_symlinks=False)


def _submit(runtime, s, platform_id: str) -> KyuSubmission:
    uploader = get_or_create_uploader(
        s, platform_id=platform_id, username=platform_id, keys=runtime.keys
    )
    s.flush()
    return kyu_service.submit_kyu(
        session=s,
        runtime=runtime,
        actor="user:1",
        uploader=uploader,
        policy=runtime.policy,
        document=png(),
        **KYU_FORM,
    )


def _orphan_of_a_rolled_back_submission(runtime, platform_id: str) -> Path:
    before = set(runtime.settings.documents_dir.glob("*"))
    with pytest.raises(RuntimeError), runtime.session() as s:
        _submit(runtime, s, platform_id)
        raise RuntimeError("the request fails after the document was written")
    (path,) = set(runtime.settings.documents_dir.glob("*")) - before
    with runtime.session() as s:
        assert (
            s.exec(select(KyuSubmission).where(KyuSubmission.document_ref == path.name)).first()
            is None
        )
    return path


def _sweep(runtime) -> tuple[int, int]:
    """Run the sweep; returns the counts of orphaned documents and temporary files it removed."""
    with runtime.session() as s:
        counts = retention_sweep(
            session=s, policy=runtime.policy, documents_dir=runtime.settings.documents_dir
        )
    return counts["orphaned_documents"], counts["document_temp_files"]


def test_orphaned_documents_past_the_grace_period_go_and_referenced_ones_stay(runtime, tmp_path):
    past, inside = (
        ORPHAN_DOCUMENT_GRACE + timedelta(minutes=5),
        ORPHAN_DOCUMENT_GRACE - timedelta(minutes=5),
    )
    with runtime.session() as s:
        referenced = runtime.settings.documents_dir / _submit(runtime, s, "u-kept").document_ref
    _age(referenced, timedelta(days=3650))  # referenced: kept whatever its age
    old_orphan = _orphan_of_a_rolled_back_submission(runtime, "u-gone")
    _age(old_orphan, past)
    fresh_orphan = _orphan_of_a_rolled_back_submission(
        runtime, "u-in-flight"
    )  # as if still uncommitted
    _age(fresh_orphan, inside)
    old_tmp = _file(
        runtime, f".{secrets.token_hex(4)}.tmp", age=past
    )  # a re-encryption that crashed before its rename
    older_release_tmp = _file(runtime, ".tmp", age=past)  # the name releases before 2026-12-04 used
    fresh_tmp = _file(runtime, f".{secrets.token_hex(4)}.tmp", age=inside)
    other = _file(runtime, "", age=past, name="notes.txt")  # not a name the store writes
    outside = tmp_path / (secrets.token_hex(16) + ".bin")
    outside.write_bytes(b"not ours")
    _age(outside, past)
    link = runtime.settings.documents_dir / (secrets.token_hex(16) + ".bin")
    link.symlink_to(outside)
    _age(link, past)
    folder = runtime.settings.documents_dir / (secrets.token_hex(16) + ".bin")
    folder.mkdir()
    _age(folder, past)

    assert _sweep(runtime) == (1, 2)
    assert not old_orphan.exists() and not old_tmp.exists() and not older_release_tmp.exists()
    kept = [referenced, fresh_orphan, fresh_tmp, other, outside, folder]
    assert all(path.exists() for path in kept) and link.is_symlink()
    with runtime.session() as s:
        (sub,) = s.exec(select(KyuSubmission)).all()
        assert (
            read_document(
                documents_dir=runtime.settings.documents_dir,
                name=sub.document_ref,
                keys=runtime.keys,
            )
            == png()
        )
        (audit,) = s.exec(select(AuditRecord).where(AuditRecord.action == "retention.sweep")).all()
        assert (
            audit.details["orphaned_documents"] == 1 and audit.details["document_temp_files"] == 2
        )
        assert old_orphan.stem not in str(audit.details)  # counts, never names

    assert _sweep(runtime) == (0, 0)  # again: nothing more to do, nothing else touched
    assert all(path.exists() for path in kept) and link.is_symlink()


def test_without_a_documents_directory_the_sweep_removes_nothing(runtime):
    runtime.settings.documents_dir.rmdir()  # no KYU document was ever stored
    assert _sweep(runtime) == (0, 0)


def test_an_unusable_documents_directory_does_not_stop_the_other_sweeps(runtime):
    """A file where the directory should be (or no permission, a stale mount): nothing is
    removed there, and upload checks past their retention still go."""
    ids = _seed(runtime)
    documents = runtime.settings.documents_dir
    documents.rmdir()
    documents.write_text("not a directory")
    assert _sweep(runtime) == (0, 0)
    assert "check_old" not in _left(runtime, UploadCheck, ids, "check_")
    assert "check_new" in _left(runtime, UploadCheck, ids, "check_")
