"""Issue 16: named queues from the policy, routing when a case opens, "next case", a claim refused
from a queue one may not work, and saved filters (API, console and a real browser)."""

from __future__ import annotations

import pytest
import yaml
from playwright.sync_api import expect
from sqlmodel import col, select

from hostguard.accounts.models import ApiKey
from hostguard.accounts.service import set_teams
from hostguard.audit.models import AuditRecord
from hostguard.cases.claims import claim_case, next_case
from hostguard.cases.intake import open_case
from hostguard.cases.jobs import reprioritise_periodically
from hostguard.cases.models import Case, SavedFilter
from hostguard.cases.queue import CaseFilter, list_cases, route_unrouted, routing
from hostguard.errors import PermissionDenied
from hostguard.platform.service import get_or_create_repo
from tests.cases.test_cases_browser import shot, sign_in

QUEUES = {
    "child_safety": {
        "label": "Child safety",
        "categories": ["child_sexual_abuse"],
        "roles": ["senior_moderator", "legal", "admin"],
    },
    "german_desk": {"label": "German desk", "languages": ["de"], "teams": ["dach"]},
    "orders": {"label": "Authority orders", "sources": ["order"]},
    "general": {"label": "General"},
}
HATE = "This model generates hate imagery aimed at a protected group."


@pytest.fixture
def queues_policy(runtime, tmp_path):
    """A policy with a team queue (German notices, the team dach) over the shipped one."""
    path = tmp_path / "queues.yaml"
    path.write_text(
        yaml.safe_dump(
            {"id": "queues-test", "version": 1, "moderation": {"queues": QUEUES}}, sort_keys=False
        ),
        encoding="utf-8",
    )
    runtime.settings.policy_file = path
    assert list(runtime.policy.moderation.queues) == list(QUEUES)
    return runtime.policy


def german(client, model: str) -> int:
    answer = client.post(
        "/api/v1/notices",
        json={
            "items": [model],
            "category": "hate",
            "explanation": "Dieses Modell erzeugt volksverhetzende Bilder.",
            "language": "DE",
            "good_faith": True,
            "notifier": {"name": "Bernd Melder", "email": "bernd@example.org"},
        },
    )
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["case_ids"][0]


def test_a_new_case_goes_to_its_queue_and_the_api_lists_queues(
    client, api_headers, notice, queues_policy
):
    _, (csam,) = notice(
        items=("dark/child-model",),
        category="child_sexual_abuse",
        explanation="The samples depict the sexual abuse of children.",
    )
    _, (hate,) = notice(items=("alice/hate-model",), explanation=HATE)
    de = german(client, "bernd/hetz-model")
    headers = api_headers("moderator")
    assert client.get(f"/api/v1/cases/{csam.id}", headers=headers).get_json()["queue"] == (
        "child_safety"
    )
    listed = client.get("/api/v1/cases?queue=german_desk", headers=headers).get_json()["items"]
    assert [c["id"] for c in listed] == [de] and listed[0]["queue"] == "german_desk"
    general = client.get("/api/v1/cases?queue=general", headers=headers).get_json()["items"]
    assert [c["id"] for c in general] == [hate.id]
    queues = {q["id"]: q for q in client.get("/api/v1/queues", headers=headers).get_json()["items"]}
    assert list(queues) == list(QUEUES)  # routing order
    assert (queues["german_desk"]["depth"], queues["german_desk"]["may_work"]) == (1, False)
    assert (queues["child_safety"]["depth"], queues["child_safety"]["may_work"]) == (1, False)
    assert (queues["general"]["depth"], queues["general"]["may_work"]) == (1, True)
    assert queues["german_desk"]["teams"] == ["dach"]
    bad = client.get("/api/v1/cases?queue=nowhere", headers=headers)
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "invalid_queue"
    wrong = client.post(
        "/api/v1/notices",
        json={
            "items": ["x/y"],
            "category": "hate",
            "explanation": HATE,
            "language": "german",
            "good_faith": True,
            "notifier": {"name": "Nora Notifier", "email": "nora@example.org"},
        },
    )
    assert wrong.status_code == 422 and wrong.get_json()["error"]["code"] == "invalid_language"


