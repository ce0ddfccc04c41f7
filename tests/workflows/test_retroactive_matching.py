"""Re-matching the past as live checks match: a flat image's low-quality PDQ hash at the
stricter threshold (a case for review, never a quarantine; the check held with a live check's
reason until a moderator decides), and sample videos by vPDQ and by their exact hashes, when a
list gains entries after the upload was allowed; a video match (live or found later) marked
wrong stops its listed entry matching."""

from __future__ import annotations

import pytest
from sqlmodel import select

from hostguard.audit.models import AuditRecord
from hostguard.cases.models import Case, CaseEvidence
from hostguard.hashing import service
from hostguard.hashing.algorithms import ALGORITHMS
from hostguard.hashing.models import HashEntry, HashList, SampleImageHash, SampleVideoFrames
from hostguard.hashing.video import format_vpdq, hash_video, unpack_frames
from hostguard.jobs.models import Job
from hostguard.jobs.service import run_due
from hostguard.platform.models import ModelRepo
from hostguard.platform.service import get_or_create_repo, get_or_create_uploader
from hostguard.workflows.list_matching import rematch_list
from tests.hashing.images import encode
from tests.hashing.videos import encode as encode_video
from tests.hashing.videos import scene_frames
from tests.test_policy_rules import (
    TRAINING_DATA,
    certify,
    check,
    codes,
    private_and_certified,
)
from tests.uploads.test_check_low_quality import flat_image

PDQ = ALGORITHMS["pdq"]


def flipped(value: str, bits: int) -> str:
    """`value` with its lowest `bits` bits flipped: exactly `bits` away."""
    return f"{int(value, 16) ^ ((1 << bits) - 1):064x}"


def import_list(runtime, name: str, data: str, algorithm: str, **options) -> None:
    with runtime.session() as session:
        service.import_list(
            session=session, actor="test", name=name, data=data, algorithm=algorithm, **options
        )


def retroactive_cases(runtime) -> list[tuple[Case, list[CaseEvidence]]]:
    with runtime.session() as session:
        cases = session.exec(select(Case).where(Case.source == "retroactive_match")).all()
        return [
            (
                case,
                session.exec(
                    select(CaseEvidence).where(
                        CaseEvidence.case_id == case.id, CaseEvidence.kind == "hash_match"
                    )
                ).all(),
            )
            for case in cases
        ]


@pytest.fixture
def operator(api_headers):
    return api_headers("operator")


def platform_actions(runtime) -> list[str]:
    with runtime.session() as session:
        jobs = session.exec(select(Job).where(Job.kind == "platform.action")).all()
        return [job.payload["kind"] for job in jobs]


def decision_of(client, operator, check_id: str) -> dict:
    return client.get(f"/api/v1/uploads/checks/{check_id}", headers=operator).get_json()


# --- flat images ---------------------------------------------------------------------------------


def test_a_past_flat_sample_a_list_gains_is_a_case_for_review_never_a_quarantine(
    client, operator, runtime, late_receiver
):
    """The listed hash of a flat image (quality below 50) comes to an allowed sample within the
    stricter 16 bits: a case saying so, the check held with the live check's reason
    `hash_match_low_quality` (in its answer and in `upload.decision_changed`), no quarantine
    though the category's rule says `retroactive: quarantine`. One 24 bits away (within the
    usual 31) opens nothing."""
    late_receiver.start()
    image = flat_image(5)
    listed = PDQ.hash_image(image)
    assert 0 < listed.quality < 50
    private_and_certified(client, operator)
    flat = ("samples/flat.png", encode(image, "PNG"))
    allowed = check(client, operator, visibility="private", images=[flat])
    assert allowed["decision"] == "allow", allowed
    import_list(runtime, "far-flat", flipped(listed.hash, 24), "pdq", category="csam")
    run_due(runtime.engine, runtime=runtime)
    assert retroactive_cases(runtime) == []

    import_list(runtime, "flat-csam", listed.hash, "pdq", category="csam")
    run_due(runtime.engine, runtime=runtime)
    [(case, [evidence])] = retroactive_cases(runtime)
    details = evidence.details
    assert (details["list"], details["low_quality"], details["threshold"]) == (
        "flat-csam",
        True,
        16,
    )
    assert details["distance"] <= 16 and details["path"] == "samples/flat.png"
    assert "low-quality PDQ hash" in case.summary and listed.hash not in str(details)
    with runtime.session() as session:
        assert session.exec(select(ModelRepo)).one().status == "active"
    assert platform_actions(runtime) == []
    read = decision_of(client, operator, allowed["check_id"])
    assert read["decision"] == "hold"  # for review: not a block
    assert codes(read) == ["hash_match_low_quality", "retroactive_match"]
    assert "sample image" in read["reasons"][1]["message"]
    changed = late_receiver.received[-1]["data"]
    assert (changed["check_id"], changed["decision"], changed["measure"]) == (
        allowed["check_id"],
        "hold",
        None,
    )
    assert changed["reasons"] == read["reasons"]
    # the uploader's next finished step re-decides their held checks: not this one
    assert certify(client, operator, TRAINING_DATA).status_code == 201
    run_due(runtime.engine, runtime=runtime)
    assert decision_of(client, operator, allowed["check_id"]) == read

    import_list(runtime, "flat-csam", flipped(listed.hash, 2), "pdq")  # a second entry, nearby
    run_due(runtime.engine, runtime=runtime)
    assert len(retroactive_cases(runtime)[0][1]) == 2  # one more hit, none repeated

    live = check(client, operator, visibility="private", revision="b" * 40, images=[flat])
    assert codes(live) == ["hash_match_low_quality"]  # a live check's reason, in its words
    assert read["reasons"][0] == live["reasons"][0]


