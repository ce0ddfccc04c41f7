"""Every list format, format detection, per-line validation with line numbers and reasons."""

from __future__ import annotations

import pytest

from hostguard.errors import InvalidInput
from hostguard.hashing.algorithms import ALGORITHMS
from hostguard.hashing.listfiles import ListFormat, detect_format, parse_list_file

PDQ = ALGORITHMS["pdq"]
MD5 = ALGORITHMS["md5"]
H1 = "f" * 60 + "1234"
H2 = "0123456789abcdef" * 4
SHORT = "abc123"


def test_plain_text_with_comments_and_blank_lines():
    text = f"# list from a partner\n\n{H1}\n  {H2.upper()}  \n{H1}  # again\n"
    parsed = parse_list_file(text.encode(), PDQ)
    assert parsed.format is ListFormat.TEXT
    assert [(e.line, e.hash) for e in parsed.entries] == [(3, H1), (4, H2)]
    assert parsed.duplicates == 1 and parsed.errors == []


def test_csv_with_header_hash_id_and_label_columns():
    text = f"id,label,hash\nA-1,first,{H1}\nA-2,,{H2}\nA-3,bad,{SHORT}\n"
    parsed = parse_list_file(text, PDQ)
    assert parsed.format is ListFormat.CSV
    assert [(e.line, e.entry_id, e.label) for e in parsed.entries] == [
        (2, "A-1", "first"),
        (3, "A-2", None),
    ]
    assert [(e.line, e.reason) for e in parsed.errors] == [
        (4, "pdq hashes have 64 hex digits, this one has 6")
    ]


def test_csv_header_may_name_the_algorithm_and_must_have_a_hash_column():
    parsed = parse_list_file(f"pdq,note\n{H1},x\n", PDQ)
    assert parsed.entries[0].hash == H1 and parsed.entries[0].label == "x"
    with pytest.raises(InvalidInput, match="no hash column"):
        parse_list_file(f"colour,size\n{H1},3\n", PDQ, format="csv")


@pytest.mark.parametrize("header", ["hash", "Signal", "value", "pdq", '"hash"', "  sha256  "])
def test_a_lone_hash_column_name_is_a_one_column_csv(header):
    algorithm = ALGORITHMS["sha256"] if "sha256" in header else PDQ
    value = ("ab" * 32) if algorithm is not PDQ else H1
    text = f"# exported\n{header}\n{value}\n{H2}\n"
    assert detect_format(text) is ListFormat.CSV
    parsed = parse_list_file(text, algorithm)
    assert parsed.format is ListFormat.CSV
    assert [(e.line, e.hash) for e in parsed.entries] == [
        (3, value),
        (4, H2),
    ] and parsed.errors == []


def test_json_lines_objects_and_strings():
    text = f'{{"hash": "{H1}", "id": 7, "label": "x"}}\n"{H2}"\n{{"nohash": 1}}\nnot json\n[1]\n'
    parsed = parse_list_file(text, PDQ)
    assert parsed.format is ListFormat.JSONL
    assert [(e.hash, e.entry_id, e.label) for e in parsed.entries] == [
        (H1, "7", "x"),
        (H2, None, None),
    ]
    assert [(e.line, e.reason) for e in parsed.errors] == [
        (3, "no hash on this line"),
        (4, "not valid JSON"),
        (5, "expected a JSON object with a hash field"),
    ]


def test_threatexchange_algorithm_hash_lines():
    md5 = "0cc175b9c0f1b6a831c399e269772661"
    text = f"pdq {H1}\npdq {H2} some-label\nmd5 {md5}\npdq\n"
    parsed = parse_list_file(text, PDQ)
    assert parsed.format is ListFormat.THREATEXCHANGE
    assert [e.hash for e in parsed.entries] == [H1, H2]
    assert parsed.entries[1].label == "some-label"
    assert [(e.line, e.reason) for e in parsed.errors] == [
        (3, "hash type does not match the list algorithm pdq"),
        (4, "expected '<algorithm> <hash>'"),
    ]
    assert [e.hash for e in parse_list_file(f"md5 {md5}\n", MD5).entries] == [md5]


@pytest.mark.parametrize(
    "line, reason",
    [
        (SHORT, "64 hex digits, this one has 6"),
        ("z" * 64, "not a hexadecimal string"),
        ("0" * 64, "all-zero hash"),
        (f"{H1} {H2}", "expected one hash per line"),
    ],
)
def test_each_validation_rule_reports_line_and_reason_without_the_value(line, reason):
    parsed = parse_list_file(f"{H1}\n{line}\n", PDQ, format="text")
    assert [e.hash for e in parsed.entries] == [H1]
    assert len(parsed.errors) == 1
    assert parsed.errors[0].line == 2
    assert reason in parsed.errors[0].reason
    assert line.split()[0][:10] not in parsed.errors[0].reason


