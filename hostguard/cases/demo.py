"""Demo cases for `hostguard demo`: a queue with every source, a decided case and an open appeal.

Made-up model ids and addresses only; hash-match evidence names a demo list and a distance,
never an image or a list hash. Running it twice adds nothing the second time.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from hostguard.accounts.models import Role, User
from hostguard.cases.appeals import file_appeal
from hostguard.cases.claims import claim_case
from hostguard.cases.decisions import DecisionInput, decide
from hostguard.cases.intake import NoticeInput, open_case, submit_notice
from hostguard.cases.models import Case, Notice
from hostguard.cases.orders import OrderInput, receive_order
from hostguard.db.types import utcnow
from hostguard.platform.service import get_or_create_repo, get_or_create_uploader

if TYPE_CHECKING:
    from hostguard.runtime import Runtime

MARK = "[demo]"


def seed(session: Session, runtime: Runtime) -> None:
    """Add demo cases (idempotent)."""
    if session.exec(select(Notice).where(Notice.explanation.startswith(MARK))).first():
        return
    people = [
        ("u-demo-1", "pixel-forge"),
        ("u-demo-2", "tensor-tinker"),
        ("u-demo-3", "diffuse-dan"),
    ]
    repos = {}
    for (pid, name), model in zip(
        people, ["portrait-xl", "anime-mix-v3", "realvision-lora"], strict=True
    ):
        uploader = get_or_create_uploader(
            session,
            platform_id=pid,
            username=name,
            email=f"{name}@uploader.example",
            keys=runtime.keys,
        )
        repos[model] = get_or_create_repo(session, repo_id=f"{name}/{model}", uploader=uploader)

    submit_notice(
        policy=runtime.policy,
        session=session,
        runtime=runtime,
        actor="public",
        client="192.0.2.10",
        data=NoticeInput(
            items=["pixel-forge/portrait-xl"],
            category="non_consensual_intimate_imagery",
            explanation=f"{MARK} The sample gallery shows intimate deepfakes of a real streamer.",
            notifier_name="Demo Notifier",
            notifier_email="notifier@public.example",
            good_faith=True,
        ),
    )
    submit_notice(
        policy=runtime.policy,
        session=session,
        runtime=runtime,
        actor="public",
        client="192.0.2.11",
        data=NoticeInput(
            items=["tensor-tinker/anime-mix-v3", "someone-else/old-model-2021"],
            category="intellectual_property",
            explanation=f"{MARK} Trained on and reproduces our copyrighted character artwork.",
            notifier_name="Studio Rights Desk",
            notifier_email="rights@studio.example",
            good_faith=True,
        ),
    )
    submit_notice(
        policy=runtime.policy,
        session=session,
        runtime=runtime,
        actor="apikey:demo",
        source="trusted_flagger",
        organisation="Demo Hotline (trusted flagger)",
        data=NoticeInput(
            items=["diffuse-dan/realvision-lora"],
            category="hate",
            explanation=f"{MARK} Generates propaganda imagery glorifying a banned group.",
            good_faith=True,
        ),
    )
    open_case(
        policy=runtime.policy,
        session=session,
        repo=repos["realvision-lora"],
        source="hash_match",
        category="child_sexual_abuse",
        actor="system",
        kind="hash_match",
        automated=True,
        details={"list": "demo-hotline-list", "algorithm": "pdq", "distance": 12, "sample": 2},
    )
    receive_order(
        policy=runtime.policy,
        session=session,
        runtime=runtime,
        actor="apikey:demo-authority",
        data=OrderInput(
            authority="Demo Regulator",
            member_state="FR",
            reference="DEMO-ORD-1",
            legal_basis="Art. 9 Regulation (EU) 2022/2065",
            category="terrorism",
            items=["extreme/propaganda-gen"],
            territorial_scope=["FR"],
            deadline_at=utcnow() + timedelta(hours=6),
            feedback_to="orders@regulator.example",
        ),
    )
    overdue = get_or_create_repo(session, repo_id="scam-lab/voice-clone-bank")
    case = open_case(
        policy=runtime.policy,
        session=session,
        repo=overdue,
        source="notice",
        category="fraud",
        actor="system",
        kind="notice",
        summary="Voice cloning model advertised for bank fraud",
    )
    case.opened_at = utcnow() - timedelta(days=9)
    case.deadline_at = utcnow() - timedelta(days=2)

    moderator = session.exec(select(User).where(User.role == Role.MODERATOR)).first()
    if moderator is not None:
        decided = session.exec(select(Case).where(Case.repo_pk == repos["anime-mix-v3"].id)).first()
        assert decided is not None and decided.id is not None  # opened by the notice above
        claim_case(
            session=session,
            case_id=decided.id,
            user=moderator,
            actor=moderator.actor,
            policy=runtime.policy,
        )
        decide(
            policy=runtime.policy,
            session=session,
            runtime=runtime,
            case_id=decided.id,
            user=moderator,
            actor=moderator.actor,
            data=DecisionInput(
                action="restrict",
                restrict_mode="gate",
                ground="terms_of_service",
                ground_reference="Terms of service §4.2 (third-party rights)",
                category="intellectual_property",
                explanation="The samples reproduce protected character designs; access is "
                "gated until the uploader documents a licence.",
            ),
        )
        file_appeal(
            policy=runtime.policy,
            session=session,
            case_id=decided.id,
            appellant="uploader",
            actor="uploader:u-demo-2",
            reason="The characters are my own designs; I can show the sketches.",
        )
    session.flush()
