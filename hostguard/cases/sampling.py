"""Quality sampling: a policy share of decisions goes to a second reviewer, who decides the case
again without seeing the first decision; the two are compared and the agreement figures kept."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from hostguard.accounts.models import User
from hostguard.audit.service import record
from hostguard.cases.measures import DecisionAction
from hostguard.cases.models import (
    Case,
    CaseEvidence,
    Decision,
    Notice,
    NoticeItem,
    QualitySample,
)
from hostguard.db.types import utcnow
from hostguard.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from hostguard.platform.models import ModelRepo
from hostguard.policy import Policy

OPEN, SUBMITTED = "open", "submitted"


def drawn(decision_id: int, share: float) -> bool:
    """Whether the decision is drawn for sampling: a keyed-free, even spread over decision ids
    (so the share holds over any run of decisions and a test can predict it)."""
    if share <= 0:
        return False
    spot = int.from_bytes(hashlib.sha256(f"sample:{decision_id}".encode()).digest()[:4], "big")
    return spot / 2**32 < share


def maybe_sample(session: Session, *, decision: Decision, policy: Policy) -> QualitySample | None:
    """Draw a moderator's decision for a second review at the policy's share (escalations, and
    decisions taken by no person, are not drawn)."""
    assert decision.id is not None  # flushed by decide
    if (
        decision.decided_by is None
        or decision.action == DecisionAction.ESCALATE
        or not drawn(decision.id, policy.moderation.sampling.share)
    ):
        return None
    sample = QualitySample(
        case_id=decision.case_id,
        decision_id=decision.id,
        first_reviewer=decision.decided_by,
        category=decision.category,
    )
    session.add(sample)
    session.flush()
    record(
        session,
        actor="system",
        action="case.sampled",
        subject=f"case:{decision.case_id}",
        details={"sample": sample.id, "decision": decision.id},
    )
    return sample


def may_review(sample: QualitySample, user: User, *, policy: Policy) -> bool:
    return user.role in policy.moderation.sampling.roles and user.id != sample.first_reviewer


def open_samples(session: Session, *, user: User, policy: Policy) -> list[QualitySample]:
    """The samples waiting for a second review that this user may review (never their own)."""
    if user.role not in policy.moderation.sampling.roles:
        return []
    return [
        s
        for s in session.exec(
            select(QualitySample)
            .where(QualitySample.status == OPEN)
            .order_by(col(QualitySample.id))
            .limit(500)
        )
        if s.first_reviewer != user.id
    ]


def get_sample(session: Session, sample_id: int) -> QualitySample:
    sample = session.get(QualitySample, sample_id)
    if sample is None:
        raise NotFound(f"no quality sample {sample_id}", code="sample_not_found")
    return sample


def review_sample(
    *,
    session: Session,
    sample_id: int,
    user: User,
    actor: str,
    action: str,
    ground: str,
    category: str,
    policy: Policy,
) -> QualitySample:
    """The second reviewer's own decision on the sampled case, compared with the first: they agree
    when action, ground and category are the same. Only now is the first decision shown."""
    sample = get_sample(session, sample_id)
    if not may_review(sample, user, policy=policy):
        raise PermissionDenied(
            "you took the first decision on this case: someone else reviews it"
            if user.id == sample.first_reviewer
            else f"your role ({user.role}) does not review quality samples",
            code="not_a_reviewer",
        )
    if sample.status != OPEN:
        raise Conflict(f"quality sample {sample_id} was already reviewed", code="already_reviewed")
    problems = []
    if action not in {a.value for a in DecisionAction} or action == DecisionAction.ESCALATE:
        problems.append("choose the action you would take")
    if ground not in ("illegal_content", "terms_of_service"):
        problems.append("choose the ground")
    if category not in policy.categories:
        problems.append("choose the category")
    if problems:
        raise InvalidInput("; ".join(problems), code="invalid_review")
    first = session.get(Decision, sample.decision_id)
    assert first is not None  # quality_samples.decision_id is a foreign key
    sample.action, sample.ground, sample.review_category = action, ground, category
    sample.agrees = (action, ground, category) == (first.action, first.ground, first.category)
    sample.status, sample.reviewer, sample.submitted_at = SUBMITTED, user.id, utcnow()
    record(
        session,
        actor=actor,
        action="case.sample_reviewed",
        subject=f"case:{sample.case_id}",
        details={"sample": sample.id, "agrees": sample.agrees},
    )
    session.flush()
    return sample


def blind_view(session: Session, sample: QualitySample) -> dict:
    """What the second reviewer sees before submitting: the model, the notices, orders' and
    matches' evidence, never the first decision (nor the category it gave the case)."""
    case = session.get(Case, sample.case_id)
    assert case is not None  # quality_samples.case_id is a foreign key
    repo = session.get(ModelRepo, case.repo_pk)
    notices = session.exec(
        select(Notice)
        .join(NoticeItem, col(NoticeItem.notice_id) == Notice.id)
        .where(NoticeItem.case_id == case.id)
        .order_by(col(Notice.id))
    ).all()
    evidence = session.exec(
        select(CaseEvidence).where(CaseEvidence.case_id == case.id).order_by(col(CaseEvidence.id))
    ).all()
    return {
        "sample_id": sample.id,
        "case_id": case.id,
        "repo_id": repo.repo_id if repo else None,
        "source": case.source,
        "opened_at": case.opened_at.isoformat(),
        "notices": [
            {"id": n.id, "category": n.category, "explanation": n.explanation, "items": n.items}
            for n in notices
        ],
        "evidence": [
            {"kind": e.kind, "source": e.source, "ref": e.ref, "details": e.details}
            for e in evidence
        ],
    }


