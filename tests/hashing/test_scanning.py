"""Scanning through the CLI, the API and the service; re-upload prevention; retroactive matching;
and no response, log line or audit record carrying list hashes or image bytes."""

from __future__ import annotations

import io
import json
import logging

from PIL import Image
from sqlmodel import select

import hostguard.registry  # noqa: F401  (registers the job handlers, as the worker does)
from hostguard.audit.models import AuditRecord
from hostguard.cases.models import Case
from hostguard.hashing import service
from hostguard.hashing.algorithms import ALGORITHMS
from hostguard.hashing.models import REUPLOAD_LIST, SampleImageHash
from hostguard.jobs.service import run_due
from hostguard.platform.service import get_or_create_repo, get_or_create_uploader
from hostguard.workflows.list_matching import rematch_list
from tests.hashing.images import encode, make_image

PDQ = ALGORITHMS["pdq"]
IMAGE_ALGORITHMS = {name for name, algorithm in ALGORITHMS.items() if not algorithm.video}


def listed(img: Image.Image) -> str:
    """What a list provider would put on its list: the plain PDQ hash of the original."""
    return PDQ.hash_image(img).hash


def import_pdq(runtime, name: str, hashes: list[str], **options) -> None:
    with runtime.session() as session:
        service.import_list(
            session=session,
            actor="test",
            name=name,
            data="\n".join(hashes),
            algorithm="pdq",
            **options,
        )


def test_scan_json_shape_and_exit_codes(cli, runtime, tmp_path):
    bad = make_image(1, (400, 300))
    import_pdq(runtime, "known", [listed(bad)], category="csam")
    folder = tmp_path / "imgs"
    folder.mkdir()
    (folder / "clean.jpg").write_bytes(encode(make_image(2, (400, 300)), "JPEG"))
    clean = cli("scan", "--json", str(folder / "clean.jpg"))
    assert clean.exit_code == 0
    assert json.loads(clean.output) == {
        "results": [
            {
                "path": str(folder / "clean.jpg"),
                "matched": False,
                "matches": [],
                "error": None,
                "low_quality": False,
            }
        ]
    }
    (folder / "mirrored.jpg").write_bytes(
        encode(bad.transpose(Image.Transpose.FLIP_LEFT_RIGHT), "JPEG")
    )
    hit = cli("scan", "--json", str(folder))
    assert hit.exit_code == 1
    results = {r["path"].rsplit("/", 1)[-1]: r for r in json.loads(hit.output)["results"]}
    match = results["mirrored.jpg"]["matches"][0]
    assert results["mirrored.jpg"]["matched"] is True
    assert set(match) == {"list", "algorithm", "distance", "threshold", "entry", "low_quality"}
    assert match["low_quality"] is False
    assert match["list"] == "known" and match["algorithm"] == "pdq" and match["threshold"] == 31
    assert 0 <= match["distance"] <= 31 and match["entry"].startswith("entry-")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    errored = cli("scan", "--json", str(folder / "broken.png"), str(folder / "clean.jpg"))
    assert errored.exit_code == 2
    first = json.loads(errored.output)["results"][0]
    assert first["error"].startswith("corrupt image data") and first["matched"] is False
    human = cli("scan", str(folder / "mirrored.jpg"))
    assert human.exit_code == 1 and "MATCH known (pdq distance" in human.output


def test_thresholds_default_and_per_list_override(runtime):
    original = make_image(3, (400, 300))
    edited = encode(original.resize((200, 150)).convert("L"), "JPEG", quality=40)
    import_pdq(runtime, "default", [listed(original)])
    import_pdq(runtime, "strict", [listed(original)], threshold=0)
    with runtime.session() as session:
        [scan] = service.scan_images(session=session, runtime=runtime, images=[("e.jpg", edited)])
    by_list = {m["list"]: m for m in scan.matches}
    assert "default" in by_list and by_list["default"]["threshold"] == 31
    assert by_list["default"]["distance"] > 0
    assert "strict" not in by_list


def test_scan_images_domain_function_shape(runtime):
    bad = make_image(4, (300, 300))
    import_pdq(runtime, "review-list", [listed(bad)], category="terrorism", action="review")
    flat = encode(Image.new("RGB", (200, 200), (10, 120, 30)), "PNG")
    with runtime.session() as session:
        scans = service.scan_images(
            session=session,
            runtime=runtime,
            images=[
                ("a/bad.png", encode(bad, "PNG")),
                ("a/flat.png", flat),
                ("a/empty.jpg", b""),
            ],
        )
    assert [s.path for s in scans] == ["a/bad.png", "a/flat.png", "a/empty.jpg"]
    match = scans[0].matches[0]
    assert (
        match["category"] == "terrorism" and match["action"] == "review" and match["distance"] == 0
    )
    assert set(scans[0].hashes) == IMAGE_ALGORITHMS and scans[0].quality >= 50
    assert scans[1].low_quality and scans[1].quality < 50 and scans[1].matches == []
    assert scans[2].error == "empty file"