def test_a_claim_from_a_queue_not_theirs_is_refused_until_they_join_its_team(
    client, api_headers, make_user, runtime, queues_policy
):
    de = german(client, "bernd/hetz-model")
    moderator, _ = make_user("moderator")
    headers = api_headers("moderator", user=moderator)
    refused = client.post(f"/api/v1/cases/{de}/claim", headers=headers)
    assert refused.status_code == 403
    error = refused.get_json()["error"]
    assert error["code"] == "not_your_queue"
    assert "in the queue German desk, which only the team dach may work" in error["message"]
    with runtime.session() as s:
        set_teams(session=s, user_id=moderator.id, teams=["dach"], actor="test")
    assert client.post(f"/api/v1/cases/{de}/claim", headers=headers).status_code == 200


def test_next_case_claims_the_most_urgent_case_one_may_work(
    client, api_headers, make_user, notice, queues_policy, db
):
    _, (low,) = notice(items=("a/low",), category="other", explanation=HATE)
    _, (high,) = notice(items=("a/high",), explanation=HATE)  # hate ranks above other
    german(client, "bernd/hetz-model")  # more urgent is nothing here: it is not theirs
    moderator, _ = make_user("moderator")
    headers = api_headers("moderator", user=moderator)
    first = client.post("/api/v1/cases/next", json={}, headers=headers).get_json()
    assert (first["id"], first["assigned_to"]) == (high.id, moderator.id)
    second = client.post("/api/v1/cases/next", json={"queue": "general"}, headers=headers)
    assert second.get_json()["id"] == low.id
    empty = client.post("/api/v1/cases/next", json={"queue": "general"}, headers=headers)
    assert empty.status_code == 404 and empty.get_json()["error"]["code"] == "queue_empty"
    theirs_not = client.post("/api/v1/cases/next", json={"queue": "german_desk"}, headers=headers)
    assert theirs_not.status_code == 403
    assert theirs_not.get_json()["error"]["code"] == "not_your_queue"


def test_next_case_passes_over_a_case_claimed_in_the_same_moment(
    db, runtime, notice, people, queues_policy
):
    _, (first,) = notice(items=("a/one",), explanation=HATE)
    _, (second,) = notice(items=("a/two",), category="other", explanation=HATE)
    a, b = people("moderator"), people("moderator", 2)
    claim_case(session=db, case_id=first.id, user=b, actor=b.actor, policy=runtime.policy)
    got = next_case(session=db, user=a, actor=a.actor, policy=runtime.policy, flt=CaseFilter())
    assert got is not None and got.id == second.id
    with pytest.raises(PermissionDenied):
        next_case(
            session=db,
            user=a,
            actor=a.actor,
            policy=runtime.policy,
            flt=CaseFilter(queue="german_desk"),
        )


def test_cases_opened_before_queues_are_routed_when_the_queue_is_read(db, runtime, notice):
    _, (case,) = notice(explanation=HATE)
    db.get(Case, case.id).queue = None  # as the migration leaves existing cases
    db.commit()
    cases, _ = list_cases(db, CaseFilter(queue="general"), policy=runtime.policy)
    assert [c.id for c in cases] == [case.id]


def use_queues(runtime, tmp_path, queues: dict) -> None:
    """The operator edits the policy file's queues (a new file: the policy is re-read)."""
    path = tmp_path / f"queues-{len(list(tmp_path.iterdir()))}.yaml"
    path.write_text(
        yaml.safe_dump(
            {"id": "queues-test", "version": 2, "moderation": {"queues": queues}}, sort_keys=False
        ),
        encoding="utf-8",
    )
    runtime.settings.policy_file = path
    assert list(runtime.policy.moderation.queues) == list(queues)


def moves(runtime) -> list[tuple[str, str | None, str, str]]:
    """The audited moves between queues: (subject, from, to, reason)."""
    with runtime.session() as s:
        rows = s.exec(
            select(AuditRecord)
            .where(AuditRecord.action == "case.queue")
            .order_by(col(AuditRecord.seq))
        ).all()
        return [(r.subject, r.details["from"], r.details["to"], r.reason) for r in rows]


def depths(client, headers) -> dict[str, int]:
    listed = client.get("/api/v1/queues", headers=headers).get_json()["items"]
    return {q["id"]: q["depth"] for q in listed}