def outcome(session: Session, sample: QualitySample) -> dict:
    """The review next to the first decision (shown once the review is submitted)."""
    first = session.get(Decision, sample.decision_id)
    assert first is not None  # a foreign key
    return {
        "sample_id": sample.id,
        "case_id": sample.case_id,
        "status": sample.status,
        "agrees": sample.agrees,
        "review": {
            "action": sample.action,
            "ground": sample.ground,
            "category": sample.review_category,
        },
        "first_decision": {
            "action": first.action,
            "ground": first.ground,
            "category": first.category,
            "explanation": first.explanation,
        },
    }


@dataclass
class Agreement:
    """How often second reviewers agreed with the first decision, over the period."""

    reviewed: int = 0
    agreeing: int = 0
    waiting: int = 0  # drawn, not reviewed yet
    by_category: dict[str, tuple[int, int]] = field(default_factory=dict)  # (reviewed, agreeing)
    by_moderator: dict[int, tuple[int, int]] = field(default_factory=dict)  # first reviewer

    @property
    def share(self) -> float | None:
        return self.agreeing / self.reviewed if self.reviewed else None


def sampling_agreement(
    session: Session, *, days: int = 30, until: datetime | None = None
) -> Agreement:
    """Agreement figures for the dashboard: samples reviewed in the period, by category and by
    the moderator who took the first decision."""
    until = until or utcnow()
    since = until - timedelta(days=days)
    board = Agreement(
        waiting=len(
            session.exec(select(QualitySample.id).where(QualitySample.status == OPEN)).all()
        )
    )
    rows = session.exec(
        select(QualitySample.category, QualitySample.first_reviewer, QualitySample.agrees).where(
            QualitySample.status == SUBMITTED,
            col(QualitySample.submitted_at) >= since,
            col(QualitySample.submitted_at) < until,
        )
    )
    for category, moderator, agrees in rows:
        board.reviewed += 1
        board.agreeing += bool(agrees)
        n, a = board.by_category.get(category, (0, 0))
        board.by_category[category] = (n + 1, a + bool(agrees))
        if moderator is not None:
            n, a = board.by_moderator.get(moderator, (0, 0))
            board.by_moderator[moderator] = (n + 1, a + bool(agrees))
    return board
