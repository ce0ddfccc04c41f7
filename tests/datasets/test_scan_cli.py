"""`hostguard dataset scan`: every source kind, listed images found at their row or key,
unreadable images counted and named, exit codes, and the signed attestation."""

from __future__ import annotations

import json

from tests.datasets import builders


def found(result: dict) -> set[tuple]:
    return {(m["source"], m["row"], m["key"]) for m in result["matches"]}


def test_listed_images_found_at_their_row_and_key_in_every_source_kind(cli, listed, tmp_path):
    result = cli("dataset", "scan", "--json", "--workers", "1", *listed.sources)
    assert result.exit_code == 1, result.output
    summary = json.loads(result.stdout)
    assert summary["images"] == listed.images == 1000
    assert found(summary) == listed.listed
    for match in summary["matches"]:
        assert set(match) == {"source", "row", "key", "list", "algorithm", "distance"}
        assert (match["list"], match["algorithm"]) == ("known-csam", "pdq")
        assert 0 <= match["distance"] <= 8  # the provider hashed the RGB original
    # one unreadable image per shard, counted and named; the scan went on past each
    assert summary["unreadable"] == len(listed.unreadable) == 5
    named = {(u["source"], u["row"], u["key"]) for u in summary["unreadable_images"]}
    assert named == listed.unreadable
    assert all(u["error"] for u in summary["unreadable_images"])
    claims = summary["attestation"]["attestation"]
    assert claims["counts"] == {"images": 1000, "unreadable": 5, "matched": 5, "errors": 0}
    assert claims["clean"] is False
    assert claims["lists"] == [
        {"name": "known-csam", "algorithm": "pdq", "version": 1, "threshold": 31}
    ]
    assert {"md5", "sha256", "pdq"} <= set(claims["algorithms"])
    assert claims["dataset"]["shards"] == 5  # two parquet, two tar, the folder of 100 images


def test_text_output_names_matches_and_unreadable_images(cli, listed):
    result = cli("dataset", "scan", "--workers", "1", listed.sources[0])
    assert result.exit_code == 1
    assert f"{listed.sources[0]} row 17 key img_17.png: MATCH known-csam (pdq distance" in (
        result.stdout
    )
    assert f"{listed.sources[0]} row 101 key img_101.png: UNREADABLE" in result.stdout
    assert "300 images, 1 unreadable, 2 matches" in result.stdout


def test_exit_codes_clean_unreadable_and_missing_source(cli, runtime, tmp_path):
    built = builders.Built()
    builders.parquet_binary(
        tmp_path / "clean.parquet", built, base=5, rows=20, listed={}, bad_row=None
    )
    clean = cli("dataset", "scan", "--json", "--workers", "1", built.sources[0])
    assert clean.exit_code == 0, clean.output
    assert json.loads(clean.stdout)["attestation"]["attestation"]["clean"] is True
    builders.parquet_binary(tmp_path / "bad.parquet", built, base=5, rows=20, listed={}, bad_row=3)
    unreadable = cli("dataset", "scan", "--json", "--workers", "1", built.sources[1])
    assert unreadable.exit_code == 2  # as `hostguard scan`: something could not be scanned
    assert json.loads(unreadable.stdout)["unreadable"] == 1
    missing = cli("dataset", "scan", str(tmp_path / "nowhere.parquet"))
    assert missing.exit_code == 2
    assert "no such file or folder" in missing.stderr
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 this is not parquet")
    broken = cli("dataset", "scan", "--json", "--workers", "1", str(tmp_path / "broken.parquet"))
    assert broken.exit_code == 2
    assert "not a readable parquet file" in json.loads(broken.stdout)["errors"][0]["error"]


def test_attestation_verifies_offline_and_fails_when_a_byte_changes(cli, listed, tmp_path):
    result = cli("dataset", "scan", "--json", "--workers", "1", listed.sources[2])
    signed = json.loads(result.stdout)["attestation"]
    path = tmp_path / "attestation.json"
    path.write_text(json.dumps(signed))
    ok = cli("certification", "verify", str(path))
    assert ok.exit_code == 0, ok.output
    assert "valid dataset scan attestation" in ok.stdout
    # the whole --json result verifies too, and so does a dataset card embedding it
    whole = tmp_path / "result.json"
    whole.write_text(result.stdout)
    assert cli("certification", "verify", str(whole)).exit_code == 0
    from hostguard.datasets.attestation import dataset_card_metadata

    card = tmp_path / "README.md"
    card.write_text(f"---\n{dataset_card_metadata(signed)}---\n# A dataset\n")
    assert cli("certification", "verify", str(card)).exit_code == 0
    tampered = tmp_path / "tampered.json"
    claims = signed["attestation"]
    tampered.write_text(
        json.dumps(
            {
                **signed,
                "attestation": {
                    **claims,
                    "counts": {**claims["counts"], "images": claims["counts"]["images"] + 1},
                },
            }
        )
    )
    bad = cli("certification", "verify", str(tampered))
    assert bad.exit_code == 1
    assert "does not verify" in bad.stderr
    # any one changed character of what is signed, of the signature or of the key fails
    text = path.read_text()
    for needle in ('"scanned_at": "2', '"signature": "', '"key_id": "', '"shards_sha256": "'):
        at = text.index(needle) + len(needle)
        flipped = text[:at] + ("A" if text[at] != "A" else "B") + text[at + 1 :]
        tampered.write_text(flipped)
        assert cli("certification", "verify", str(tampered)).exit_code == 1, needle


def test_exact_lists_match_images_that_do_not_decode(cli, runtime, tmp_path):
    """As for sample images: an undecodable file is still matched by its MD5/SHA-256."""
    import hashlib

    from hostguard.hashing import service as hashing

    built = builders.Built()
    builders.parquet_binary(tmp_path / "x.parquet", built, base=9, rows=20, listed={}, bad_row=4)
    with runtime.session() as session:
        hashing.import_list(
            session=session,
            actor="test",
            name="exact",
            algorithm="md5",
            data=hashlib.md5(builders.UNREADABLE, usedforsecurity=False).hexdigest(),
        )
    result = cli("dataset", "scan", "--json", "--workers", "1", built.sources[0])
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert summary["matches"] == [
        {
            "source": built.sources[0],
            "row": 4,
            "key": None,
            "list": "exact",
            "algorithm": "md5",
            "distance": 0,
        }
    ]
    assert summary["unreadable"] == 1
    assert set(summary["attestation"]["attestation"]["algorithms"]) == {"md5", "sha256", "pdq"}