def test_open_unclaimed_cases_follow_a_queues_changed_rules(
    client, api_headers, make_user, runtime, queues_policy, tmp_path
):
    """The German desk keeps its id but now takes only German notices of `other`: its open,
    unclaimed hate case moves to General when the queue is next read (audited, once); the case
    a moderator holds stays with them until released, and then moves too."""
    free, held = german(client, "bernd/free-model"), german(client, "bernd/held-model")
    moderator, _ = make_user("moderator")
    with runtime.session() as s:
        set_teams(session=s, user_id=moderator.id, teams=["dach"], actor="test")
    headers = api_headers("moderator", user=moderator)
    assert client.post(f"/api/v1/cases/{held}/claim", headers=headers).status_code == 200
    assert depths(client, headers)["german_desk"] == 2

    desk = {**QUEUES["german_desk"], "categories": ["other"]}
    use_queues(runtime, tmp_path, {**QUEUES, "german_desk": desk})
    general = client.get("/api/v1/cases?queue=general", headers=headers).get_json()["items"]
    assert [c["id"] for c in general] == [free]
    assert client.get(f"/api/v1/cases/{held}", headers=headers).get_json()["queue"] == "german_desk"
    why = "the policy's rules for the queue german_desk no longer take the case"
    assert moves(runtime) == [(f"case:{free}", "german_desk", "general", why)]
    with runtime.session() as s:
        audit = s.exec(select(AuditRecord).where(AuditRecord.action == "case.queue")).one()
    assert (audit.actor, audit.details["policy"]) == ("system", {"id": "queues-test", "version": 2})
    assert depths(client, headers) == {
        "child_safety": 0,
        "german_desk": 1,
        "orders": 0,
        "general": 1,
    }

    assert client.post(f"/api/v1/cases/{held}/release", headers=headers).status_code == 200
    assert depths(client, headers)["general"] == 2
    assert moves(runtime)[1:] == [(f"case:{held}", "german_desk", "general", why)]
    client.get("/api/v1/cases", headers=headers)  # read again: nothing left to move
    assert len(moves(runtime)) == 2


def test_cases_of_a_removed_queue_move_whoever_holds_them(
    client, api_headers, make_user, runtime, queues_policy, tmp_path
):
    held = german(client, "bernd/held-model")
    moderator, _ = make_user("moderator")
    with runtime.session() as s:
        set_teams(session=s, user_id=moderator.id, teams=["dach"], actor="test")
    headers = api_headers("moderator", user=moderator)
    assert client.post(f"/api/v1/cases/{held}/claim", headers=headers).status_code == 200
    use_queues(runtime, tmp_path, {k: v for k, v in QUEUES.items() if k != "german_desk"})
    assert depths(client, headers) == {"child_safety": 0, "orders": 0, "general": 1}
    case = client.get(f"/api/v1/cases/{held}", headers=headers).get_json()
    assert (case["queue"], case["assigned_to"]) == ("general", moderator.id)
    why = "the policy no longer has the queue german_desk"
    assert moves(runtime) == [(f"case:{held}", "german_desk", "general", why)]


def test_a_reading_moves_a_share_of_many_cases_and_the_hourly_task_the_rest(
    db, runtime, notice, queues_policy, tmp_path
):
    """A change that moves many cases: each reading of the queue moves at most its share (it
    stays quick), the next readings and the hourly task move the rest."""
    for n in range(5):
        notice(items=(f"alice/model-{n}",), explanation=HATE)
    use_queues(
        runtime, tmp_path, {"hate_desk": {"label": "Hate desk", "categories": ["hate"]}, **QUEUES}
    )
    assert route_unrouted(db, policy=runtime.policy, limit=2, batch=1) == 2
    assert route_unrouted(db, policy=runtime.policy, limit=2) == 2
    reprioritise_periodically(session=db, runtime=runtime)
    db.commit()
    assert [to for _, _, to, _ in moves(runtime)] == ["hate_desk"] * 5
    assert db.exec(select(Case.queue)).all() == ["hate_desk"] * 5


