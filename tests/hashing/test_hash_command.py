"""`hostguard hash`: one JSON line per image and algorithm, errors per file, exit codes."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
from click.testing import CliRunner

from hostguard.cli import main
from tests.hashing.images import encode, make_image

HEX_LENGTH = {"pdq": 64, "phash": 16, "dhash": 16, "ahash": 16, "md5": 32, "sha1": 40, "sha256": 64}


def run_hash(*args: str):
    """No database is needed: `hash` only reads files."""
    result = CliRunner().invoke(main, ["hash", *args], catch_exceptions=False)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    return result, lines


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "imgs"
    (root / "sub").mkdir(parents=True)
    (root / "a.png").write_bytes(encode(make_image(1), "PNG"))
    (root / "sub" / "b.jpg").write_bytes(encode(make_image(2), "JPEG"))
    (root / "sub" / "same-as-a.png").write_bytes((root / "a.png").read_bytes())
    return root


def test_default_is_pdq_with_quality(folder):
    result, lines = run_hash(str(folder / "a.png"))
    assert result.exit_code == 0, result.output
    assert lines == [
        {
            "path": str(folder / "a.png"),
            "algorithm": "pdq",
            "hash": lines[0]["hash"],
            "quality": lines[0]["quality"],
        }
    ]
    assert re.fullmatch(r"[0-9a-f]{64}", lines[0]["hash"])
    assert isinstance(lines[0]["quality"], int) and 50 <= lines[0]["quality"] <= 100


def test_repeated_algorithm_folders_walked_and_quality_for_pdq_only(folder):
    result, lines = run_hash(
        "-a", "pdq", "-a", "phash", "--algorithm", "md5", "-a", "sha256", str(folder)
    )
    assert result.exit_code == 0, result.output
    files = [
        str(folder / "a.png"),
        str(folder / "sub" / "b.jpg"),
        str(folder / "sub" / "same-as-a.png"),
    ]
    assert [(line["path"], line["algorithm"]) for line in lines] == [
        (path, name) for path in files for name in ("pdq", "phash", "md5", "sha256")
    ]
    for line in lines:
        expected_keys = {"path", "algorithm", "hash"} | (
            {"quality"} if line["algorithm"] == "pdq" else set()
        )
        assert set(line) == expected_keys
        assert re.fullmatch(f"[0-9a-f]{{{HEX_LENGTH[line['algorithm']]}}}", line["hash"])
    by = {(line["path"], line["algorithm"]): line["hash"] for line in lines}
    raw = (folder / "sub" / "b.jpg").read_bytes()
    assert by[(files[1], "md5")] == hashlib.md5(raw).hexdigest()
    assert by[(files[1], "sha256")] == hashlib.sha256(raw).hexdigest()
    for name in ("pdq", "phash", "md5", "sha256"):
        assert by[(files[0], name)] == by[(files[2], name)]  # same bytes, same hashes
        assert by[(files[0], name)] != by[(files[1], name)]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_bad_file_gets_an_error_object_and_exit_2_while_the_rest_is_hashed(folder, workers):
    (folder / "broken.jpg").write_bytes(b"this is not a picture")
    (folder / "empty.png").write_bytes(b"")
    missing = str(folder / "missing.png")
    result, lines = run_hash("--workers", workers, "-a", "pdq", "-a", "dhash", str(folder), missing)
    assert result.exit_code == 2
    errors = {line["path"].rsplit("/", 1)[-1]: line for line in lines if "error" in line}
    assert set(errors) == {"broken.jpg", "empty.png", "missing.png"}
    for line in errors.values():
        assert set(line) == {"path", "error"} and line["error"]
    assert errors["empty.png"]["error"] == "empty file"
    hashed = [line for line in lines if "hash" in line]
    assert len(hashed) == 3 * 2  # the three readable images, two algorithms each
    assert "Traceback" not in result.output


def test_only_readable_images_exit_0(folder):
    result, _ = run_hash(str(folder / "a.png"), str(folder / "sub"))
    assert result.exit_code == 0
