"""After an upload check and scans with sample images, no table holds any of the images' bytes.

Only hashes are kept. Every column of every table is read back and searched for a distinctive
run of each image's bytes: raw (blob columns), as hex, and as the base64 the check request sent.
"""

from __future__ import annotations

import base64
import io
import json

from sqlalchemy import select
from sqlmodel import SQLModel

import hostguard.registry  # noqa: F401  (every table)
from hostguard.hashing import service
from hostguard.hashing.algorithms import ALGORITHMS
from hostguard.jobs.service import run_due
from tests.hashing.images import encode, make_image
from tests.uploads.conftest import check_body


def _needles(data: bytes) -> list[bytes | str]:
    middle = len(data) // 2
    run = data[middle : middle + 24]
    encoded = base64.b64encode(data).decode()
    return [run, run.hex(), encoded[middle : middle + 32]]


def _everything_stored(runtime) -> list[tuple[str, str, object]]:
    cells = []
    with runtime.engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            for row in conn.execute(select(table)).mappings():
                cells.extend(
                    (table.name, column, value)
                    for column, value in row.items()
                    if value is not None
                )
    return cells


def _contains(value, needle) -> bool:
    if isinstance(value, (bytes, bytearray, memoryview)):
        blob = bytes(value)
        return (needle in blob) if isinstance(needle, bytes) else (needle.encode() in blob)
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return (needle.hex() in text) if isinstance(needle, bytes) else (needle in text)


def test_no_table_holds_image_bytes_after_a_check_and_scans(
    runtime, client, api_headers, cli, tmp_path
):
    known, other = make_image(31, (320, 240)), make_image(32, (320, 240))
    known_png, other_jpg = encode(known, "PNG"), encode(other, "JPEG", quality=92)
    with runtime.session() as session:  # a match, so a case with evidence details is opened too
        service.import_list(
            session=session,
            actor="test",
            name="known",
            algorithm="pdq",
            data=ALGORITHMS["pdq"].hash_image(known).hash,
            category="csam",
        )
    operator = api_headers("operator")
    for visibility in ("public", "private"):
        response = client.post(
            "/api/v1/uploads/check",
            headers=operator,
            json=check_body(
                visibility=visibility,
                revision=visibility[0] * 40,
                images=[("samples/known.png", known_png), ("samples/other.jpg", other_jpg)],
            ),
        )
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
    scan = client.post(
        "/api/v1/scan",
        headers=operator,
        content_type="multipart/form-data",
        data={"images": [(io.BytesIO(known_png), "k.png"), (io.BytesIO(other_jpg), "o.jpg")]},
    )
    assert scan.status_code == 200
    (tmp_path / "k.png").write_bytes(known_png)
    assert cli("scan", str(tmp_path / "k.png")).exit_code == 1
    run_due(runtime.engine, runtime=runtime)

    cells = _everything_stored(runtime)
    tables = {table for table, _, _ in cells}
    assert {
        "sample_image_hashes",
        "cases",
        "audit_records",
    } <= tables  # the check really stored things
    for data in (known_png, other_jpg):
        for needle in _needles(data):
            leaks = [(table, column) for table, column, value in cells if _contains(value, needle)]
            assert not leaks, f"image bytes stored in {leaks}"


def test_the_search_would_find_image_bytes():
    """The check above is only worth something if it can see a stored image."""
    data = encode(make_image(33), "PNG")
    stored = [data, data.hex(), base64.b64encode(data).decode(), {"evidence": data.hex()}]
    for value, needle in zip(stored, [*_needles(data), _needles(data)[0]], strict=True):
        assert _contains(value, needle)
