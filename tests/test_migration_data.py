"""Upgrading a database full of data keeps every row intact, and the app works on what it kept.

A scratch database (a new SQLite file, or a new PostgreSQL database dropped afterwards) is
migrated one revision at a time from the first; at each revision every table that revision
creates gets rows written with plain SQL in that revision's own columns, and after each step
every earlier row must still be there with the same values. The last step is `hostguard init`,
as an operator runs it. At the newest revision the rows are read back through the models and
used by the service code (audit chain, sign-in, API keys, the case queue, the job queue,
encrypted personal data).

Downgrades are not part of an upgrade (the operator guide: back up first, never run an older
`init`; the previous release keeps working because migrations are additive), so they are not
exercised. What is checked instead is additivity: no step drops a table or a column, a column
added to an existing table is nullable or has a server default, and rows written in an old
revision's columns are still accepted by the newest schema.

A new migration needs rows for the tables it creates in SEEDS (the test fails while a table
at the newest revision holds none), and a migration that deliberately rewrites data must
change the expectations here: a failure means an upgrade would lose or alter an operator's data.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache

import pytest
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel

import hostguard.registry  # noqa: F401
from hostguard.accounts.models import User
from hostguard.accounts.service import authenticate, find_api_key, hash_password
from hostguard.audit.service import record, verify
from hostguard.cases.claims import claim_case
from hostguard.cases.models import Case, StatementOfReasons
from hostguard.cases.queue import CaseFilter, list_cases
from hostguard.cases.rollup import NO_DEADLINE, rebuild
from hostguard.cli import main as hostguard_cli
from hostguard.config import Settings
from hostguard.db import alembic_config, current_revision, head_revision, upgrade
from hostguard.jobs.periodic import status as periodic_status
from hostguard.jobs.service import claim
from hostguard.keys import ensure_keys
from hostguard.runtime import Runtime
from hostguard.uploads.models import KyuSubmission, UploadCheck
from tests.conftest import BACKENDS, POSTGRES_URL, cli_env

T0 = datetime(2025, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
PASSWORD = "correct horse battery staple"
JOB_KIND = "test.upgrade_seed"  # no handler: the job only has to be claimable after the upgrade


@cache
def password_hash() -> str:
    return hash_password(PASSWORD)


def api_key(tag: str) -> tuple[str, str]:
    """(prefix, plaintext) of the API key seeded under `tag`."""
    prefix = hashlib.sha256(tag.encode()).hexdigest()[:8]
    return prefix, f"hg_{prefix}_seeded-key-{tag}-{'x' * 32}"


def history() -> list[str]:
    """Every revision, oldest first."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return [s.revision for s in reversed(list(script.walk_revisions()))]


# --- writing rows the way an older release left them ---------------------------------------------


class Seeder:
    """Writes rows with plain SQL (never the current models) and remembers what it wrote."""

    def __init__(self, keys, tag: str):
        self.keys, self.tag = keys, tag
        self.session: Session | None = None  # set by seed() for each revision's writes
        self.ids: dict[str, int] = {}
        self.written: list[tuple[str, object, dict]] = []  # (table, primary key, values)
        self.audit_records = 0

    def row(self, table: str, **values) -> int:
        names = ", ".join(f'"{c}"' for c in values)
        marks = ", ".join(f":{c}" for c in values)
        params = {c: self._plain(v) for c, v in values.items()}
        result = self.session.execute(
            text(f'INSERT INTO "{table}" ({names}) VALUES ({marks}) RETURNING "id"'), params
        )
        pk = result.scalar_one()
        self.written.append((table, pk, values))
        return pk

    def keyed_row(self, table: str, key: str, **values) -> None:
        """A row of a table whose primary key is `key` (given, not generated)."""
        names = ", ".join(f'"{c}"' for c in values)
        marks = ", ".join(f":{c}" for c in values)
        self.session.execute(
            text(f'INSERT INTO "{table}" ({names}) VALUES ({marks})'),
            {c: self._plain(v) for c, v in values.items()},
        )
        self.written.append((table, values[key], values))

    def audit(self, **kwargs) -> None:
        record(self.session, **kwargs)
        self.audit_records += 1

    def _plain(self, value):
        if isinstance(value, datetime):
            if self.session.get_bind().dialect.name == "sqlite":
                # how SQLAlchemy stores a UTCDateTime in SQLite
                return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            return value
        if isinstance(value, dict | list):
            return json.dumps(value)
        return value