def test_named_format_overrides_detection():
    assert detect_format(f"{H1}\n") is ListFormat.TEXT
    assert detect_format(f"# c\npdq {H1}\n") is ListFormat.THREATEXCHANGE
    assert detect_format("hash,id\n") is ListFormat.CSV
    parsed = parse_list_file(f"pdq {H1}\n", PDQ, format="text")
    assert parsed.entries == [] and parsed.errors[0].reason == "expected one hash per line"


def test_not_utf8_bytes_become_line_errors():
    parsed = parse_list_file(H1.encode() + b"\n\xff\xfe\xfa\n", PDQ)
    assert len(parsed.entries) == 1 and parsed.errors[0].line == 2


def test_json_lines_nested_too_deeply_is_a_line_error():
    text = f'"{H1}"\n' + "[" * 100_000 + "\n"
    parsed = parse_list_file(text, PDQ, format="jsonl")
    assert [e.hash for e in parsed.entries] == [H1]
    assert [(e.line, e.reason) for e in parsed.errors] == [(2, "the JSON is nested too deeply")]


# --- what exchanges publish as files (issue 14) ----------------------------------------------


def test_threatexchange_lines_with_trailing_tags_and_ids_are_not_taken_for_csv():
    text = f"pdq {H1} tag1,tag2 id:55\npdq {H2} id:56 media_type_photo\n"
    assert detect_format(text) is ListFormat.THREATEXCHANGE
    parsed = parse_list_file(text.encode(), PDQ)
    assert parsed.errors == []
    assert [(e.hash, e.entry_id, e.label) for e in parsed.entries] == [
        (H1, "55", "tag1,tag2"),
        (H2, "56", "media_type_photo"),
    ]


def test_csv_without_a_header_takes_the_column_holding_hashes():
    text = f"{H1},A-1,first\n{H2},A-2,second\n{SHORT},A-3,bad\n"
    parsed = parse_list_file(text, PDQ)
    assert parsed.format is ListFormat.CSV
    assert [(e.line, e.hash, e.entry_id, e.label) for e in parsed.entries] == [
        (1, H1, "A-1", "first"),
        (2, H2, "A-2", "second"),
    ]
    assert [e.line for e in parsed.errors] == [3]
    assert [e.hash for e in parse_list_file(f"X-9,{H1}\n", PDQ).entries] == [H1]


def test_hma_signal_type_signal_str_rows_with_and_without_header():
    md5 = "0cc175b9c0f1b6a831c399e269772661"
    for text in (
        f"signal_type,signal_str\npdq,{H1}\nmd5,{md5}\npdq,{H2}\n",
        f"pdq,{H1}\nmd5,{md5}\npdq,{H2}\n",
    ):
        parsed = parse_list_file(text, PDQ)
        assert [e.hash for e in parsed.entries] == [H1, H2]
        assert [e.reason for e in parsed.errors] == [
            "hash type does not match the list algorithm pdq"
        ]


NCMEC_XML = f"""<?xml version="1.0" encoding="UTF-8"?>
<queryResult xmlns="https://hashsharing.ncmec.org/npo/v2/">
  <images count="3" maxTimestamp="2024-01-01T00:00:00Z">
    <image>
      <member id="42">Some ESP</member>
      <id>image1</id>
      <classification>A1</classification>
      <fingerprints><md5>0cc175b9c0f1b6a831c399e269772661</md5><pdq>{H1}</pdq></fingerprints>
    </image>
    <deletedImage><member id="42">Some ESP</member><id>image2</id></deletedImage>
    <image>
      <member id="42">Some ESP</member>
      <id>image3</id>
      <fingerprints><md5>92eb5ffee6ae2fec3ad71c777531578f</md5></fingerprints>
    </image>
  </images>
  <videos count="1" maxTimestamp="2024-01-01T00:00:00Z">
    <video><member id="7">Other</member><id>video1</id>
      <fingerprints><pdq>{H2}</pdq></fingerprints></video>
  </videos>
</queryResult>
"""


def test_ncmec_xml_entries_give_their_fingerprint_id_and_classification():
    assert detect_format(NCMEC_XML) is ListFormat.NCMEC
    parsed = parse_list_file(NCMEC_XML.encode(), PDQ)
    assert [(e.line, e.hash, e.entry_id, e.label) for e in parsed.entries] == [
        (1, H1, "image1", "A1"),
        (4, H2, "video1", None),
    ]
    assert [(e.line, e.reason) for e in parsed.errors] == [(3, "entry has no pdq fingerprint")]
    md5 = parse_list_file(NCMEC_XML, MD5)
    assert [e.entry_id for e in md5.entries] == ["image1", "image3"]


def test_ncmec_xml_with_entities_or_broken_is_refused_as_a_whole():
    bomb = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><queryResult>&a;</queryResult>'
    for text in (bomb, "<queryResult><image>"):
        with pytest.raises(InvalidInput, match="not well-formed XML"):
            parse_list_file(text, PDQ, format="ncmec")
