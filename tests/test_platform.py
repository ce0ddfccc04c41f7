"""Uploaders and repositories are found or created once, even by concurrent requests."""

import threading

import pytest
from sqlmodel import select

from hostguard.errors import InvalidInput
from hostguard.platform.models import ModelRepo, Uploader
from hostguard.platform.service import get_or_create_repo, get_or_create_uploader, normalise_repo_id


@pytest.mark.parametrize("value,expected", [
    ("alice/pixels", "alice/pixels"),
    ("https://huggingface.co/alice/pixels", "alice/pixels"),
    ("https://huggingface.co/alice/pixels/tree/main?x=1", "alice/pixels"),
    ("https://hub.example/models/alice/pixels", "alice/pixels"),
])
def test_repo_ids_and_urls_are_normalised(value, expected):
    assert normalise_repo_id(value) == expected


@pytest.mark.parametrize("value", ["", "alice", "alice/", "../etc/passwd", "a/b c", "x" * 300 + "/y"])
def test_malformed_repo_ids_are_refused(value):
    with pytest.raises(InvalidInput, match="not a model id"):
        normalise_repo_id(value)


def test_concurrent_first_sightings_create_one_row(runtime):
    barrier = threading.Barrier(6)
    errors = []

    def work():
        try:
            barrier.wait()
            with runtime.session() as session:
                uploader = get_or_create_uploader(session, platform_id="u-race", username="racer")
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
