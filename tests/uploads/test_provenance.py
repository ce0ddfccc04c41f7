"""Provenance evidence that can be trusted: C2PA only from the operator's trust anchors and
saying AI-generated; IPTC metadata graded as unsigned; every sample or any, by policy."""

from __future__ import annotations

import pytest

from hostguard.uploads.watermark import Evidence, check_watermark
from tests.uploads.provenance import (
    AI_URI,
    CAMERA_URI,
    c2pa_signed,
    make_authority,
    with_xmp_source_type,
)
from tests.uploads.test_check_api import certify_all, codes, textured_png


@pytest.fixture(scope="module")
def forger():
    return make_authority("Self-made Root")


@pytest.fixture(scope="module")
def operator_ca():
    return make_authority("Operator Trusted Root")


def test_self_made_ca_is_inconclusive_never_verified(forger, operator_ca):
    forged = c2pa_signed(textured_png(1), forger)
    for anchors in (None, operator_ca.root_pem):
        evidence = check_watermark("c2pa", [("f.png", forged)], trust_anchors=anchors)
        assert evidence.result == Evidence.INCONCLUSIVE
        assert "not verified" in evidence.images[0].detail


def test_signer_under_a_configured_anchor_asserting_ai_generation_is_verified(operator_ca):
    for source_type in (AI_URI, "trainedAlgorithmicMedia"):
        signed = c2pa_signed(textured_png(2), operator_ca, source_type=source_type)
        evidence = check_watermark("c2pa", [("t.png", signed)], trust_anchors=operator_ca.root_pem)
        assert evidence.result == Evidence.VERIFIED, evidence


def test_trusted_manifest_that_does_not_say_ai_generated_is_not_found(operator_ca):
    camera = c2pa_signed(textured_png(3), operator_ca, source_type=CAMERA_URI)
    evidence = check_watermark("c2pa", [("c.png", camera)], trust_anchors=operator_ca.root_pem)
    assert evidence.result == Evidence.NOT_FOUND


def test_every_sample_must_carry_the_mark_unless_the_policy_says_any(operator_ca):
    marked = ("m.png", c2pa_signed(textured_png(4), operator_ca))
    plain = ("p.png", textured_png(5))
    anchors = operator_ca.root_pem
    assert check_watermark("c2pa", [marked, plain], trust_anchors=anchors).result == (
        Evidence.NOT_FOUND
    )
    assert (
        check_watermark("c2pa", [marked, plain], trust_anchors=anchors, samples="any").result
        == Evidence.VERIFIED
    )
    assert check_watermark("c2pa", [marked, marked], trust_anchors=anchors).result == (
        Evidence.VERIFIED
    )


@pytest.mark.parametrize("attribute", [True, False], ids=["attribute", "element"])
def test_iptc_metadata_verifies_the_metadata_method_only(attribute):
    tagged = with_xmp_source_type(textured_png(6), attribute=attribute)
    assert check_watermark("iptc-metadata", [("x.png", tagged)]).result == Evidence.VERIFIED
    camera = with_xmp_source_type(textured_png(6), CAMERA_URI, attribute=attribute)
    assert check_watermark("iptc-metadata", [("x.png", camera)]).result == Evidence.NOT_FOUND
    # unsigned metadata never lifts a C2PA declaration to verified
    under_c2pa = check_watermark("c2pa", [("x.png", tagged)])
    assert under_c2pa.result == Evidence.INCONCLUSIVE
    assert "unsigned IPTC metadata" in under_c2pa.images[0].detail


def test_forged_c2pa_among_unmarked_samples_holds_the_upload(checker, client, operator, forger):
    """Issue 17, defect 1: one self-signed manifest made the whole upload verified and allowed."""
    checker(visibility="private")
    assert certify_all(client, operator, method="c2pa").status_code == 201
    images = [
        ("samples/forged.png", c2pa_signed(textured_png(7), forger)),
        ("samples/plain.png", textured_png(8)),
    ]
    _, body = checker(visibility="private", images=images)
    assert body["decision"] == "hold"
    assert body["watermark"]["result"] == "not_found"
    assert [i["result"] for i in body["watermark"]["images"]] == ["inconclusive", "not_found"]
    assert codes(body) == ["watermark_not_found"]


def test_forged_c2pa_alone_is_inconclusive(checker, client, operator, forger):
    checker(visibility="private")
    assert certify_all(client, operator, method="c2pa").status_code == 201
    images = [("samples/forged.png", c2pa_signed(textured_png(9), forger))]
    _, body = checker(visibility="private", images=images)
    assert body["watermark"]["result"] == "inconclusive"


def test_operator_trust_anchors_let_real_credentials_through(
    checker, client, operator, runtime, operator_ca, tmp_path
):
    anchors = tmp_path / "anchors.pem"
    anchors.write_text(operator_ca.root_pem)
    runtime.settings.c2pa_trust_anchors = anchors
    checker(visibility="private")
    assert certify_all(client, operator, method="c2pa").status_code == 201
    images = [
        ("samples/a.png", c2pa_signed(textured_png(10), operator_ca)),
        ("samples/b.png", c2pa_signed(textured_png(11), operator_ca)),
    ]
    _, body = checker(visibility="private", images=images)
    assert body["watermark"]["result"] == "verified"
    assert body["decision"] == "allow"
