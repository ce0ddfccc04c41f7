"""Fixes from the review of the case workflow: reversals, role checks, validation, idempotency."""

from __future__ import annotations

from sqlmodel import select

from hostguard.cases.service import decide_appeal, file_appeal
from hostguard.hashing import service as hashing
from hostguard.hashing.models import REUPLOAD_LIST, HashEntry, HashList
from tests.hashing.images import encode, make_image


def _scan(db, runtime, image_bytes: bytes):
    db.commit()
    with runtime.session() as session:
        [scan] = hashing.scan_images(session=session, runtime=runtime, images=[("again.png", image_bytes)])
    return scan


def test_overturned_take_down_takes_the_images_off_the_reupload_list(db, runtime, notice, people, owned_repo,
                                                                      decided):
    mod, senior = people("moderator"), people("senior_moderator")
    repo, _ = owned_repo()
    sample = encode(make_image(31, (400, 300)), "PNG")
    scans = hashing.scan_images(session=db, runtime=runtime, images=[("sample.png", sample)])
    hashing.remember_sample_hashes(session=db, repo=repo, revision="r1", scans=scans, ref="check:1")
    db.commit()
    _, (case,) = notice()
    decided(case, mod)
    assert {m["list"] for m in _scan(db, runtime, sample).matches} == {REUPLOAD_LIST, f"{REUPLOAD_LIST}-sha256"}
    versions = {h.name: h.version for h in db.exec(select(HashList))}

    appeal = file_appeal(session=db, case_id=case.id, appellant="uploader", reason="Satire.", actor="x")
    decide_appeal(session=db, runtime=runtime, appeal_id=appeal.id, user=senior, actor=senior.actor,
                  outcome="overturned", explanation="Satire is allowed.")
    db.commit()

    assert _scan(db, runtime, sample).matches == []
    assert db.exec(select(HashEntry).where(HashEntry.ref == f"case:{case.id}")).all() == []
    for hash_list in db.exec(select(HashList)):  # other processes reload their index
        assert hash_list.version > versions[hash_list.name] and hash_list.entry_count == 0