def seed_core(s: Seeder) -> None:
    tag = s.tag
    s.ids["uploader"] = s.row(
        "uploaders",
        platform_id=f"hf-{tag}",
        username=f"ada-{tag}",
        email_enc=s.keys.encrypt(f"ada-{tag}@example.org"),
        status="warned",
        suspended_until=T0 + timedelta(days=7),
        strikes=1,
        created_at=T0,
    )
    s.ids["user"] = s.row(
        "users",
        email=f"mod-{tag}@example.org",
        role="moderator",
        password_hash=password_hash(),
        active=True,
        created_at=T0,
        last_login_at=None,
        preferences={"queue": {"sort": "oldest"}},
    )
    prefix, plaintext = api_key(tag)
    s.ids["api_key"] = s.row(
        "api_keys",
        name=f"platform {tag}",
        prefix=prefix,
        key_hash=hashlib.sha256(plaintext.encode()).hexdigest(),
        scopes="operator",
        user_id=None,
        created_at=T0,
        revoked_at=None,
        last_used_at=T0 - timedelta(hours=3),
    )
    s.ids["repo"] = s.row(
        "model_repos",
        repo_id=f"ada/model-{tag}",
        repo_type="model",
        uploader_id=s.ids["uploader"],
        visibility="public",
        last_revision="a" * 40,
        status="active",
        created_at=T0,
    )
    s.ids["case"] = s.row(
        "cases",
        repo_pk=s.ids["repo"],
        status="open",
        category="illegal_content",
        source="notice",
        priority=40,
        deadline_at=T0 + timedelta(days=1),
        assigned_to=None,
        claimed_at=None,
        opened_at=T0,
        decided_at=None,
        legal_hold_until=None,
        summary=f"seeded case {tag} ü ✓",
    )
    s.row(
        "case_evidence",
        case_id=s.ids["case"],
        source="notice",
        kind="notice_text",
        ref=f"notice:{tag}",
        details={"excerpt": "the model card links to…", "urls": ["a", "b"]},
        automated=False,
        at=T0,
    )
    s.ids["job"] = s.row(
        "jobs",
        kind=JOB_KIND,
        payload={"repo": f"ada/model-{tag}", "n": 1},
        status="queued",
        dedupe_key=f"seed:{tag}",
        attempts=0,
        max_attempts=5,
        run_at=T0,
        locked_by=None,
        locked_until=None,
        last_error=None,
        created_at=T0,
        finished_at=None,
    )
    s.audit(
        actor="cli:seed",
        action="user.create",
        subject=f"user:{s.ids['user']}",
        details={"role": "moderator"},
    )
    s.audit(
        actor="cli:seed",
        action="case.open",
        subject=f"case:{s.ids['case']}",
        reason="seeded before the upgrade",
        details={"repo": f"ada/model-{tag}", "at": T0},
    )


def seed_hashing(s: Seeder) -> None:
    s.ids["hash_list"] = s.row(
        "hash_lists",
        name=f"known-{s.tag}",
        algorithm="pdq",
        threshold=31,
        category="csam",
        action="block",
        source="https://lists.example.org/known",
        enabled=True,
        internal=False,
        entry_count=1,
        version=3,
        created_at=T0,
        updated_at=T0 + timedelta(minutes=5),
    )
    entry = s.row(
        "hash_entries",
        list_id=s.ids["hash_list"],
        hash="f0" * 32,
        ref="ext:1",
        label="seed",
        category=None,
    )
    sample = s.row(
        "sample_image_hashes",
        repo_pk=s.ids["repo"],
        revision="a" * 40,
        path="samples/1.png",
        ref=None,
        algorithm="pdq",
        hash="0f" * 32,
        variants=["1e" * 32, "2d" * 32],
        quality=87,
        created_at=T0,
    )
    s.row("hash_retroactive_hits", sample_id=sample, entry_id=entry, case_id=s.ids["case"], at=T0)


def seed_uploads(s: Seeder) -> None:
    tag = s.tag
    s.row(
        "webhook_deliveries",
        delivery_id=str(uuid.uuid4()),
        event="upload.checked",
        url="https://platform.example.org/hook",
        payload={"check_id": f"check-{tag}"},
        status="failed",
        attempts=3,
        last_status_code=502,
        last_error="HTTP 502",
        created_at=T0,
        last_attempt_at=T0 + timedelta(minutes=9),
        delivered_at=None,
    )
    s.ids["kyu"] = s.row(
        "kyu_submissions",
        uploader_pk=s.ids["uploader"],
        status="verified",
        legal_name_enc=s.keys.encrypt(f"Ada Lovelace {tag}"),
        address_enc=s.keys.encrypt("1 Rue X"),
        country_enc=s.keys.encrypt("FR"),
        date_of_birth_enc=s.keys.encrypt("1815-12-10"),
        document_ref=f"doc-{tag}",
        document_type="passport",
        rejection_reason=None,
        reviewed_by="admin@example.org",
        created_at=T0,
        submitted_at=T0,
        reviewed_at=T0,
        expires_at=T0 + timedelta(days=365),
        redacted_at=None,
    )
    s.row(
        "certifications",
        certification_id=str(uuid.uuid4()),
        uploader_pk=s.ids["uploader"],
        repo_pk=s.ids["repo"],
        revision="a" * 40,
        statements=[{"id": "no-csam", "version": 1, "text_sha256": "ab" * 32}],
        signed_name_enc=s.keys.encrypt("Ada"),
        policy_id="default",
        policy_version=2,
        receipt={"signature": "c2ln", "key_id": "k1"},
        via="portal",
        signed_at=T0,
    )
    s.row(
        "personal_data_access",
        at=T0,
        actor="admin@example.org",
        kyu_pk=s.ids["kyu"],
        what="details",
        reason="appeal review",
    )
    s.ids["check"] = s.row(
        "upload_checks",
        check_id=f"check-{tag}",
        idempotency_key=hashlib.sha256(tag.encode()).hexdigest(),
        repo_pk=s.ids["repo"],
        uploader_pk=s.ids["uploader"],
        revision="a" * 40,
        visibility="public",
        source="api",
        decision="hold",
        reasons=[{"code": "kyu_required", "message": "verify your identity"}],
        matches=[{"list": f"known-{tag}", "distance": 4, "action": "hold"}],
        watermark=None,
        answer={"decision": "hold", "check_id": f"check-{tag}"},
        file_count=3,
        image_count=1,
        case_id=s.ids["case"],
        policy_id="default",
        policy_version=2,
        created_at=T0,
        updated_at=T0 + timedelta(minutes=1),
    )