def make_repo(session, name: str):
    uploader = get_or_create_uploader(session, platform_id=f"u-{name}", username=name)
    return get_or_create_repo(session, repo_id=f"{name}/model", uploader=uploader)


@pytest.mark.parametrize("strict", [16, 0], ids=["shipped", "off"])
def test_a_flat_sample_kept_before_its_flat_hashes_were_is_matched_by_its_primary_hash(
    runtime, strict
):
    """Rows kept before `low_quality_variants` existed have only their primary hash for it;
    `matching.low_quality_pdq_threshold: 0` matches no flat hash, as in live scans."""
    listed = PDQ.hash_image(flat_image(5))
    assert 0 < listed.quality < 50
    with runtime.session() as session:
        repo = make_repo(session, "old")
        session.add(
            SampleImageHash(
                repo_pk=repo.id,
                path="samples/old.png",
                ref="check:old",
                algorithm="pdq",
                hash=flipped(listed.hash, 5),
                variants=[],
                quality=listed.quality,
            )
        )
    import_list(runtime, "flat", listed.hash, "pdq", category="csam")
    with runtime.session() as session:
        hash_list = session.exec(select(HashList).where(HashList.name == "flat")).one()
        policy = runtime.policy.model_copy(
            update={
                "matching": runtime.policy.matching.model_copy(
                    update={"low_quality_pdq_threshold": strict}
                )
            }
        )
        found = service.new_retroactive_matches(session=session, hash_list=hash_list, policy=policy)
        assert [(m.distance, m.threshold, m.low_quality) for m in found] == (
            [(5, 16, True)] if strict else []
        )
        assert rematch_list(session=session, list_id=hash_list.id, policy=policy) == len(found)


# --- sample videos -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def videos() -> dict[str, bytes]:
    pictures = scene_frames(6, seed=31)
    return {
        "uploaded.mp4": encode_video(pictures),
        "reencoded.mp4": encode_video(pictures, crf=38, fps=6),
        "other.mp4": encode_video(scene_frames(6, seed=32)),
    }


def test_a_past_sample_video_is_rematched_when_a_video_list_gains_its_reencoded_copy(
    client, operator, runtime, videos
):
    """An allowed check's sample video keeps its vPDQ frames (hashes only); a vPDQ list that
    later gains the re-encoded copy opens a case in one re-match and quarantines (the shipped
    rule for csam), as for images; an unrelated listed video opens nothing."""
    private_and_certified(client, operator)
    allowed = check(
        client,
        operator,
        visibility="private",
        images=[("samples/clip.mp4", videos["uploaded.mp4"])],
    )
    assert allowed["decision"] == "allow", allowed
    frames = hash_video(videos["uploaded.mp4"])
    with runtime.session() as session:
        kept = session.exec(
            select(SampleImageHash).where(SampleImageHash.algorithm == "vpdq")
        ).one()
        stored = session.exec(select(SampleVideoFrames)).one()
    assert stored.sample_id == kept.id and stored.frame_count == len(frames)
    assert unpack_frames(stored.frames) == [(f.quality, f.hash) for f in frames]
    assert kept.path == "samples/clip.mp4" and kept.ref == f"check:{allowed['check_id']}"

    other = format_vpdq(hash_video(videos["other.mp4"]))
    import_list(runtime, "videos", other, "vpdq", category="csam", entry_name="other.txt")
    run_due(runtime.engine, runtime=runtime)
    assert retroactive_cases(runtime) == []

    copy = format_vpdq(hash_video(videos["reencoded.mp4"]))
    import_list(runtime, "videos", copy, "vpdq", entry_name="clip-17.txt")
    run_due(runtime.engine, runtime=runtime)
    [(case, [evidence])] = retroactive_cases(runtime)
    details = evidence.details
    assert (details["list"], details["algorithm"], details["entry"]) == (
        "videos",
        "vpdq",
        "clip-17.txt",
    )
    assert details["distance"] <= details["threshold"] == 20 and not details["low_quality"]
    assert evidence.ref == f"sample:{kept.id}" and "sample video" in case.summary
    with runtime.session() as session:
        assert session.exec(select(ModelRepo)).one().status == "quarantined"
    assert platform_actions(runtime) == ["quarantine"]
    read = decision_of(client, operator, allowed["check_id"])
    assert read["decision"] == "block" and codes(read) == ["hash_match", "retroactive_match"]
    assert all(
        "A sample video" in r["message"] and "image" not in r["message"] for r in read["reasons"]
    )

    with runtime.session() as session:  # run again: nothing new
        hash_list = session.exec(select(HashList).where(HashList.name == "videos")).one()
        assert rematch_list(session=session, list_id=hash_list.id, policy=runtime.policy) == 0


