"""Uploaders and repositories are found or created once, even by concurrent requests."""

import threading

import pytest
from sqlmodel import select

from hostguard.errors import InvalidInput
from hostguard.platform.models import ModelRepo, Uploader
from hostguard.platform.service import (
    get_or_create_repo,
    get_or_create_uploader,
    get_or_create_uploader_and_repo,
    normalise_repo_id,
)


@pytest.mark.parametrize(
    "value,expected",
    [
        ("alice/pixels", "alice/pixels"),
        ("https://huggingface.co/alice/pixels", "alice/pixels"),
        ("https://huggingface.co/alice/pixels/tree/main?x=1", "alice/pixels"),
        ("https://hub.example/models/alice/pixels", "alice/pixels"),
    ],
)
def test_repo_ids_and_urls_are_normalised(value, expected):
    assert normalise_repo_id(value) == expected


@pytest.mark.parametrize(
    "value", ["", "alice", "alice/", "../etc/passwd", "a/b c", "x" * 300 + "/y"]
)
def test_malformed_repo_ids_are_refused(value):
    with pytest.raises(InvalidInput, match="not a model id"):
        normalise_repo_id(value)


@pytest.mark.parametrize("together", [False, True], ids=["one-by-one", "together"])
def test_concurrent_first_sightings_create_one_row(runtime, together):
    barrier = threading.Barrier(6)
    errors = []

    def work():
        try:
            barrier.wait()
            with runtime.session() as session:
                if together:
                    get_or_create_uploader_and_repo(
                        session, platform_id="u-race", username="racer", repo_id="racer/model"
                    )
                else:
                    uploader = get_or_create_uploader(
                        session, platform_id="u-race", username="racer"
                    )
                    get_or_create_repo(session, repo_id="racer/model", uploader=uploader)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with runtime.session() as session:
        assert len(session.exec(select(Uploader)).all()) == 1
        assert len(session.exec(select(ModelRepo)).all()) == 1


def test_uploader_and_repo_are_found_or_created_together_whichever_exists(db):
    # neither yet: both created, the repo owned by the uploader
    uploader, repo = get_or_create_uploader_and_repo(
        db, platform_id="u-1", username="ada", repo_id="https://huggingface.co/ada/first"
    )
    assert (uploader.platform_id, uploader.username, repo.repo_id, repo.repo_type) == (
        "u-1",
        "ada",
        "ada/first",
        "model",
    )
    assert repo.uploader_id == uploader.id
    # the uploader exists, the repo is new; a changed username is taken
    same, second = get_or_create_uploader_and_repo(
        db, platform_id="u-1", username="ada2", repo_id="ada/second"
    )
    assert same.id == uploader.id and same.username == "ada2" and second.uploader_id == uploader.id
    # the repo exists under another uploader, who is new: the repo keeps its owner
    other, first = get_or_create_uploader_and_repo(db, platform_id="u-2", repo_id="ada/first")
    assert other.id != uploader.id and first.id == repo.id and first.uploader_id == uploader.id
    # a dataset of the same name is another repository
    _, dataset = get_or_create_uploader_and_repo(
        db, platform_id="u-1", repo_id="ada/first", repo_type="dataset"
    )
    assert dataset.id != repo.id
    db.commit()
    assert len(db.exec(select(Uploader)).all()) == 2
    assert len(db.exec(select(ModelRepo)).all()) == 3
    # both exist: found, nothing new
    again, found = get_or_create_uploader_and_repo(db, platform_id="u-2", repo_id="ada/second")
    assert again.id == other.id and found.id == second.id


def test_uploader_and_repo_together_refuse_bad_ids(db):
    with pytest.raises(InvalidInput, match="uploader id is required"):
        get_or_create_uploader_and_repo(db, platform_id=" ", repo_id="ada/first")
    with pytest.raises(InvalidInput, match="not a model id"):
        get_or_create_uploader_and_repo(db, platform_id="u-1", repo_id="ada")
    assert db.exec(select(Uploader)).all() == []
