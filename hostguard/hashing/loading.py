"""A list's entries read from the database straight into numpy arrays.

`entry_arrays(session, list_id, bits)` returns `(words, ids)`: an (n, bits/64) uint64 array of
the hashes (most significant word first) and an int64 array of the entry ids, with no Python
object per entry. PostgreSQL streams the rows with `COPY ... TO STDOUT` as fixed-width text
lines (the hex hash, a tab, the id padded to 19 digits); SQLite returns them in chunks of
`CHUNK` rows, each chunk one string of hashes and one of padded ids (`group_concat`), keyed on
the id so each chunk is one index range scan. Both are parsed with vectorised numpy. Other
databases fall back to batches of rows (`index.arrays_from_rows`).

Hashes are stored as lower-case hex of the algorithm's full length; a stored value of any
other length (never written by hostguard) is refused with a ValueError rather than misread.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session
from sqlmodel import col, select

from hostguard.hashing.index import arrays_from_rows
from hostguard.hashing.models import HashEntry

CHUNK = 262_144  # rows per SQLite round trip: about 23 MB of text for PDQ
ID_DIGITS = 19  # every non-negative int64 fits
COPY_BLOCK = 64 << 20  # bytes of COPY output parsed at a time

_NIBBLE = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate(b"0123456789abcdef"):
    _NIBBLE[_c] = _i
for _i, _c in enumerate(b"ABCDEF"):
    _NIBBLE[_c] = 10 + _i
_POWERS = (10 ** np.arange(ID_DIGITS - 1, -1, -1, dtype=np.int64)).astype(np.int64)


def _parse_hex(chars: np.ndarray, bits: int) -> np.ndarray:
    """(n, bits/4) uint8 ASCII hex digits -> (n, bits/64) uint64 words."""
    nibbles = _NIBBLE[chars]
    if (nibbles == 255).any():
        raise ValueError("a stored hash is not hexadecimal")
    packed = (nibbles[:, 0::2] << 4) | nibbles[:, 1::2]  # (n, bits/8) bytes
    return np.ascontiguousarray(packed).view(">u8").astype(np.uint64).reshape(-1, bits // 64)


def _parse_ids(digits: np.ndarray) -> np.ndarray:
    """(n, 19) uint8 ASCII decimal digits -> int64 ids."""
    values = digits.astype(np.int64) - ord("0")
    if ((values < 0) | (values > 9)).any():
        raise ValueError("a stored entry id is not a padded decimal")
    return values @ _POWERS


def parse_lines(block: bytes | bytearray | memoryview, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """(words, ids) from whole fixed-width lines `<hex>\\t<19-digit id>\\n`."""
    width = bits // 4 + 1 + ID_DIGITS + 1
    raw = np.frombuffer(block, dtype=np.uint8)
    if raw.size % width:
        raise ValueError("a stored hash has the wrong length for its algorithm")
    lines = raw.reshape(-1, width)
    if (lines[:, bits // 4] != ord("\t")).any() or (lines[:, -1] != ord("\n")).any():
        raise ValueError("a stored hash has the wrong length for its algorithm")
    return _parse_hex(lines[:, : bits // 4], bits), _parse_ids(lines[:, bits // 4 + 1 : -1])


def _postgresql(session: Session, list_id: int, bits: int) -> tuple[np.ndarray, np.ndarray]:
    width = bits // 4 + 1 + ID_DIGITS + 1
    raw = session.connection().connection.driver_connection
    assert raw is not None  # a live psycopg connection inside the session's transaction
    statement = (
        f"COPY (SELECT hash, lpad(id::text, {ID_DIGITS}, '0') FROM hash_entries "
        f"WHERE list_id = {int(list_id)}) TO STDOUT"
    )
    words, ids = [np.zeros((0, bits // 64), dtype=np.uint64)], [np.zeros(0, dtype=np.int64)]
    pending = bytearray()
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        for data in copy:
            pending += data
            if len(pending) >= COPY_BLOCK:
                whole = len(pending) - len(pending) % width
                w, i = parse_lines(memoryview(pending)[:whole], bits)
                words.append(w)
                ids.append(i)
                del pending[:whole]
    if pending:
        w, i = parse_lines(bytes(pending), bits)
        words.append(w)
        ids.append(i)
    return np.concatenate(words), np.concatenate(ids)


def _sqlite(session: Session, list_id: int | None, bits: int) -> tuple[np.ndarray, np.ndarray]:
    hex_len = bits // 4
    query = text(
        "SELECT group_concat(hash, ''), group_concat(printf('%019d', id), ''), max(id), "
        "count(*) FROM (SELECT hash, id FROM hash_entries WHERE list_id = :list AND id > :after "
        "ORDER BY id LIMIT :limit)"
    )
    words, ids = [np.zeros((0, bits // 64), dtype=np.uint64)], [np.zeros(0, dtype=np.int64)]
    after = -1
    while True:
        hashes, padded, last, count = session.execute(
            query, {"list": list_id, "after": after, "limit": CHUNK}
        ).one()
        if not count:
            break
        chars = np.frombuffer(hashes.encode("ascii"), dtype=np.uint8)
        if chars.size != count * hex_len:
            raise ValueError("a stored hash has the wrong length for its algorithm")
        words.append(_parse_hex(chars.reshape(count, hex_len), bits))
        digits = np.frombuffer(padded.encode("ascii"), dtype=np.uint8)
        ids.append(_parse_ids(digits.reshape(count, ID_DIGITS)))
        after = last
        if count < CHUNK:
            break
    return np.concatenate(words), np.concatenate(ids)


def entry_arrays(session: Session, list_id: int | None, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """The list's (words, ids) as numpy arrays (see the module docstring)."""
    if list_id is None:
        raise ValueError("the list is not stored yet")
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql" and bits % 64 == 0:
        return _postgresql(session, list_id, bits)
    if dialect == "sqlite" and bits % 64 == 0:
        return _sqlite(session, list_id, bits)
    query = select(HashEntry.hash, col(HashEntry.id)).where(HashEntry.list_id == list_id)
    return arrays_from_rows(session.execute(query.execution_options(yield_per=65_536)), bits)
