"""Categories, priority, deadlines, appeal windows and misuse thresholds as plain rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import yaml

from hostguard.cases.misuse import Standing, notifier_outcome, notifier_penalty, uploader_outcome
from hostguard.cases.priority import add_months, deadline_for, is_overdue
from hostguard.cases.priority import priority_for as priority_with_policy
from hostguard.errors import InvalidInput
from hostguard.policy import DEFAULT_POLICY_PATH, PolicyError, load_policy, parse_policy
from hostguard.policy.load import shipped_policy_data

DEFAULT = load_policy()


def load_categories():
    return DEFAULT.categories


def get_category(category_id):
    return DEFAULT.category(category_id)


def priority_for(category, source, **kwargs):
    return priority_with_policy(category, source, policy=DEFAULT, **kwargs)


def policy_with(**sections) -> object:
    return parse_policy(yaml.safe_dump({"id": "test", "version": 1, **sections}))


T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


def test_nine_default_categories():
    assert sorted(load_categories()) == sorted(
        [
            "child_sexual_abuse",
            "non_consensual_intimate_imagery",
            "terrorism",
            "violence",
            "hate",
            "fraud",
            "intellectual_property",
            "privacy",
            "other",
        ]
    )
    assert get_category("child_sexual_abuse").anonymous_notices
    assert not get_category("hate").anonymous_notices


def test_unknown_category_is_a_clear_error():
    with pytest.raises(InvalidInput) as exc:
        get_category("spam")
    assert exc.value.code == "invalid_category"
    assert "spam" in exc.value.message and "child_sexual_abuse" in exc.value.message


def test_policy_adds_a_category_and_adjusts_one():
    shipped = shipped_policy_data()["categories"]
    cats = policy_with(
        categories={
            **shipped,
            "malware": {
                "label": "Malicious code",
                "tdb_category": "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
                "severity": 500,
            },
            "hate": {**shipped["hate"], "severity": 450},
        }
    ).categories
    assert cats["malware"].severity == 500 and cats["malware"].label == "Malicious code"
    assert cats["hate"].severity == 450 and cats["hate"].tdb_category.endswith(
        "ILLEGAL_OR_HARMFUL_SPEECH"
    )
    assert len(cats) == 10


def test_csam_outranks_everything_and_lanes_rank_public_last():
    csam_public = priority_for("child_sexual_abuse", "notice")
    for category in load_categories():
        for source in ("order", "trusted_flagger", "hash_match", "notice"):
            if category != "child_sexual_abuse":
                assert csam_public > priority_for(category, source)
    assert (
        priority_for("hate", "order")
        > priority_for("hate", "trusted_flagger")
        > priority_for("hate", "notice")
    )


def test_age_and_overdue_raise_priority_with_a_cap():
    fresh = priority_for("hate", "notice", opened_at=T0, now=T0)
    day = priority_for("hate", "notice", opened_at=T0, now=T0 + timedelta(hours=24))
    month = priority_for("hate", "notice", opened_at=T0, now=T0 + timedelta(days=30))
    assert fresh < day < month == fresh + 200
    overdue = priority_for(
        "hate",
        "notice",
        opened_at=T0,
        now=T0 + timedelta(days=30),
        deadline_at=T0 + timedelta(days=7),
    )
    assert overdue == month + 300


def test_unreliable_notifier_sinks():
    policy = DEFAULT.misuse
    assert notifier_penalty(3, 3, policy=policy, penalty=100) == 0  # too few to judge
    penalty = notifier_penalty(10, 9, policy=policy, penalty=100)
    assert penalty == 90
    assert priority_for("hate", "notice", notifier_penalty=penalty) < priority_for("hate", "notice")


def test_deadlines_default_override_and_orders():
    policy = DEFAULT
    assert deadline_for(
        category="hate", source="notice", opened_at=T0, policy=policy
    ) == T0 + timedelta(days=7)
    assert deadline_for(
        category="child_sexual_abuse", source="notice", opened_at=T0, policy=policy
    ) == T0 + timedelta(hours=24)
    assert deadline_for(
        category="hate", source="trusted_flagger", opened_at=T0, policy=policy
    ) == T0 + timedelta(hours=48)
    own = T0 + timedelta(hours=1)
    assert (
        deadline_for(
            category="terrorism", source="order", opened_at=T0, policy=policy, order_deadline=own
        )
        == own
    )
    custom = policy_with(
        deadlines=[
            {"source": "notice", "category": "*", "hours": 72},
            {"source": "*", "category": "csam", "hours": 12},
        ]
    )
    assert deadline_for(
        category="hate", source="notice", opened_at=T0, policy=custom
    ) == T0 + timedelta(hours=72)
    assert custom.deadline_hours(category="child_sexual_abuse", source="trusted_flagger") == 12
    assert custom.deadline_hours(category="hate", source="trusted_flagger") == 168
    assert (
        is_overdue(T0, T0 + timedelta(seconds=1))
        and not is_overdue(T0, T0)
        and not is_overdue(None, T0)
    )


def test_appeal_window_is_never_below_six_months():
    with pytest.raises(PolicyError, match="cases.appeal_months"):
        policy_with(cases={"appeal_months": 2})
    assert policy_with(cases={"appeal_months": 6}).cases.appeal_months == 6
    assert add_months(datetime(2026, 8, 31, tzinfo=UTC), 6) == datetime(2027, 2, 28, tzinfo=UTC)
    assert add_months(datetime(2026, 1, 15, tzinfo=UTC), 6) == datetime(2026, 7, 15, tzinfo=UTC)
    assert add_months(datetime(2027, 8, 31, tzinfo=UTC), 6) == datetime(2028, 2, 29, tzinfo=UTC)


def test_uploader_warned_then_suspended():
    policy = DEFAULT.misuse.model_copy(update={"uploader_warn_at": 1, "uploader_suspend_at": 3})
    assert uploader_outcome(1, already_warned=False, policy=policy) == Standing.WARN
    assert uploader_outcome(2, already_warned=True, policy=policy) == Standing.OK
    assert uploader_outcome(3, already_warned=True, policy=policy) == Standing.SUSPEND
    # never suspended without a prior warning
    assert uploader_outcome(5, already_warned=False, policy=policy) == Standing.WARN


def test_notifier_warned_then_suspended():
    policy = DEFAULT.misuse.model_copy(
        update={"notifier_min_notices": 5, "notifier_unfounded_share": 0.7}
    )
    assert notifier_outcome(4, 4, already_warned=False, policy=policy) == Standing.OK
    assert notifier_outcome(10, 7, already_warned=False, policy=policy) == Standing.OK
    assert notifier_outcome(10, 8, already_warned=False, policy=policy) == Standing.WARN
    assert notifier_outcome(10, 8, already_warned=True, policy=policy) == Standing.SUSPEND


def test_deadlines_follow_the_shipped_policy_file(runtime):
    shipped = yaml.safe_load(open(DEFAULT_POLICY_PATH))
    policy = runtime.policy
    assert [(r.source, r.category, r.hours) for r in policy.deadlines] == [
        (r["source"], r["category"], r["hours"]) for r in shipped["deadlines"]
    ]
    assert policy.default_deadline_hours == shipped["default_deadline_hours"]
    assert policy.deadline_hours(category="child_sexual_abuse", source="notice") == 24
