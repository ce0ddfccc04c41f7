"""Helpers for case tests: people, notices, claimed cases."""

from __future__ import annotations

import pytest

from hostguard.cases.claims import claim_case
from hostguard.cases.decisions import DecisionInput
from hostguard.cases.intake import NoticeInput, submit_notice
from hostguard.platform.service import get_or_create_repo, get_or_create_uploader
from hostguard.workflows.decisions import decide


@pytest.fixture
def people(make_user):
    """people(role) -> User (cached per role name suffix: people("moderator", 2))."""
    made = {}

    def get(role: str, n: int = 1):
        if (role, n) not in made:
            made[(role, n)] = make_user(role)[0]
        return made[(role, n)]

    return get


@pytest.fixture
def notice(db, runtime):
    """notice(items=[...], category="hate", **kw) -> (Notice, [Case]) committed."""

    def make(
        items=("alice/face-model",),
        category="hate",
        email="notifier@example.org",
        name="Nora Notifier",
        source="notice",
        client="203.0.113.9",
        explanation="This model generates hate imagery.",
        api_key_id=None,
        organisation=None,
    ):
        n, cases = submit_notice(
            policy=runtime.policy,
            session=db,
            runtime=runtime,
            actor="public",
            source=source,
            data=NoticeInput(
                items=list(items),
                category=category,
                explanation=explanation,
                notifier_name=name,
                notifier_email=email,
                good_faith=True,
            ),
            client=client,
            api_key_id=api_key_id,
            organisation=organisation,
        )
        db.commit()
        return n, cases

    return make


@pytest.fixture
def owned_repo(db, runtime):
    def make(repo_id="alice/face-model", platform_id="u-alice", username="alice"):
        uploader = get_or_create_uploader(
            db,
            platform_id=platform_id,
            username=username,
            email=f"{username}@example.org",
            keys=runtime.keys,
        )
        repo = get_or_create_repo(db, repo_id=repo_id, uploader=uploader)
        db.commit()
        return repo, uploader

    return make


TAKE_DOWN = dict(
    action="take_down",
    ground="illegal_content",
    ground_reference="StGB § 130",
    category="hate",
    explanation="The model's samples incite hatred.",
)


@pytest.fixture
def decided(db, runtime):
    """decided(case, user, **decision) -> Decision (claims first, commits)."""

    def make(case, user, **overrides):
        claim_case(session=db, case_id=case.id, user=user, actor=user.actor, policy=runtime.policy)
        d = decide(
            policy=runtime.policy,
            session=db,
            runtime=runtime,
            case_id=case.id,
            user=user,
            actor=user.actor,
            data=DecisionInput(**{**TAKE_DOWN, **overrides}),
        )
        db.commit()
        return d

    return make