def seed_cases(s: Seeder) -> None:
    tag, repo = s.tag, f"ada/model-{s.tag}"
    decided = s.row(
        "cases",
        repo_pk=s.ids["repo"],
        status="decided",
        category="illegal_content",
        source="hash_match",
        priority=90,
        deadline_at=None,
        assigned_to=s.ids["user"],
        claimed_at=T0,
        opened_at=T0,
        decided_at=T0 + timedelta(hours=1),
        legal_hold_until=None,
        summary="decided before the upgrade",
        escalated_to="legal",
        automated=True,
    )
    notifier = s.row(
        "notifiers",
        kind="trusted_flagger",
        email_digest=None,
        api_key_id=s.ids["api_key"],
        organisation="Flaggers e.V.",
        notices=1,
        decided=1,
        unfounded=0,
        status="active",
        warned_at=None,
        suspended_until=None,
        created_at=T0,
    )
    notice = s.row(
        "notices",
        notifier_id=notifier,
        source="trusted_flagger",
        category="illegal_content",
        explanation="see the sample images",
        items=[f"https://hub.example.org/{repo}"],
        name_enc=s.keys.encrypt("Flagger"),
        email_enc=None,
        good_faith=True,
        client_digest="c" * 64,
        status="open",
        outcome=None,
        received_at=T0,
        decided_at=None,
    )
    s.row("notice_items", notice_id=notice, case_id=s.ids["case"], repo_id=repo)
    order = s.row(
        "authority_orders",
        authority="Coimisiún na Meán",
        member_state="IE",
        reference=f"ORD-{tag}",
        legal_basis="Art. 9 DSA",
        category="illegal_content",
        explanation="remove",
        items=[repo],
        territorial_scope=["IE"],
        deadline_at=T0 + timedelta(days=2),
        feedback_to_enc=s.keys.encrypt("a@b.ie"),
        status="acknowledged",
        received_at=T0,
        acknowledged_at=T0,
        effect_at=None,
        feedback=None,
        feedback_sent_at=None,
        created_by="apikey:1",
    )
    s.row("order_items", order_id=order, case_id=decided, repo_id=repo)
    decision = s.row(
        "decisions",
        case_id=decided,
        action="take_down",
        ground="illegal",
        ground_reference="Art. 9 DSA",
        category="illegal_content",
        explanation="matched a known list",
        restrict_mode=None,
        escalated_to=None,
        territorial_scope=[],
        end_date=None,
        automated=True,
        decided_by=s.ids["user"],
        actor=f"user:{s.ids['user']}",
        decided_at=T0 + timedelta(hours=1),
        reversed_at=None,
        reversed_by_appeal_id=None,
    )
    s.row(
        "statements_of_reasons",
        decision_id=decision,
        case_id=decided,
        puid=f"hg-{tag}-1",
        text="Statement of reasons…",
        tdb={"decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"]},
        created_at=T0,
        submitted_at=None,
        submission_error="timeout",
    )
    s.row(
        "appeals",
        case_id=decided,
        decision_id=decision,
        appellant="uploader",
        notice_id=None,
        reason="it is my own photo",
        status="open",
        assigned_to=None,
        outcome=None,
        explanation=None,
        decided_by=None,
        filed_at=T0 + timedelta(days=1),
        decided_at=None,
        actor=f"uploader:{s.ids['uploader']}",
    )
    s.row("case_notes", case_id=s.ids["case"], author="mod", body="looked at it", at=T0)
    s.row(
        "case_links",
        case_id=s.ids["case"],
        other_case_id=decided,
        reason="same repo",
        created_by="mod",
        at=T0,
    )
    s.row(
        "notifications",
        case_id=decided,
        recipient="uploader",
        kind="decision",
        subject="Your model was removed",
        body="…",
        email_enc=s.keys.encrypt("ada@example.org"),
        status="pending",
        attempts=1,
        last_error="smtp down",
        channels=["email", "webhook"],
        created_at=T0,
        sent_at=None,
    )
    s.ids["sanction"] = s.row(
        "sanctions",
        subject=f"uploader:{s.ids['uploader']}",
        action="suspend",
        reason="misuse",
        case_id=decided,
        until=T0 + timedelta(days=30),
        at=T0,
    )
    s.ids["decided_case"], s.ids["decision"] = decided, decision


def seed_ops(s: Seeder) -> None:
    s.keyed_row(
        "periodic_tasks",
        "name",
        name=f"seed.task.{s.tag}",
        every_seconds=900,
        next_run_at=T0 + timedelta(minutes=15),
        last_enqueued_at=T0,
        last_run_at=T0,
        last_job_id=s.ids["job"],
    )


