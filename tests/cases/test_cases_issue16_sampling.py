"""Issue 16: quality sampling. A policy share of decisions goes to a second reviewer, who sees
the case but not the first decision until they submit their own; the dashboard shows how often
the two agree, by category and by moderator."""

from __future__ import annotations

import yaml
from sqlmodel import select

from hostguard.cases.models import QualitySample
from hostguard.cases.sampling import drawn

HATE = "This model generates hate imagery aimed at a protected group."


def _share(runtime, tmp_path, share: float):
    path = tmp_path / f"sampling-{share}.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "id": "sampling-test",
                "version": 1,
                "moderation": {
                    "sampling": {"share": share, "roles": ["moderator", "senior_moderator"]}
                },
            }
        ),
        encoding="utf-8",
    )
    runtime.settings.policy_file = path


def test_the_share_of_the_policy_is_drawn():
    assert not any(drawn(i, 0) for i in range(1, 1000))
    assert all(drawn(i, 1) for i in range(1, 1000))
    share = sum(drawn(i, 0.05) for i in range(1, 20001)) / 20000
    assert 0.04 < share < 0.06


def test_a_second_reviewer_decides_blind_and_the_dashboard_counts_agreement(
    db, runtime, tmp_path, notice, owned_repo, people, decided, client, api_headers, login
):
    _share(runtime, tmp_path, 1.0)
    owned_repo()
    first = people("moderator", 1)
    _, (case,) = notice(explanation=HATE)
    decision = decided(case, first)  # take down, illegal content, hate
    sample = db.exec(select(QualitySample)).one()
    assert (sample.decision_id, sample.first_reviewer, sample.status) == (
        decision.id,
        first.id,
        "open",
    )
    sample_id, case_id = sample.id, case.id
    db.commit()

    own = api_headers("moderator", user=first)
    assert client.get("/api/v1/samples", headers=own).get_json()["items"] == []
    refused = client.post(
        f"/api/v1/samples/{sample_id}/review",
        json={"action": "take_down", "ground": "illegal_content", "category": "hate"},
        headers=own,
    )
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "not_a_reviewer"

    second = api_headers("moderator", user=people("moderator", 2))
    (blind,) = client.get("/api/v1/samples", headers=second).get_json()["items"]
    assert blind["case_id"] == case_id and blind["notices"][0]["explanation"] == HATE
    assert "take_down" not in str(blind) and "first_decision" not in blind
    bad = client.post(
        f"/api/v1/samples/{sample_id}/review",
        json={"action": "escalate", "ground": "x", "category": "hate"},
        headers=second,
    )
    assert bad.status_code == 422 and "choose the action" in bad.get_json()["error"]["message"]
    answer = client.post(
        f"/api/v1/samples/{sample_id}/review",
        json={"action": "no_action", "ground": "terms_of_service", "category": "hate"},
        headers=second,
    ).get_json()
    assert answer["agrees"] is False
    assert answer["first_decision"]["action"] == "take_down"
    again = client.post(
        f"/api/v1/samples/{sample_id}/review",
        json={"action": "no_action", "ground": "terms_of_service", "category": "hate"},
        headers=second,
    )
    assert again.status_code == 409

    # a second case, whose reviewer agrees
    _, (other,) = notice(items=("alice/other",), explanation=HATE, client="198.51.100.9")
    decided(other, first)
    (blind,) = client.get("/api/v1/samples", headers=second).get_json()["items"]
    agreed = client.post(
        f"/api/v1/samples/{blind['sample_id']}/review",
        json={"action": "take_down", "ground": "illegal_content", "category": "hate"},
        headers=second,
    ).get_json()
    assert agreed["agrees"] is True

    login(client, "senior_moderator")
    page = client.get("/console/dashboard").get_data(as_text=True)
    assert "1 of 2 second reviews in the period agree with the first decision (50 %)" in page
    moderators = page.split('id="agreement-moderators"')[1].split("</table>")[0]
    assert first.email in moderators and "50 %" in moderators


def test_no_sample_at_share_zero_and_the_console_review_page_hides_the_decision(
    db, runtime, tmp_path, notice, owned_repo, people, decided, client, login, csrf_token
):
    _share(runtime, tmp_path, 0.0)
    owned_repo()
    _, (case,) = notice(explanation=HATE)
    decided(case, people("moderator", 1))
    assert db.exec(select(QualitySample)).all() == []
    _share(runtime, tmp_path, 1.0)
    _, (other,) = notice(items=("alice/two",), explanation=HATE, client="198.51.100.10")
    decided(other, people("moderator", 1))
    sample_id = db.exec(select(QualitySample)).one().id
    db.commit()
    login(client, "moderator")
    listed = client.get("/console/samples").get_data(as_text=True)
    assert f"Sample {sample_id}" in listed
    page = client.get(f"/console/samples/{sample_id}").get_data(as_text=True)
    assert HATE in page and "First decision" not in page and 'id="review-form"' in page
    done = client.post(
        f"/console/samples/{sample_id}/review",
        data={
            "csrf_token": csrf_token(client, f"/console/samples/{sample_id}"),
            "action": "take_down",
            "ground": "illegal_content",
            "category": "hate",
        },
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "you agree with the first decision" in done.lower()
    assert "The two decisions agree" in done and "First decision" in done
