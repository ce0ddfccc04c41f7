"""A hash list's own action in the upload check: the stricter of the list and the policy wins."""

from __future__ import annotations

import pytest
from sqlmodel import select

from hostguard.cases.claims import claim_case
from hostguard.cases.decisions import DecisionInput
from hostguard.cases.intake import open_case
from hostguard.cases.models import Case, CaseEvidence
from hostguard.hashing.models import REUPLOAD_LIST, ListAction, SampleImageHash
from hostguard.platform.models import ModelRepo
from hostguard.policy import MatchAction, load_policy
from hostguard.policy.model import LIST_ACTION_FLOOR
from hostguard.uploads.check import match_action
from hostguard.uploads.models import UploadCheck
from hostguard.workflows.decisions import decide
from tests.uploads.test_check_api import certify_all, codes, textured_png


def _pdq(runtime, image: bytes) -> str:
    from hostguard.hashing.service import scan_images

    with runtime.session() as s:
        return scan_images(session=s, runtime=runtime, images=[("x.png", image)])[0].hashes["pdq"]


def _evidence(runtime) -> list[CaseEvidence]:
    with runtime.session() as s:
        return list(s.exec(select(CaseEvidence).where(CaseEvidence.kind == "hash_match")).all())


def test_a_block_list_blocks_whatever_its_category(checker, cli, runtime, tmp_path):
    """`--action block` with the default category `other`, which the default policy only holds."""
    image = textured_png(21)
    pdq = _pdq(runtime, image)
    (tmp_path / "own.txt").write_text(pdq + "\n")
    imported = cli(
        "hashlist",
        "import",
        "own-removals",
        str(tmp_path / "own.txt"),
        "--algorithm",
        "pdq",
        "--action",
        "block",
    )
    assert imported.exit_code == 0, imported.output
    _, body = checker(visibility="private", images=[("samples/a.png", image)])
    assert body["decision"] == "block", body
    assert "hash_match" in codes(body)
    assert (
        body["matches"][0]["category"] == "other" and body["matches"][0]["list_action"] == "block"
    )
    assert pdq not in str(body)
    with runtime.session() as s:
        check = s.exec(select(UploadCheck)).one()
        assert check.decision == "block" and check.matches[0]["list_action"] == "block"
        assert pdq not in str(check.matches)
        case = s.exec(select(Case)).one()
        assert case.source == "hash_match" and check.case_id == case.id
    (evidence,) = _evidence(runtime)
    assert evidence.details["action"] == "block"


def test_a_review_list_holds_when_the_category_holds_and_opens_one_case(
    checker, cli, runtime, tmp_path
):
    image = textured_png(22)
    (tmp_path / "partner.txt").write_text(_pdq(runtime, image) + "\n")
    assert (
        cli(
            "hashlist",
            "import",
            "partner",
            str(tmp_path / "partner.txt"),
            "--algorithm",
            "pdq",
            "--action",
            "review",
        ).exit_code
        == 0
    )
    _, body = checker(visibility="private", images=[("samples/a.png", image)])
    assert body["decision"] == "hold" and "hash_match" in codes(body)  # default: hold
    assert body["matches"][0]["list_action"] == "review"
    _, again = checker(visibility="private", images=[("samples/a.png", image)])
    assert again == body
    (evidence,) = _evidence(runtime)
    assert evidence.details["action"] == "hold"
    with runtime.session() as s:
        assert s.exec(select(Case)).one().source == "hash_match"


def test_a_review_list_lets_the_upload_through_and_opens_a_case_when_the_category_records(
    checker, client, operator, runtime, policy_with
):
    from hostguard.hashing.service import import_list

    policy_with(
        {
            "  default:\n    action: hold": "  spam:\n    action: record\n  default:\n    action: hold"
        }
    )
    image = textured_png(23)
    with runtime.session() as s:
        import_list(
            session=s,
            actor="test",
            name="spam-review",
            data=_pdq(runtime, image) + "\n",
            algorithm="pdq",
            category="spam",
            action="review",
        )
    checker(visibility="private")
    assert certify_all(client, operator, method="other").status_code == 201
    _, body = checker(visibility="private", images=[("samples/a.png", image)])
    assert body["decision"] == "allow", body
    assert "hash_match" not in codes(body)
    (evidence,) = _evidence(runtime)
    assert evidence.details["action"] == "record"
    assert evidence.details["matches"][0]["list_action"] == "review"