def seed_hub_prior_settings(s: Seeder) -> None:
    s.row(
        "hub_prior_settings",
        repo_type="model",
        repo_id=f"ada/model-{s.tag}",
        private=False,
        gated="manual",
        action="quarantine",
        case_id=s.ids["case"],
        recorded_at=T0,
        restored_at=None,
    )


def seed_hotline_flaggers(s: Seeder) -> None:
    s.row(
        "trusted_flaggers",
        name=f"Flaggers e.V. {s.tag}",
        coordinator="Bundesnetzagentur",
        member_state="DE",
        areas=["hate"],
        designated_on=T0,
        designation_reference=f"TF-{s.tag}",
        status="suspended",
        status_reason="coordinator's request",
        status_changed_at=T0,
        created_at=T0,
    )
    s.row(
        "hotline_reports",
        case_id=s.ids["case"],
        hotline="NCMEC CyberTipline",
        reference=f"CT-{s.tag}",
        incident_type="Child Pornography (possession, manufacture, and distribution)",
        media=[{"path": "samples/a.png", "classification": "A1"}],
        filed_at=T0,
        filed_by="user:1",
        preserve_until=T0 + timedelta(days=365),
        created_at=T0,
    )


def seed_dataset_scans(s: Seeder) -> None:
    scan = s.row(
        "dataset_scans",
        scan_id=f"scan-{s.tag}"[:36],
        sources=[f"hf://datasets/ada/faces-{s.tag}@{'d' * 40}"],
        repo_id=f"ada/faces-{s.tag}",
        revision="d" * 40,
        status="done",
        shards_total=1,
        shards_done=1,
        images=60,
        unreadable=1,
        matched=0,
        result={"images": 60, "unreadable": 1, "matches": []},
        attestation={"attestation": {"clean": True}, "signature": "c2ln", "public_key": "a2V5"},
        error=None,
        case_id=None,
        created_by="apikey:1",
        created_at=T0,
        updated_at=T0,
        finished_at=T0,
    )
    s.row(
        "dataset_shard_results",
        scan_pk=scan,
        sha256="e" * 64,
        name="ada/faces@d/data/train.parquet",
        result={"images": 60, "unreadable": [{"row": 3}], "matches": []},
        created_at=T0,
    )


def seed_video_hashes(s: Seeder) -> None:
    listed = s.row(
        "hash_lists",
        name=f"videos-{s.tag}",
        algorithm="vpdq",
        threshold=None,
        category="other",
        action="block",
        source=None,
        enabled=True,
        internal=False,
        entry_count=1,
        version=1,
        created_at=T0,
        updated_at=T0,
    )
    entry = s.row(
        "hash_entries", list_id=listed, hash="cd" * 32, ref="clip", label=None, category=None
    )
    s.row(
        "hash_video_frames",
        entry_id=entry,
        list_id=listed,
        frame_count=2,
        frames=f"100:{'ab' * 32} 90:{'ac' * 32}",
    )


def seed_exchanges(s: Seeder) -> None:
    exchange = s.row(
        "exchanges",
        name=f"ncmec-{s.tag}",
        type="ncmec",
        algorithm="md5",
        settings={"environment": "test"},
        credentials_enc=s.keys.encrypt('{"user": "u", "password": "p"}'),
        interval_seconds=300,
        enabled=True,
        checkpoint={"start": 1, "next": "page-2"},
        last_attempt_at=T0,
        last_success_at=T0,
        progress_at=T0,
        last_error=None,
        failures=0,
        last_added=2,
        last_removed=1,
        added_total=5,
        removed_total=1,
        created_at=T0,
    )
    s.row(
        "exchange_records",
        exchange_id=exchange,
        key=f"ncmec:{s.tag}:1",
        hash="ab" * 16,
        label="entry 1",
    )
    s.row(
        "exchange_feedback",
        exchange_id=exchange,
        hash="ab" * 16,
        ref=f"ncmec:{s.tag}:1",
        opinion="false_positive",
        status="pending",
        actor="user:1",
        created_at=T0,
        sent_at=None,
    )
    s.row("hash_entry_hits", entry_id=1, image="cd" * 32, at=T0)
    s.row(
        "hash_suppressions",
        list_id=s.ids["hash_list"],
        hash="f0" * 32,
        reason="a benign picture matched wrongly",
        actor="user:1",
        at=T0,
    )


def seed_case_rollup(s: Seeder) -> None:
    s.row(
        "case_daily_figures",
        day=(T0 - timedelta(days=1000)).date(),
        kind="appeal",
        source="",
        category="",
        decided_by=0,
        actor=f"rule:{s.tag}",
        bucket=-1,
        n=1,
        with_deadline=0,
        within=0,
        overturned=1,
    )