def test_the_routing_the_database_applies_is_the_policys(db, runtime, queues_policy):
    """`routing` (SQL) gives every case the queue `queue_for` gives it: each category, source
    and language a queue names, and some none does."""
    combos = [
        (category, source, language)
        for category in ("child_sexual_abuse", "hate", "other")
        for source in ("notice", "order", "hash_match")
        for language in (None, "de", "fr")
    ]
    for n, (category, source, language) in enumerate(combos):
        repo = get_or_create_repo(db, repo_id=f"routing/model-{n}")
        open_case(
            session=db,
            repo=repo,
            source=source,
            category=category,
            actor="test",
            kind="test",
            policy=queues_policy,
            language=language,
        )
    rows = db.exec(select(Case, routing(queues_policy))).all()
    assert len(rows) == len(combos)
    for case, wanted in rows:
        assert (
            wanted
            == case.queue
            == queues_policy.moderation.queue_for(
                category=case.category, source=case.source, language=case.language
            )
        )
    assert {wanted for _, wanted in rows} == set(QUEUES)


def test_saved_filters_are_saved_applied_and_deleted_per_user(
    client, db, login, csrf_token, notice, queues_policy
):
    notice(explanation=HATE)
    user = login(client, "moderator")
    token = csrf_token(client, "/console/cases")
    saved = client.post(
        "/console/cases/filters",
        data={"csrf_token": token, "name": "My hate queue", "queue": "general", "category": "hate"},
        follow_redirects=True,
    )
    page = saved.get_data(as_text=True)
    assert "Filter “My hate queue” saved" in page
    row = db.exec(select(SavedFilter).where(SavedFilter.user_id == user.id)).one()
    assert row.params == {"queue": "general", "category": "hate"}
    db.commit()  # SQLite: the test's own transaction holds the write lock
    assert 'href="/console/cases?queue=general&amp;category=hate"' in page
    empty = client.post(
        "/console/cases/filters",
        data={"csrf_token": token, "name": "nothing"},
        follow_redirects=True,
    )
    assert "The filter is empty" in empty.get_data(as_text=True)
    other = login(client, "moderator")  # another moderator neither sees nor deletes it
    assert other.id != user.id
    assert "My hate queue" not in client.get("/console/cases").get_data(as_text=True)
    token = csrf_token(client, "/console/cases")
    refused = client.post(
        f"/console/cases/filters/{row.id}/delete", data={"csrf_token": token}, follow_redirects=True
    )
    assert f"You have no saved filter {row.id}" in refused.get_data(as_text=True)
    db.expire_all()
    assert db.get(SavedFilter, row.id) is not None


