"""A live upload check names what matched: a sample video (by vPDQ or by its bytes) is a video in
the answer's reason, its match (`kind`), the stored check and the case; a sample image stays an
image; both at once are named both."""

from __future__ import annotations

import pytest
from sqlmodel import select

from hostguard.cases.models import Case
from hostguard.hashing.algorithms import ALGORITHMS
from hostguard.hashing.service import scan_images
from hostguard.hashing.video import format_vpdq, hash_video
from hostguard.uploads.check import sample_noun
from hostguard.web.api.examples import VIDEO_MATCH
from tests.hashing.images import encode, make_image
from tests.hashing.videos import encode as encode_video
from tests.hashing.videos import scene_frames
from tests.test_policy_rules import check
from tests.workflows.test_retroactive_matching import decision_of, import_list

REFERRED = "a hash list; the upload was referred to the moderation team."


@pytest.fixture(scope="module")
def clip() -> bytes:
    return encode_video(scene_frames(4, seed=41))


@pytest.fixture(scope="module")
def picture() -> bytes:
    return encode(make_image(43, (320, 240)), "PNG")


@pytest.fixture
def operator(api_headers):
    return api_headers("operator")


def list_picture(runtime, picture: bytes) -> None:
    with runtime.session() as session:
        scan = scan_images(session=session, runtime=runtime, images=[("x.png", picture)])[0]
    import_list(runtime, "pictures", scan.hashes["pdq"], "pdq")


def hash_match(answer: dict) -> str:
    [message] = [r["message"] for r in answer["reasons"] if r["code"] == "hash_match"]
    return message


def case_summary(runtime) -> str:
    with runtime.session() as session:
        return session.exec(select(Case)).one().summary


@pytest.mark.parametrize("algorithm", ["vpdq", "md5"])
def test_a_live_check_says_a_sample_video_matched(client, operator, runtime, clip, algorithm):
    """Matched by its vPDQ frames or by its MD5, a video is a video: in the answer, what a
    later read of the check gives (and the decision events carry), and the case's line."""
    if algorithm == "vpdq":
        listed = format_vpdq(hash_video(clip))
    else:
        listed = ALGORITHMS["md5"].hash_bytes(clip)
    import_list(runtime, "videos", listed, algorithm, entry_name="clip-5.txt")
    answer = check(client, operator, images=[("samples/clip.mp4", clip)])
    assert answer["decision"] == "block", answer
    assert [(m["list"], m["kind"]) for m in answer["matches"]] == [("videos", "video")]
    assert hash_match(answer) == f"A sample video matches {REFERRED}"
    read = decision_of(client, operator, answer["check_id"])
    assert hash_match(read) == hash_match(answer) and read["matches"] == answer["matches"]
    assert sorted(answer["matches"][0]) == sorted(VIDEO_MATCH)  # as the API document shows it
    assert case_summary(runtime).startswith("Sample videos of alice/model@rrrrrrrrrrrr match")


def test_a_live_check_says_a_sample_image_matched(client, operator, runtime, picture, clip):
    """A matched image stays an image, beside a video that matched nothing."""
    list_picture(runtime, picture)
    answer = check(
        client, operator, images=[("samples/one.png", picture), ("samples/clip.mp4", clip)]
    )
    assert [(m["path"], m["kind"]) for m in answer["matches"]] == [("samples/one.png", "image")]
    assert hash_match(answer) == f"A sample image matches {REFERRED}"
    assert case_summary(runtime).startswith("Sample images of alice/model@")


def test_a_live_check_names_both_when_an_image_and_a_video_matched(
    client, operator, runtime, picture, clip
):
    list_picture(runtime, picture)
    import_list(runtime, "videos", ALGORITHMS["md5"].hash_bytes(clip), "md5")
    answer = check(
        client, operator, images=[("samples/one.png", picture), ("samples/clip.mp4", clip)]
    )
    kinds = {m["path"]: m["kind"] for m in answer["matches"]}
    assert kinds == {"samples/one.png": "image", "samples/clip.mp4": "video"}
    assert hash_match(answer) == f"A sample image and a sample video match {REFERRED}"
    assert case_summary(runtime).startswith("Sample images and videos of alice/model@")


def test_a_match_stored_before_samples_had_a_kind_is_an_image():
    assert sample_noun([{"path": "samples/one.png", "list": "pictures"}]) == "image"
    assert sample_noun([{"path": "a.mp4", "kind": "video"}, {"path": "b.mp4"}]) == "image and video"