def seed_sample_videos(s: Seeder) -> None:
    video = s.row(
        "sample_image_hashes",
        repo_pk=s.ids["repo"],
        revision="b" * 40,
        path="samples/clip.mp4",
        ref=None,
        algorithm="vpdq",
        hash="9e" * 32,
        variants=[],
        low_quality_variants=None,
        quality=None,
        created_at=T0,
    )
    s.row(
        "sample_video_frames",
        sample_id=video,
        frame_count=2,
        frames=f"100:{'ab' * 32} 0:{'00' * 32}",
    )
    s.row(
        "sample_image_hashes",
        repo_pk=s.ids["repo"],
        revision="b" * 40,
        path="samples/flat.png",
        ref=None,
        algorithm="pdq",
        hash="3c" * 32,
        variants=[],
        low_quality_variants=["3c" * 32, "4b" * 32],
        quality=31,
        created_at=T0,
    )


def seed_integration_tokens(s: Seeder) -> None:
    s.row(
        "upload_tokens",
        prefix="0a1b2c3d",
        token_hash=hashlib.sha256(f"upload-token:{s.tag}".encode()).hexdigest(),
        uploader_id="u-1",
        repo_id="alice/model",
        repo_type="model",
        created_by="apikey:1",
        created_at=T0,
        expires_at=T0,
        revoked_at=None,
    )
    endpoint = s.row(
        "webhook_endpoints",
        name=f"platform-{s.tag}",
        url="https://platform.example/hooks/hostguard",
        secret_enc=s.keys.encrypt("whsec-seeded"),
        events=["upload.decision", "upload.decision_changed"],
        enabled=True,
        created_at=T0,
        removed_at=None,
    )
    s.row(
        "webhook_deliveries",
        delivery_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"seed:{s.tag}:endpoint")),
        event="upload.decision",
        url="https://platform.example/hooks/hostguard",
        payload={"event_id": "e-1"},
        status="pending",
        attempts=0,
        created_at=T0,
        ordering_key="repo:model:alice/model",
        endpoint_id=endpoint,
        event_id="e-1",
    )


def seed_queues(s: Seeder) -> None:
    s.row(
        "saved_filters",
        user_id=s.ids["user"],
        name=f"overdue hate {s.tag}",
        params={"queue": "general", "category": "hate", "overdue": "1"},
        created_at=T0,
    )
    s.row(
        "quality_samples",
        case_id=s.ids["decided_case"],
        decision_id=s.ids["decision"],
        first_reviewer=s.ids["user"],
        category="illegal_content",
        status="submitted",
        reviewer=None,
        action="take_down",
        ground="illegal_content",
        review_category="illegal_content",
        agrees=True,
        created_at=T0,
        submitted_at=T0 + timedelta(hours=2),
    )
    s.row(
        "sanction_appeals",
        sanction_id=s.ids["sanction"],
        reason="it was founded",
        status="open",
        outcome=None,
        explanation=None,
        decided_by=None,
        filed_at=T0,
        decided_at=None,
    )


# Times from opening to decision at the roll-up's edges: tenths of an hour and buckets rounded
# half to even (0.05 h, 0.15 h, 10.5 h, 105 h), below zero (a clock set wrong), each bucket width.
TO_DECISION = [
    timedelta(0),
    timedelta(seconds=180),
    timedelta(seconds=540),
    timedelta(minutes=-10),
    timedelta(hours=9, minutes=54),
    timedelta(hours=10, minutes=30),
    timedelta(hours=23, minutes=59, seconds=59, microseconds=999_999),
    timedelta(hours=105),
    timedelta(days=12, hours=7),
]
# what befalls each case of the mix -> the case's status after it
FATES = {
    "open": "open",
    "claimed": "open",
    "escalated": "escalated",
    "decided": "decided",
    "automatic": "decided",
    "appealed": "appealed",
    "upheld": "decided",
    "overturned": "open",  # the overturning appeal reopened it
    "merged": "merged",
}
UNDECIDED = ("open", "claimed", "escalated", "overturned")