def test_the_policy_makes_a_review_list_stricter_for_csam(checker, runtime):
    from hostguard.hashing.service import import_list

    image, other = textured_png(24), textured_png(25)
    with runtime.session() as s:
        import_list(
            session=s,
            actor="test",
            name="csam-review",
            data=_pdq(runtime, image) + "\n",
            algorithm="pdq",
            category="csam",
            action="review",
        )
    _, body = checker(
        visibility="private", images=[("samples/a.png", image), ("samples/b.png", other)]
    )
    assert body["decision"] == "block"
    with runtime.session() as s:
        assert s.exec(select(Case)).one().category == "child_sexual_abuse"
        # what the policy blocked is not kept for retroactive matching; the other image is
        kept = {row.path for row in s.exec(select(SampleImageHash))}
    assert kept == {"samples/b.png"}


def test_every_list_action_is_known_and_unknown_or_missing_ones_are_safe():
    policy = load_policy()
    assert set(LIST_ACTION_FLOOR) == {a.value for a in ListAction}
    match = {"category": "other"}
    assert match_action({**match, "list_action": "block"}, policy) == MatchAction.BLOCK
    assert match_action({**match, "list_action": "review"}, policy) == MatchAction.HOLD
    assert (
        match_action({**match, "list_action": "quarantine"}, policy) == MatchAction.BLOCK
    )  # fail closed
    assert match_action(match, policy) == MatchAction.HOLD  # stored before matches carried it
    assert match_action({"category": "ncii", "list_action": "review"}, policy) == MatchAction.BLOCK


@pytest.fixture
def take_down(runtime, make_user):
    """take_down(repo_id) -> Case: a moderator takes the model down through the cases domain."""

    def run(repo_id: str) -> Case:
        moderator, _ = make_user("moderator")
        with runtime.session() as s:
            repo = s.exec(select(ModelRepo).where(ModelRepo.repo_id == repo_id)).one()
            case = open_case(
                policy=runtime.policy,
                session=s,
                repo=repo,
                source="notice",
                category="hate",
                actor="test",
                kind="notice",
                summary="A notice about this model.",
            )
            case_id = case.id
        with runtime.session() as s:
            claim_case(
                session=s,
                case_id=case_id,
                user=moderator,
                actor=moderator.actor,
                policy=runtime.policy,
            )
            decide(
                policy=runtime.policy,
                session=s,
                runtime=runtime,
                case_id=case_id,
                user=moderator,
                actor=moderator.actor,
                data=DecisionInput(
                    action="take_down",
                    ground="illegal_content",
                    ground_reference="StGB § 130",
                    category="hate",
                    explanation="The model's samples incite hatred.",
                ),
            )
        with runtime.session() as s:
            return s.get(Case, case_id)

    return run


def test_re_upload_of_a_taken_down_models_sample_image_is_blocked(checker, runtime, take_down):
    """The re-upload lists block, although the case's category (hate) only holds under the policy."""
    image = textured_png(25)
    _, first = checker(repo="alice/model", images=[("samples/a.png", image)])
    assert first["matches"] == []
    taken_down = take_down("alice/model")
    assert taken_down.status == "decided"

    _, body = checker(
        uploader="u-2",
        repo="mallory/copy",
        revision="c" * 40,
        visibility="private",
        images=[("samples/again.png", image)],
    )
    assert body["decision"] == "block", body
    assert "hash_match" in codes(body)
    assert REUPLOAD_LIST in {m["list"] for m in body["matches"]}
    assert {(m["category"], m["list_action"]) for m in body["matches"]} == {("hate", "block")}
    with runtime.session() as s:
        repo = s.exec(select(ModelRepo).where(ModelRepo.repo_id == "mallory/copy")).one()
        case = s.exec(select(Case).where(Case.repo_pk == repo.id)).one()
        assert case.source == "hash_match" and case.category == "hate"
