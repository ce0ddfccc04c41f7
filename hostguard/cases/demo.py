"""Demo cases for `hostguard demo`: a queue with every source, a decided case and an open appeal.

Made-up model ids and addresses only; hash-match evidence names the demo list the demo really
imports (`workflows/demo.py`) and a distance, never an image or a list hash. Sample images are
benign pictures drawn from a seed whenever the console asks for one (`demo_image`): no image
bytes are stored. Running it twice adds nothing the second time.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from PIL import Image, ImageDraw
from sqlmodel import Session, select

from hostguard.accounts.models import Role, User
from hostguard.cases.appeals import file_appeal
from hostguard.cases.claims import claim_case
from hostguard.cases.decisions import DecisionInput, decide
from hostguard.cases.intake import NoticeInput, open_case, submit_notice
from hostguard.cases.models import Case, CaseEvidence, Notice
from hostguard.cases.orders import OrderInput, receive_order
from hostguard.db.types import utcnow
from hostguard.platform.service import get_or_create_repo, get_or_create_uploader

if TYPE_CHECKING:
    from hostguard.runtime import Runtime

MARK = "[demo]"
DEMO_LIST = "demo-child-safety-test-list"
MATCHED_SEED = 2  # the demo image the demo list holds the hash of
MAX_SEED = 64


def demo_image(seed: int, size: int = 256) -> bytes:
    """A benign picture (soft colour bands and circles) drawn from `seed`, as PNG: the same
    seed gives the same bytes, so nothing needs storing."""
    if not 1 <= seed <= MAX_SEED:
        raise ValueError(f"demo images have seeds 1 to {MAX_SEED}")
    rng = random.Random(seed)
    image = Image.new("RGB", (size, size))
    draw = ImageDraw.Draw(image)
    top, bottom = [rng.randrange(256) for _ in range(3)], [rng.randrange(256) for _ in range(3)]
    for y in range(size):
        t = y / (size - 1)
        draw.line(
            [(0, y), (size, y)],
            fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)),
        )
    for _ in range(6):
        x, y, r = rng.randrange(size), rng.randrange(size), rng.randrange(12, size // 3)
        colour = tuple(rng.randrange(256) for _ in range(3))
        draw.ellipse([x - r, y - r, x + r, y + r], fill=colour, outline=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def demo_image_url(seed: int) -> str:
    return f"/console/demo/samples/{seed}.png"


@dataclass(frozen=True)
class DemoMatch:
    """The demo list's match of a demo image, as `workflows/demo.py` computed it."""

    list_name: str
    algorithm: str
    distance: int


def _samples(session: Session, case: Case, seeds: list[int], *, matched: int | None = None) -> None:
    assert case.id is not None  # flushed by open_case or submit_notice
    details: dict = {"sample_image_urls": [demo_image_url(s) for s in seeds], "images": len(seeds)}
    if matched is not None:
        details["matched_image_urls"] = [demo_image_url(matched)]
    session.add(
        CaseEvidence(case_id=case.id, source=case.source, kind="sample_images", details=details)
    )


def _case_of(session: Session, repo_pk: int | None) -> Case:
    case = session.exec(select(Case).where(Case.repo_pk == repo_pk)).first()
    assert case is not None  # opened just before
    return case


def seed(session: Session, runtime: Runtime, *, match: DemoMatch | None = None) -> None:
    """Add demo cases (idempotent). `match`: the demo hash list's hit on the child-safety case's
    sample, when the caller imported that list."""
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
            category="child_sexual_abuse",
            explanation=f"{MARK} Our analysts reviewed the model's published sample gallery: "
            "sample 2 is child sexual abuse material already known to our hotline. We ask you to "
            "disable access and keep the evidence for the authorities.",
            good_faith=True,
        ),
    )
    if match is not None:
        open_case(
            policy=runtime.policy,
            session=session,
            repo=repos["realvision-lora"],
            source="hash_match",
            category="child_sexual_abuse",
            actor="system",
            kind="hash_match",
            automated=True,
            details={
                "list": match.list_name,
                "algorithm": match.algorithm,
                "distance": match.distance,
                "sample": MATCHED_SEED,
                "matched_image_urls": [demo_image_url(MATCHED_SEED)],
            },
        )
    _samples(session, _case_of(session, repos["realvision-lora"].id), [1, 3], matched=MATCHED_SEED)
    _samples(session, _case_of(session, repos["portrait-xl"].id), [4, 5, 6])
    _samples(session, _case_of(session, repos["anime-mix-v3"].id), [7, 8])
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