def seed_case_mix(s: Seeder, cases: int = 180) -> None:
    """Cases as a release before the roll-ups (0023, 0025) left them: open (claimed or not, with
    and without a deadline), escalated, decided by moderators and by rules (in time, late, on
    the deadline's instant, across midnight), appealed (pending, upheld, overturned and so
    reopened) and merged, with their decisions and appeals, in that release's columns."""
    rng = random.Random(16)
    moderators = [s.ids["user"]] + [
        s.row(
            "users",
            email=f"mod-{n}-{s.tag}@example.org",
            role="moderator",
            password_hash=password_hash(),
            active=True,
            created_at=T0,
            last_login_at=None,
            preferences={},
        )
        for n in (2, 3)
    ]
    for i in range(cases):
        fate = list(FATES)[i % len(FATES)]
        opened = T0 + timedelta(
            days=rng.randrange(20), seconds=rng.randrange(86_400), microseconds=rng.randrange(10**6)
        )
        decided = opened + rng.choice(TO_DECISION)
        deadline = rng.choice(
            [None, opened + timedelta(hours=24), opened + timedelta(hours=2), decided]
        )
        category = rng.choice(["illegal_content", "hate", "privacy", "csam"])
        moderator = rng.choice(moderators)
        case = {
            "repo_pk": s.ids["repo"],
            "status": FATES[fate],
            "category": category,
            "source": rng.choice(["notice", "trusted_flagger", "order", "hash_match"]),
            "priority": rng.randrange(100),
            "deadline_at": deadline,
            "assigned_to": moderator if fate == "claimed" or rng.random() < 0.2 else None,
            "claimed_at": None,
            "opened_at": opened,
            "decided_at": None if fate in UNDECIDED else decided,
            "legal_hold_until": None,
            "summary": f"case {i} of the mix ({fate})",
            "escalated_to": rng.choice(["senior", "legal"]) if fate == "escalated" else None,
            "automated": fate == "automatic",
            "merged_into": s.ids["case"] if fate == "merged" else None,
        }
        case_id = s.row("cases", **case)
        if fate in ("open", "claimed", "merged"):
            continue
        automatic = fate == "automatic" or rng.random() < 0.1
        decision = s.row(
            "decisions",
            case_id=case_id,
            action="escalate" if fate == "escalated" else "take_down",
            ground="illegal",
            ground_reference="Art. 16 DSA",
            category=category,
            explanation="seen",
            restrict_mode=None,
            escalated_to=case["escalated_to"],
            territorial_scope=[],
            end_date=None,
            automated=automatic,
            decided_by=None if automatic else moderator,
            actor=rng.choice(["rule:hash_match", "system"]) if automatic else f"user:{moderator}",
            decided_at=decided,
            reversed_at=decided + timedelta(days=3) if fate == "overturned" else None,
            reversed_by_appeal_id=None,
        )
        if fate in ("appealed", "upheld", "overturned"):
            s.row(
                "appeals",
                case_id=case_id,
                decision_id=decision,
                appellant="uploader",
                notice_id=None,
                reason="it is my own photo",
                status="open" if fate == "appealed" else "decided",
                assigned_to=None,
                outcome=None if fate == "appealed" else fate,
                explanation=None if fate == "appealed" else "looked again",
                decided_by=None if fate == "appealed" else rng.choice(moderators),
                filed_at=decided + timedelta(days=1),
                decided_at=None if fate == "appealed" else decided + timedelta(days=3),
                actor=f"uploader:{s.ids['uploader']}",
            )


# The tables each revision creates, filled in that revision's columns.
SEEDS: dict[str, Callable[[Seeder], None]] = {
    "0001_core": seed_core,
    "0002_hashing": seed_hashing,
    "0003_uploads": seed_uploads,
    "0004_cases": seed_cases,
    "0005_ops": seed_ops,
    "0006_hub_prior_settings": seed_hub_prior_settings,
    "0009_hotline_flaggers": seed_hotline_flaggers,
    "0010_dataset_scans": seed_dataset_scans,
    "0014_exchanges": seed_exchanges,
    "0017_queues": seed_queues,
    "0019_integration_tokens": seed_integration_tokens,
    "0020_video_hashes": seed_video_hashes,
    "0023_case_rollup": seed_case_rollup,
    "0024_sample_videos": seed_sample_videos,
}


# --- a scratch database per test -----------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def scratch_url(request, tmp_path):
    """An empty database of its own: a new SQLite file, or a new PostgreSQL database dropped after."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'upgrade.db'}"
        return
    admin_url = make_url(POSTGRES_URL)
    name = f"hostguard_upgrade_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture
def scratch(scratch_url, tmp_path):
    settings = Settings(
        env="test",
        data_dir=tmp_path / "var",
        database_url=scratch_url,
        base_url="http://127.0.0.1",
        log_json=False,
    )
    ensure_keys(settings)
    runtime = Runtime(settings)
    yield runtime
    runtime.close()


def hostguard(runtime: Runtime, *args: str):
    return CliRunner().invoke(
        hostguard_cli, list(args), env=cli_env(runtime), catch_exceptions=False
    )


# --- migrating and comparing -------------------------------------------------------------------


def upgrade_to(runtime: Runtime, revision: str) -> None:
    upgrade(runtime.engine, to=revision)  # what `hostguard init` runs, stopped at `revision`
    assert current_revision(runtime.engine) == revision


def init_to_head(runtime: Runtime) -> None:
    """The operator's upgrade: `hostguard health` says behind, `hostguard init`, then healthy."""
    before = current_revision(runtime.engine)
    assert hostguard(runtime, "health").exit_code == 1
    result = hostguard(runtime, "init")
    assert result.exit_code == 0, result.output
    assert f"schema: {before} -> {head_revision()}" in result.output
    assert hostguard(runtime, "health").exit_code == 0


def seed(runtime: Runtime, seeder: Seeder, revisions: list[str]) -> Seeder:
    """Write the rows of these revisions' tables in one transaction."""
    with Session(runtime.engine, expire_on_commit=False) as session:
        seeder.session = session
        for revision in revisions:
            if revision in SEEDS:
                SEEDS[revision](seeder)
        session.commit()
    seeder.session = None
    return seeder


def snapshot(runtime: Runtime) -> dict:
    """Every table's columns (name -> inspector info) and rows (primary key -> raw values)."""
    tables = {}
    with runtime.engine.connect() as conn:
        insp = inspect(conn)
        for table in insp.get_table_names():
            if table == "alembic_version":
                continue
            pk = insp.get_pk_constraint(table)["constrained_columns"]
            rows = conn.execute(text(f'SELECT * FROM "{table}"')).mappings()
            tables[table] = {
                "columns": {c["name"]: c for c in insp.get_columns(table)},
                "rows": {tuple(r[c] for c in pk): dict(r) for r in rows},
            }
    return tables