def test_a_past_sample_video_is_rematched_by_its_exact_hashes(client, operator, runtime, videos):
    """A video's MD5 and SHA-256 are kept like an image's: an `md5` list that later gains the
    file's digest opens a case (category `other`: a case, no quarantine)."""
    private_and_certified(client, operator)
    allowed = check(
        client,
        operator,
        visibility="private",
        images=[("samples/clip.mp4", videos["uploaded.mp4"])],
    )
    assert allowed["decision"] == "allow", allowed
    md5 = ALGORITHMS["md5"].hash_bytes(videos["uploaded.mp4"])
    import_list(runtime, "exact", md5, "md5")
    run_due(runtime.engine, runtime=runtime)
    [(case, [evidence])] = retroactive_cases(runtime)
    assert (evidence.details["list"], evidence.details["distance"]) == ("exact", 0)
    assert "sample video (samples/clip.mp4)" in case.summary
    assert platform_actions(runtime) == []
    read = decision_of(client, operator, allowed["check_id"])
    assert codes(read) == ["hash_match", "retroactive_match"]
    assert all("A sample video" in r["message"] for r in read["reasons"])  # its digest matched


# --- a video match marked wrong ------------------------------------------------------------------


def mark_wrong(client, moderator, case_id: int) -> dict:
    response = client.post(
        f"/api/v1/cases/{case_id}/wrong-match",
        json={"reason": "a trailer, not the listed video"},
        headers=moderator,
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def entry_states(runtime) -> list[str]:
    with runtime.session() as session:
        return [e.state for e in session.exec(select(HashEntry)).all()]


@pytest.mark.parametrize("when", ["live", "retroactive"])
def test_a_video_match_marked_wrong_stops_the_listed_entry_matching(
    client, operator, runtime, videos, api_headers, when
):
    """A sample video's own hashes are not the listed entry's: the case names the entry that
    matched (by id, never its hash), marking the match wrong suppresses it (audited), and the
    same video checked again is not matched by that list."""
    listed = format_vpdq(hash_video(videos["reencoded.mp4"]))
    clip = ("samples/clip.mp4", videos["uploaded.mp4"])
    private_and_certified(client, operator)
    if when == "live":
        import_list(runtime, "videos", listed, "vpdq", entry_name="clip-17.txt")
        answer = check(client, operator, visibility="private", images=[clip])
        assert [m["list"] for m in answer["matches"]] == ["videos"], answer
        assert answer["decision"] == "block" and "entry_id" not in str(answer)
    else:
        answer = check(client, operator, visibility="private", images=[clip])
        assert answer["decision"] == "allow", answer
        import_list(runtime, "videos", listed, "vpdq", entry_name="clip-17.txt")
        run_due(runtime.engine, runtime=runtime)
    with runtime.session() as session:
        case = session.exec(select(Case)).one()
        evidence = session.exec(select(CaseEvidence).where(CaseEvidence.kind == "hash_match")).one()
        entry = session.exec(select(HashEntry)).one()
    moderator = api_headers("moderator")
    done = mark_wrong(client, moderator, case.id)
    assert (done["lists"], done["suppressed"], done["feedback_queued"]) == (["videos"], 1, 0)
    assert entry_states(runtime) == ["suppressed"]
    with runtime.session() as session:
        audit = session.exec(
            select(AuditRecord).where(AuditRecord.action == "hashlist.suppress")
        ).all()
    assert audit and all(a.subject == "hashlist:videos" for a in audit)

    again = check(client, operator, visibility="private", revision="c" * 40, images=[clip])
    assert again["matches"] == [] and again["decision"] == "allow", again

    # the case named the entry by its id; what a moderator reads shows no list hash
    named = evidence.details.get("entries") or [evidence.details]
    assert [(e["list"], e["entry_id"]) for e in named] == [("videos", entry.id)]
    shown = client.get(f"/api/v1/cases/{case.id}", headers=moderator).get_data(as_text=True)
    assert entry.hash not in shown and listed.split(",")[2] not in shown