def test_saved_filters_through_the_api_are_the_consoles(
    client, db, runtime, api_headers, login, csrf_token, notice, queues_policy
):
    _, (hate,) = notice(items=("alice/hate-model",), explanation=HATE)
    _, (other,) = notice(items=("alice/other-model",), category="other", explanation=HATE)
    de = german(client, "bernd/hetz-model")
    user = login(client, "moderator")
    headers = api_headers("moderator", user=user)
    saved = client.post(
        "/api/v1/saved-filters",
        json={"name": " My hate queue ", "filter": {"queue": "general", "category": "hate"}},
        headers=headers,
    )
    assert saved.status_code == 201, saved.get_json()
    mine = saved.get_json()
    assert (mine["name"], mine["filter"]) == (
        "My hate queue",
        {"queue": "general", "category": "hate"},
    )
    # the console lists it (and applies it by its link) ...
    page = client.get("/console/cases").get_data(as_text=True)
    assert 'href="/console/cases?queue=general&amp;category=hate">My hate queue</a>' in page
    # ... and a filter saved in the console is the API's too
    token = csrf_token(client, "/console/cases")
    console = client.post(
        "/console/cases/filters",
        data={
            "csrf_token": token,
            "name": "German, overdue",
            "queue": "german_desk",
            "overdue": "1",
        },
    )
    assert console.status_code == 303
    listed = client.get("/api/v1/saved-filters", headers=headers).get_json()["items"]
    assert [(f["name"], f["filter"]) for f in listed] == [
        ("German, overdue", {"queue": "german_desk", "overdue": True}),
        ("My hate queue", {"queue": "general", "category": "hate"}),
    ]

    applied = client.get(f"/api/v1/cases?saved_filter={mine['id']}", headers=headers).get_json()
    assert [c["id"] for c in applied["items"]] == [hate.id]
    # a parameter given beside it wins over the saved one
    overridden = client.get(
        f"/api/v1/cases?saved_filter={mine['id']}&category=other", headers=headers
    ).get_json()
    assert [c["id"] for c in overridden["items"]] == [other.id]
    german_id = listed[0]["id"]
    overdue = client.get(f"/api/v1/cases?saved_filter={german_id}", headers=headers).get_json()
    assert overdue["items"] == []  # the German case is not overdue yet
    any_time = client.get(f"/api/v1/cases?saved_filter={german_id}&overdue=0", headers=headers)
    assert [c["id"] for c in any_time.get_json()["items"]] == [de]

    # the same name replaces the filter; overdue false is kept as said
    again = client.post(
        "/api/v1/saved-filters",
        json={"name": "My hate queue", "filter": {"category": "hate", "overdue": False}},
        headers=headers,
    )
    assert again.status_code == 201 and again.get_json()["id"] == mine["id"]
    assert again.get_json()["filter"] == {"category": "hate", "overdue": False}
    row = db.get(SavedFilter, mine["id"])
    assert row.params == {"category": "hate", "overdue": "0"}  # as the console's query string
    db.commit()

    # another moderator neither sees, applies nor deletes it
    stranger = api_headers("moderator")
    assert client.get("/api/v1/saved-filters", headers=stranger).get_json()["items"] == []
    for answer in (
        client.get(f"/api/v1/cases?saved_filter={mine['id']}", headers=stranger),
        client.delete(f"/api/v1/saved-filters/{mine['id']}", headers=stranger),
    ):
        assert answer.status_code == 404
        assert answer.get_json()["error"]["code"] == "filter_not_found"

    deleted = client.delete(f"/api/v1/saved-filters/{mine['id']}", headers=headers)
    assert deleted.status_code == 200
    assert deleted.get_json() == {"id": mine["id"], "name": "My hate queue", "deleted": True}
    left = client.get("/api/v1/saved-filters", headers=headers).get_json()["items"]
    assert [f["name"] for f in left] == ["German, overdue"]
    actions = [
        (r.action, r.actor)
        for r in db.exec(select(AuditRecord).where(col(AuditRecord.action).like("queue.filter_%")))
    ]
    assert actions == [
        ("queue.filter_saved", user.actor),
        ("queue.filter_saved", user.actor),
        ("queue.filter_saved", user.actor),
        ("queue.filter_deleted", user.actor),
    ]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"name": "x", "filter": {}}, "empty_filter"),
        ({"name": "x", "filter": {"queue": "nowhere"}}, "invalid_filter"),
        ({"name": "x", "filter": {"status": "closed"}}, "invalid_filter"),
        ({"name": "x", "filter": {"category": "jaywalking"}}, "invalid_filter"),
        ({"name": "x", "filter": {"assigned": "someone"}}, "invalid_filter"),
        ({"name": "x", "filter": {"overdue": "yes"}}, "invalid_input"),
        ({"name": "x", "filter": {"queue": "general", "words": "hate"}}, "invalid_input"),
        ({"name": "   ", "filter": {"queue": "general"}}, "missing_name"),
        ({"name": "two\nlines", "filter": {"queue": "general"}}, "invalid_name"),
        ({"filter": {"queue": "general"}}, "invalid_input"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_a_filter_the_queue_would_not_know_is_refused(
    client, api_headers, queues_policy, body, code
):
    answer = client.post("/api/v1/saved-filters", json=body, headers=api_headers("moderator"))
    assert answer.status_code == 422, answer.get_json()
    assert answer.get_json()["error"]["code"] == code


def test_saved_filters_need_a_key_that_acts_for_a_staff_user(
    client, db, api_headers, make_user, queues_policy
):
    refused = client.get("/api/v1/saved-filters", headers=api_headers("operator"))
    assert refused.status_code == 403
    assert "needs an API key with scope moderator" in refused.get_json()["error"]["message"]
    # a moderator key whose user link is gone (as keys made before keys needed one)
    headers = api_headers("moderator")
    key = db.exec(select(ApiKey).where(ApiKey.name == "test moderator")).one()
    key.user_id = None
    db.commit()
    for answer in (
        client.get("/api/v1/saved-filters", headers=headers),
        client.post(
            "/api/v1/saved-filters",
            json={"name": "mine", "filter": {"queue": "general"}},
            headers=headers,
        ),
        client.delete("/api/v1/saved-filters/1", headers=headers),
    ):
        assert answer.status_code == 403
        error = answer.get_json()["error"]
        assert error["code"] == "no_staff_user"
        assert "does not act for a staff user" in error["message"]


def test_a_case_escalated_into_another_category_moves_to_that_categorys_queue(
    client, db, runtime, notice, people, decided, api_headers
):
    """Shipped queues: a hate case is in General; a senior who escalates it to legal as child
    sexual abuse material sends it to Child safety, where "next case" finds it."""
    _, (case,) = notice(explanation=HATE)
    assert db.get(Case, case.id).queue == "general"
    senior = people("senior_moderator")
    decided(
        case,
        senior,
        action="escalate",
        escalate_to="legal",
        category="child_sexual_abuse",
        explanation="The samples may depict children; legal must see this.",
    )
    db.expire_all()
    moved = db.get(Case, case.id)
    assert (moved.status, moved.category, moved.queue) == (
        "escalated",
        "child_sexual_abuse",
        "child_safety",
    )
    audit = db.exec(select(AuditRecord).where(AuditRecord.action == "case.decide.escalate")).one()
    assert audit.details["queue"] == "child_safety"
    db.commit()  # SQLite: the test's own transaction holds the write lock
    legal = api_headers("moderator", user=people("legal"))
    listed = client.get("/api/v1/cases?queue=child_safety&status=escalated", headers=legal)
    assert [c["id"] for c in listed.get_json()["items"]] == [case.id]
    general = client.get("/api/v1/cases?queue=general&status=active", headers=legal)
    assert general.get_json()["items"] == []
    taken = client.post("/api/v1/cases/next", json={"queue": "child_safety"}, headers=legal)
    assert taken.status_code == 200 and taken.get_json()["id"] == case.id


def test_a_moderator_may_escalate_a_case_into_a_restricted_category(
    db, runtime, notice, people, decided
):
    """The refusal to decide a case into a restricted category says "escalate the case instead":
    escalating it as that category is allowed, and puts it where those who may decide it work."""
    _, (case,) = notice(explanation=HATE)
    decided(
        case,
        people("moderator"),
        action="escalate",
        escalate_to="senior",
        category="child_sexual_abuse",
        explanation="The samples look like children; a senior must decide.",
    )
    db.expire_all()
    moved = db.get(Case, case.id)
    assert (moved.status, moved.category, moved.queue, moved.escalated_to) == (
        "escalated",
        "child_sexual_abuse",
        "child_safety",
        "senior",
    )


@pytest.mark.browser
def test_queues_next_case_and_a_refused_claim_in_the_browser(
    page, live_server, make_user, notice, client, queues_policy
):
    base = live_server.url
    _, (hate,) = notice(items=("alice/hate-model",), explanation=HATE)
    de = german(client, "bernd/hetz-model")
    moderator, password = make_user("moderator")
    sign_in(page, base, moderator, password)
    page.goto(f"{base}/console/cases")
    queues = page.locator("#queue-list")
    expect(queues.locator("tr[data-queue=german_desk]")).to_contain_text("1")
    expect(queues.locator("tr[data-queue=german_desk]")).to_contain_text("no")
    expect(queues.locator("tr[data-queue=general]")).to_contain_text("yes")
    shot(page, "queues-1-list")

    queues.get_by_role("link", name="German desk").click()
    expect(page.locator("tr[data-case-row]")).to_have_count(1)
    page.keyboard.press("n")  # next case in a queue that is not theirs
    expect(page.locator(".flash-error")).to_contain_text(
        "The queue German desk is not one of your queues"
    )
    page.get_by_role("link", name=f"#{de}").click()
    expect(page.locator("#restricted")).to_contain_text("only the team dach may work")
    expect(page.get_by_role("button", name="Claim (c)")).to_have_count(0)
    shot(page, "queues-2-refused")

    page.goto(f"{base}/console/cases?queue=general")
    page.keyboard.press("n")
    expect(page.locator("body")).to_contain_text(f"You hold case #{hate.id} now")
    expect(page).to_have_url(f"{base}/console/cases/{hate.id}")
    shot(page, "queues-3-next-case")