def assert_kept(before: dict, after: dict, step: str) -> None:
    """Every table, column and row of `before` is in `after` unchanged; added columns accept old writes."""
    for table, old in before.items():
        assert table in after, f"{step} dropped the table {table} ({len(old['rows'])} rows)"
        new = after[table]
        dropped = set(old["columns"]) - set(new["columns"])
        assert not dropped, f"{step} dropped {table} columns {sorted(dropped)}"
        for column in set(new["columns"]) - set(old["columns"]):
            info = new["columns"][column]
            assert info["nullable"] or info["default"] is not None, (
                f"{step} added {table}.{column} as NOT NULL without a server default: rows written "
                "by the previous release (still running during the upgrade) would be refused"
            )
        for key, row in old["rows"].items():
            assert key in new["rows"], f"{step} lost the {table} row {key}"
            for column, value in row.items():
                assert new["rows"][key][column] == value, (
                    f"{step} changed {table}.{column} of row {key}: {value!r} -> {new['rows'][key][column]!r}"
                )


def assert_readable_as_written(runtime: Runtime, seeder: Seeder) -> None:
    """Each seeded row, read through the newest models' column types, has the values written."""
    with runtime.engine.connect() as conn:
        for table_name, pk, values in seeder.written:
            assert table_name in SQLModel.metadata.tables, f"the models no longer have {table_name}"
            table = SQLModel.metadata.tables[table_name]
            missing = set(values) - set(table.c.keys())
            assert not missing, f"the models no longer have {table_name} columns {sorted(missing)}"
            (pk_column,) = table.primary_key.columns
            row = conn.execute(select(table).where(pk_column == pk)).mappings().one_or_none()
            assert row is not None, f"{table_name} row {pk} is gone"
            for column, value in values.items():
                assert row[column] == value, (
                    f"{table_name}.{column} of row {pk}: {value!r} -> {row[column]!r}"
                )


def assert_app_works_on(runtime: Runtime, s: Seeder, anchor: str) -> None:
    """The service code reads and changes the rows an older release wrote."""
    tag = s.tag
    with runtime.session() as session:
        result = verify(session)
        assert result.ok, result.problem
        assert result.checked == s.audit_records

        user = authenticate(session=session, email=f"mod-{tag}@example.org", password=PASSWORD)
        assert user is not None and user.id == s.ids["user"]
        assert user.preferences == {"queue": {"sort": "oldest"}}
        key = find_api_key(session=session, plaintext=api_key(tag)[1])
        assert key is not None and key.id == s.ids["api_key"]

        queue, _ = list_cases(session, CaseFilter(status="open"), now=T0)
        case = next(c for c in queue if c.id == s.ids["case"])
        assert (case.automated, case.escalated_to) == (False, None)  # 0004's defaults
        assert case.deadline_at == T0 + timedelta(days=1)

        check = session.scalars(
            select(UploadCheck).where(UploadCheck.check_id == f"check-{tag}")
        ).one()
        assert (check.id, check.decision, check.case_id) == (s.ids["check"], "hold", s.ids["case"])
        assert check.reasons == [{"code": "kyu_required", "message": "verify your identity"}]
        assert check.created_at == T0

        kyu = session.get(KyuSubmission, s.ids["kyu"])
        assert runtime.keys.decrypt_str(kyu.legal_name_enc) == f"Ada Lovelace {tag}"
        assert f"seed.task.{tag}" in {task.name for task in periodic_status(session)}

    with runtime.session() as session:
        moderator = session.get(User, s.ids["user"])
        claim_case(
            session=session,
            case_id=s.ids["case"],
            user=moderator,
            actor=f"user:{moderator.id}",
            policy=runtime.policy,
        )
    with runtime.session() as session:
        assert session.get(Case, s.ids["case"]).assigned_to == s.ids["user"]
        result = verify(session)
        assert result.ok and result.checked == s.audit_records + 1, result
    assert s.ids["job"] in claim(runtime.engine, worker="upgrade-test", kinds={JOB_KIND}, limit=10)

    verified = hostguard(runtime, "audit", "verify", "--anchor", anchor)
    assert verified.exit_code == 0, verified.output


def audit_head_hash(runtime: Runtime) -> str:
    with runtime.engine.connect() as conn:
        return conn.execute(text("SELECT hash FROM audit_head WHERE id = 1")).scalar_one()


def assert_every_table_seeded(runtime: Runtime) -> None:
    empty = [t for t, data in snapshot(runtime).items() if not data["rows"]]
    assert not empty, (
        f"no rows in {empty}: add them to SEEDS under the revision that creates "
        "them, so upgrades past that revision are checked to keep them"
    )


# --- the tests ---------------------------------------------------------------------------------


def test_seeds_name_known_revisions():
    assert set(SEEDS) <= set(history())