def test_api_scan_needs_operator_scope_and_reports_per_file(client, api_headers, runtime):
    bad = make_image(5, (320, 240))
    secret = listed(bad)
    import_pdq(runtime, "api-list", [secret])
    data = {
        "images": [
            (io.BytesIO(encode(bad, "JPEG")), "one.jpg"),
            (io.BytesIO(b"<svg></svg>"), "two.svg"),
            (io.BytesIO(encode(make_image(6), "PNG")), "three.png"),
        ]
    }
    response = client.post(
        "/api/v1/scan",
        data=data,
        headers=api_headers("operator"),
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    results = response.get_json()["results"]
    assert [r["path"] for r in results] == ["one.jpg", "two.svg", "three.png"]
    assert results[0]["matched"] and results[0]["matches"][0]["list"] == "api-list"
    assert "SVG" in results[1]["error"] and not results[2]["matched"]
    assert secret not in response.get_data(as_text=True)
    denied = client.post(
        "/api/v1/scan",
        data={"images": [(io.BytesIO(b"x"), "x.jpg")]},
        headers=api_headers("trusted_flagger"),
        content_type="multipart/form-data",
    )
    assert denied.status_code == 403
    assert client.post("/api/v1/scan").status_code == 401
    lists = client.get("/api/v1/hashlists", headers=api_headers("operator")).get_json()["lists"]
    assert [row["name"] for row in lists] == ["api-list"] and secret not in json.dumps(lists)


def test_console_page_shows_lists_without_hashes(client, login, runtime):
    secret = listed(make_image(7))
    import_pdq(runtime, "console-list", [secret], source="partner feed")
    login(client, "moderator")
    page = client.get("/console/hashlists").get_data(as_text=True)
    assert "console-list" in page and "partner feed" in page and secret not in page


def make_repo(session, name: str):
    uploader = get_or_create_uploader(session, platform_id=f"u-{name}", username=name)
    return get_or_create_repo(session, repo_id=f"{name}/model", uploader=uploader)


def test_take_down_puts_sample_hashes_on_the_reupload_list(runtime):
    sample = make_image(8, (400, 300))
    with runtime.session() as session:
        repo = make_repo(session, "first")
        scans = service.scan_images(
            session=session, runtime=runtime, images=[("s.png", encode(sample, "PNG"))]
        )
        service.remember_sample_hashes(
            session=session, repo=repo, revision="abc", scans=scans, ref="check:1"
        )
        case = Case(repo_pk=repo.id, category="csam", source="notice")
        session.add(case)
        session.flush()
        added = service.add_to_reupload_list(
            session=session, repo=repo, actor="user:1", case_id=case.id, category=case.category
        )
    assert added == 2  # the PDQ hash and the SHA-256 digest
    reupload = encode(
        sample.transpose(Image.Transpose.ROTATE_90).resize((300, 400)), "JPEG", quality=80
    )
    with runtime.session() as session:
        [scan] = service.scan_images(
            session=session, runtime=runtime, images=[("again.jpg", reupload)]
        )
        info = service.describe(service.get_list(session=session, name=REUPLOAD_LIST))
    assert scan.matches[0]["list"] == REUPLOAD_LIST
    assert scan.matches[0]["category"] == "csam" and scan.matches[0]["action"] == "block"
    assert scan.matches[0]["entry"] == f"case:{case.id}"
    assert info["internal"] and info["entries"] == 1


def test_kept_hashes_are_rematched_when_a_list_arrives_and_open_one_case(runtime):
    image = make_image(9, (400, 300))
    with runtime.session() as session:
        repo = make_repo(session, "past")
        scans = service.scan_images(
            session=session,
            runtime=runtime,
            images=[
                ("cover.jpg", encode(image, "JPEG")),
                ("other.jpg", encode(make_image(10), "JPEG")),
            ],
        )
        service.remember_sample_hashes(
            session=session, repo=repo, revision="r1", scans=scans, ref="check:9"
        )
        kept = session.exec(select(SampleImageHash)).all()
    assert {k.algorithm for k in kept} == IMAGE_ALGORITHMS and len(kept) == 2 * len(
        IMAGE_ALGORITHMS
    )
    import_pdq(runtime, "new-list", [listed(image)], category="csam")
    run_due(runtime.engine, runtime=runtime)
    with runtime.session() as session:
        cases = session.exec(select(Case)).all()
    assert (
        len(cases) == 1 and cases[0].source == "retroactive_match" and cases[0].repo_pk == repo.id
    )
    # a second import of the same list version opens nothing new
    import_pdq(runtime, "new-list", [listed(image), listed(make_image(11))])
    run_due(runtime.engine, runtime=runtime)
    with runtime.session() as session:
        assert len(session.exec(select(Case)).all()) == 1


def test_raising_a_lists_threshold_rematches_past_uploads(runtime):
    image = make_image(14, (400, 300))
    with runtime.session() as session:
        repo = make_repo(session, "widened")
        scans = service.scan_images(
            session=session, runtime=runtime, images=[("s.png", encode(image, "PNG"))]
        )
        service.remember_sample_hashes(
            session=session, repo=repo, revision="r1", scans=scans, ref="check:w"
        )
        kept = session.exec(select(SampleImageHash).where(SampleImageHash.algorithm == "pdq")).one()
    twenty_bits_away = f"{int(kept.hash, 16) ^ ((1 << 20) - 1):064x}"
    import_pdq(runtime, "widened", [twenty_bits_away], threshold=10)
    run_due(runtime.engine, runtime=runtime)
    with runtime.session() as session:
        assert session.exec(select(Case)).all() == []
    import_pdq(
        runtime, "widened", [twenty_bits_away], threshold=31
    )  # no new entry, only the threshold
    run_due(runtime.engine, runtime=runtime)
    with runtime.session() as session:
        cases = session.exec(select(Case)).all()
    assert len(cases) == 1 and cases[0].source == "retroactive_match"
    import_pdq(runtime, "widened", [twenty_bits_away], threshold=10)  # narrowing finds nothing new
    import_pdq(runtime, "widened", [twenty_bits_away], threshold=31)
    run_due(runtime.engine, runtime=runtime)
    with runtime.session() as session:
        assert len(session.exec(select(Case)).all()) == 1


def test_blank_kept_hashes_are_not_rematched(runtime):
    """A blank image's PDQ hash (quality 0: all rounding) is never matched, live or in a
    re-match; flat images of quality 1-49 are (tests/workflows/test_retroactive_matching.py)."""
    flat = encode(Image.new("RGB", (200, 200), (10, 120, 30)), "PNG")
    with runtime.session() as session:
        repo = make_repo(session, "flat")
        scans = service.scan_images(session=session, runtime=runtime, images=[("flat.png", flat)])
        assert scans[0].low_quality
        service.remember_sample_hashes(
            session=session, repo=repo, revision="r1", scans=scans, ref="check:f"
        )
        kept = session.exec(select(SampleImageHash).where(SampleImageHash.algorithm == "pdq")).one()
    assert kept.quality == 0
    near = kept.hash[:-2] + f"{int(kept.hash[-2:], 16) ^ 0xFF:02x}"  # 8 bits away, well within 31
    import_pdq(runtime, "near-flat", [near], category="csam")
    with runtime.session() as session:
        assert (
            service.scan_images(session=session, runtime=runtime, images=[("again.png", flat)])[
                0
            ].matches
            == []
        )
    run_due(runtime.engine, runtime=runtime)
    with runtime.session() as session:
        hash_list = session.exec(
            select(service.HashList).where(service.HashList.name == "near-flat")
        ).one()
        assert rematch_list(session=session, list_id=hash_list.id, policy=runtime.policy) == 0
        assert session.exec(select(Case)).all() == []


def test_no_log_line_response_or_audit_record_holds_list_hashes_or_image_bytes(
    cli, runtime, tmp_path, caplog
):
    caplog.set_level(logging.DEBUG)
    image = make_image(12, (300, 300))
    secrets = [listed(image), listed(make_image(13))]
    path = tmp_path / "list.txt"
    path.write_text("\n".join([*secrets, "bad-line-" + secrets[0][:20]]))
    outputs = [cli("hashlist", "import", "leak", str(path), "-a", "pdq").output]
    outputs.append(cli("hashlist", "list").output)
    outputs.append(cli("hashlist", "show", "leak").output)
    picture = tmp_path / "p.png"
    picture.write_bytes(encode(image, "PNG"))
    outputs.append(cli("scan", "--json", str(picture)).output)
    outputs.append(cli("scan", str(picture)).output)
    with runtime.session() as session:
        audit = json.dumps([r.details for r in session.exec(select(AuditRecord)).all()])
    everything = "\n".join([*outputs, caplog.text, audit])
    for secret in secrets:
        assert secret not in everything
        assert secret[:20] not in everything
    raw = picture.read_bytes()
    assert raw[16:48].hex() not in everything