def test_upgrade_step_by_step_keeps_every_row(scratch):
    revisions = history()
    assert revisions[-1] == head_revision()
    seeder = Seeder(scratch.keys, "1")
    before, anchor = {}, None
    for revision in revisions:
        if revision == head_revision():
            init_to_head(scratch)
        else:
            upgrade_to(scratch, revision)
        after = snapshot(scratch)
        assert_kept(before, after, f"upgrading to {revision}")
        seed(scratch, seeder, [revision])
        if revision == revisions[-2]:
            anchor = audit_head_hash(scratch)  # kept outside the database before the last upgrade
        before = snapshot(scratch)

    assert_every_table_seeded(scratch)
    assert_readable_as_written(scratch, seeder)
    assert_app_works_on(scratch, seeder, anchor)
    with scratch.session() as session:  # 0008: a failed submission is retried, puid looked up first
        statement = session.scalars(
            select(StatementOfReasons).where(StatementOfReasons.puid == "hg-1-1")
        ).one()
        assert (statement.submission_state, statement.submission_attempts) == ("failed", 1)
        assert statement.next_attempt_at == T0 and statement.submission_error == "timeout"

    # Rows written in every older revision's columns (as the previous release, still running
    # during a rolling upgrade, writes them) are accepted by the newest schema and read back.
    again = seed(scratch, Seeder(scratch.keys, "2"), revisions)
    assert_readable_as_written(scratch, again)
    with scratch.session() as session:
        assert session.get(Case, again.ids["case"]).automated is False  # 0004's server default


def test_upgrade_from_the_first_revision_in_one_go(scratch):
    """An operator who skipped releases: the first schema with data, then one upgrade to the newest."""
    first = history()[0]
    upgrade_to(scratch, first)
    seeder = seed(scratch, Seeder(scratch.keys, "1"), [first])
    anchor = audit_head_hash(scratch)
    before = snapshot(scratch)

    upgrade(scratch.engine)  # what `hostguard init` runs
    assert current_revision(scratch.engine) == head_revision()
    assert_kept(before, snapshot(scratch), f"upgrading from {first} to {head_revision()}")
    seed(scratch, seeder, history()[1:])
    assert_every_table_seeded(scratch)
    assert_readable_as_written(scratch, seeder)
    assert_app_works_on(scratch, seeder, anchor)


def test_upgrade_counts_the_roll_ups_as_the_app_does(scratch):
    """0023 and 0025 count case_daily_figures and case_open_figures from the cases an older
    release left, row for row what the app's own recount (`rollup.rebuild`) writes, though they
    read the tables in their own revision's columns and import none of the app's code."""
    revisions = history()
    before = revisions[revisions.index("0023_case_rollup") - 1]
    upgrade_to(scratch, before)
    seeder = seed(scratch, Seeder(scratch.keys, "1"), revisions[: revisions.index(before) + 1])
    with Session(scratch.engine) as session:
        seeder.session = session
        seed_case_mix(seeder)
        session.commit()

    upgrade(scratch.engine)  # what `hostguard init` runs
    assert current_revision(scratch.engine) == head_revision()

    def rows(conn, name: str) -> list[dict]:
        table = SQLModel.metadata.tables[name]
        found = conn.execute(select(table).order_by(table.c.id)).mappings()
        return [{c: v for c, v in row.items() if c != "id"} for row in found]

    with scratch.engine.connect() as conn:
        upgraded = {name: rows(conn, name) for name in ("case_daily_figures", "case_open_figures")}
        for name in upgraded:
            rebuild(conn, name)
            assert rows(conn, name) == upgraded[name], name
        conn.rollback()

    # the mix reaches every kind of row and every count
    daily, now = upgraded["case_daily_figures"], upgraded["case_open_figures"]
    assert {r["kind"] for r in daily} == {"case", "hours", "decision", "appeal"}
    assert {r["bucket"] for r in daily if r["kind"] == "hours"} >= {0, 2, 99, 100, 240, 1000}
    assert {"rule:hash_match", "system", ""} <= {r["actor"] for r in daily}
    assert all(sum(r[c] for r in daily) for c in ("with_deadline", "within", "overturned"))
    assert {r["status"] for r in now} == {"open", "escalated", "appealed"}
    assert {"", "senior", "legal"} <= {r["escalated_to"] for r in now}
    assert NO_DEADLINE in {r["deadline_day"] for r in now}
    assert 0 < sum(r["unassigned"] for r in now) < sum(r["n"] for r in now)


def test_sqlite_upgrade_that_would_leave_dangling_rows_changes_nothing(tmp_path):
    """Foreign keys are not enforced while SQLite migrations rebuild tables, so the result is
    checked before it commits: rows pointing nowhere refuse the upgrade and keep the old schema."""
    from hostguard.db import make_engine
    from hostguard.errors import Conflict

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        upgrade(engine, to="0003_uploads")
        with engine.connect() as conn:  # a row written with enforcement off, pointing at no case
            conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
            conn.connection.driver_connection.execute(
                "INSERT INTO case_evidence (case_id, source, kind, details, automated, at) "
                "VALUES (4242, 'notice', 'notice', '{}', 0, '2026-01-01 00:00:00')"
            )
            conn.connection.driver_connection.execute("PRAGMA foreign_keys=ON")
        with pytest.raises(Conflict, match="case_evidence"):
            upgrade(engine)
        assert current_revision(engine) == "0003_uploads"
        with engine.connect() as conn:
            assert (
                conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            )  # enforcement is back on
    finally:
        engine.dispose()
