"""Reading hash list files: plain text, CSV, JSON lines, ThreatExchange lines and NCMEC XML.

What exchanges publish as files is read as it comes: ThreatExchange lines with trailing tags
and ids (`pdq <hash> tag1,tag2 id:55`), CSV with or without a header, HMA's
`signal_type,signal_str` rows, and the `<image>`/`<video>` entries of NCMEC's hash sharing XML.

`parse_list_file` validates every line against the list's algorithm and returns the valid
entries plus, for each rejected line, its number and a reason. Reasons describe the problem
(wrong length, not hex, all zeros, ...) and never quote the line, because list contents must
not leak into logs or output.

Plain-text and ThreatExchange files, the usual ways lists are exchanged, take a vectorised
path: lines that are exactly one lower-case hex hash of the right length (for ThreatExchange,
after `<algorithm> `), nearly all of them, are validated with
numpy over the whole file at once; only the other lines (comments, upper case, `0x`,
trailing notes, bad lines) go through the line-by-line rules, so the result, including each
bad line's number and reason, is the same as checking every line one by one.
"""

from __future__ import annotations

import csv
import gc
import io
import json
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import repeat
from operator import itemgetter
from typing import NamedTuple

import numpy as np
from defusedxml import ElementTree as SafeElementTree
from defusedxml.common import DefusedXmlException

from hostguard.errors import InvalidInput
from hostguard.hashing.algorithms import ALGORITHMS, HashAlgorithm, InvalidHash

HASH_COLUMNS = (
    "hash",
    "signal",
    "signal_value",
    "signal_str",
    "value",
    "digest",
    *ALGORITHMS,
)
# A column naming each row's hash type (HMA's `signal_type,signal_str` export).
TYPE_COLUMNS = ("signal_type", "type", "hash_type", "algorithm")
ID_COLUMNS = ("id", "entry_id", "identifier", "ref", "reference")
LABEL_COLUMNS = ("label", "name", "description", "note", "tags")
# ThreatExchange signal type names that mean one of our algorithms.
THREATEXCHANGE_NAMES = {
    "pdq": "pdq",
    "photo_pdq": "pdq",
    "md5": "md5",
    "photo_md5": "md5",
    "sha256": "sha256",
    "sha1": "sha1",
}
MAX_REPORTED_ERRORS = 1000
MAX_FIELD = 200


class ListFormat(StrEnum):
    TEXT = "text"
    CSV = "csv"
    JSONL = "jsonl"
    THREATEXCHANGE = "threatexchange"
    NCMEC = "ncmec"
    VPDQ = "vpdq"  # one video's vPDQ hash (hostguard.hashing.video), read by the service


class ParsedEntry(NamedTuple):
    line: int
    hash: str
    entry_id: str | None = None
    label: str | None = None


@dataclass(frozen=True)
class LineError:
    line: int
    reason: str


@dataclass
class ParsedList:
    format: ListFormat
    entries: list[ParsedEntry] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)
    error_count: int = 0
    duplicates: int = 0

    def reject(self, line: int, reason: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(LineError(line, reason))


def parse_list_file(
    data: bytes | str, algorithm: HashAlgorithm, *, format: str | None = None
) -> ParsedList:
    """Parse and validate a list file; `format` None means detect it from the content."""
    text = data.decode("utf-8-sig", errors="replace") if isinstance(data, bytes) else data
    chosen = ListFormat(format) if format else detect_format(text)
    result = ParsedList(format=chosen)
    seen: set[str] = set()

    def accept(line: int, value, entry_id=None, label=None) -> None:
        normalised = _validated(line, value, algorithm, result)
        if normalised is None:
            return
        if normalised in seen:
            result.duplicates += 1
            return
        seen.add(normalised)
        result.entries.append(ParsedEntry(line, normalised, _clean(entry_id), _clean(label)))

    if chosen is ListFormat.CSV:
        _parse_csv(text, algorithm, result, accept)
    elif chosen is ListFormat.TEXT:
        _parse_simple(
            text,
            algorithm,
            result,
            prefix="",
            parse_line=lambda n, line, add: _parse_text_line(n, line, result, add),
        )
    elif chosen is ListFormat.THREATEXCHANGE:
        names = [name for name, alg in THREATEXCHANGE_NAMES.items() if alg == algorithm.name]
        _parse_simple(
            text,
            algorithm,
            result,
            prefix=f"{names[0]} " if names else None,
            parse_line=lambda n, line, add: _parse_threatexchange_line(
                n, line, algorithm, result, add
            ),
        )
    elif chosen is ListFormat.NCMEC:
        _parse_ncmec_xml(text, algorithm, result, accept)
    else:
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if line and not line.startswith("#"):
                _parse_json_line(number, line, algorithm, result, accept)
    return result


def detect_format(text: str) -> ListFormat:
    """Guess the format from the first line that is neither blank nor a comment."""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.strip('"').strip().lower() in HASH_COLUMNS:
            return ListFormat.CSV  # a lone hash column name: the header of a one-column CSV
        if line.startswith("<"):
            return ListFormat.NCMEC
        if line.startswith("{") or line.startswith('"'):
            return ListFormat.JSONL
        tokens = line.split()
        # before the comma test: trailing tags (`pdq <hash> tag1,tag2 id:55`) hold commas
        if len(tokens) >= 2 and tokens[0].lower() in THREATEXCHANGE_NAMES:
            return ListFormat.THREATEXCHANGE
        if "," in line:
            return ListFormat.CSV
        return ListFormat.TEXT
    return ListFormat.TEXT


def _validated(line: int, value, algorithm: HashAlgorithm, result: ParsedList) -> str | None:
    """The normalised hash on this line, or None after recording why the line is rejected."""
    if not isinstance(value, str):
        result.reject(line, "no hash on this line")
        return None
    try:
        return algorithm.validate(value)
    except InvalidHash as exc:
        result.reject(line, exc.message)
        return None


def _clean(value) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text[:MAX_FIELD] or None


_LOWER_HEX = np.zeros(256, dtype=bool)
_LOWER_HEX[np.frombuffer(b"0123456789abcdef", dtype=np.uint8)] = True


def _plain_hash_lines(
    lines: list[str], length: int, prefix: str = ""
) -> tuple[np.ndarray, list[str]]:
    """Indexes and hashes of the lines that are exactly `prefix` + one valid lower-case hex hash.

    Such a line needs no normalising and can only fail `validate` by being all zeros, which
    is left to the line-by-line path (it has a reason to report).
    """
    width = len(prefix) + length
    lengths = np.fromiter(map(len, lines), dtype=np.int64, count=len(lines))
    candidates = np.flatnonzero(lengths == width)
    values = [lines[i] for i in candidates.tolist()]
    if not values:
        return candidates, values
    raw = "".join(values).encode("utf-8", errors="replace")
    if len(raw) != len(values) * width:  # some non-ASCII line: keep only the ASCII ones
        ascii_only = np.fromiter(map(str.isascii, values), dtype=bool, count=len(values))
        candidates = candidates[ascii_only]
        values = [values[i] for i in np.flatnonzero(ascii_only).tolist()]
        raw = "".join(values).encode("ascii")
    if not values:
        return candidates, values
    matrix = np.frombuffer(raw, dtype=np.uint8).reshape(len(values), width)
    digits = matrix[:, len(prefix) :]
    good = _LOWER_HEX[digits].all(axis=1) & (digits != ord("0")).any(axis=1)
    if prefix:
        good &= (matrix[:, : len(prefix)] == np.frombuffer(prefix.encode(), dtype=np.uint8)).all(
            axis=1
        )
    if not good.all():
        candidates, values = candidates[good], [values[i] for i in np.flatnonzero(good).tolist()]
    if prefix:
        values = [value[len(prefix) :] for value in values]
    return candidates, values


def _parse_simple(
    text: str, algorithm: HashAlgorithm, result: ParsedList, *, prefix: str | None, parse_line
) -> None:
    """Plain text and ThreatExchange files: vectorised for plain lines, line rules for the rest.

    `prefix` is what precedes the hash on a plain line (None: no line is plain); `parse_line`
    is the format's rule for one line, used for every other line.
    """
    lines = text.splitlines()
    values: list[str]
    if prefix is None:
        fast, values = np.zeros(0, dtype=np.int64), []
    else:
        fast, values = _plain_hash_lines(lines, algorithm.hex_length, prefix)
    slow = np.ones(len(lines), dtype=bool)
    slow[fast] = False
    slow_records: list[tuple] = []

    def collect(line: int, value, entry_id=None, label=None) -> None:
        normalised = _validated(line, value, algorithm, result)
        if normalised is None:
            return
        slow_records.append((line, normalised, _clean(entry_id), _clean(label)))

    for index in np.flatnonzero(slow).tolist():  # in line order, so errors are too
        line = lines[index].strip()
        if not line or line.startswith("#"):
            continue
        parse_line(index + 1, line, collect)
    # tuple.__new__ builds the named tuples in C (ParsedEntry's own __new__ is Python code);
    # the cyclic garbage collector is paused meanwhile, since a million new tuples would
    # otherwise set off repeated full collections that find nothing to free.
    paused = gc.isenabled()
    gc.disable()
    try:
        if not slow_records:
            # Keep the first line of each hash, in line order; later copies are duplicates.
            numbers = (fast + 1).tolist()
            unique = dict.fromkeys(values)
            if len(unique) < len(values):
                first_line = dict(zip(reversed(values), reversed(numbers), strict=True))
                result.duplicates += len(values) - len(unique)
                numbers, values = list(map(first_line.__getitem__, unique)), list(unique)
            result.entries.extend(
                map(
                    tuple.__new__,
                    repeat(ParsedEntry),
                    zip(numbers, values, repeat(None), repeat(None)),
                )
            )
            return
        records = list(zip((fast + 1).tolist(), values, repeat(None), repeat(None))) + slow_records
        records.sort(key=itemgetter(0))
        seen: set[str] = set()
        for record in records:
            if record[1] in seen:
                result.duplicates += 1
                continue
            seen.add(record[1])
            result.entries.append(tuple.__new__(ParsedEntry, record))
    finally:
        if paused:
            gc.enable()


def _parse_text_line(number: int, line: str, result: ParsedList, accept) -> None:
    value = line.split("#", 1)[0].rstrip() if "#" in line else line
    if " " in value or "\t" in value:
        result.reject(number, "expected one hash per line")
        return
    accept(number, value)


def _parse_json_line(number, line, algorithm, result, accept) -> None:
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        result.reject(number, "not valid JSON")
        return
    except RecursionError:
        result.reject(number, "the JSON is nested too deeply")
        return
    if isinstance(record, str):
        accept(number, record)
        return
    if not isinstance(record, dict):
        result.reject(number, "expected a JSON object with a hash field")
        return
    value = next((record[k] for k in (*HASH_COLUMNS, algorithm.name) if k in record), None)
    entry_id = next((record[k] for k in ID_COLUMNS if k in record), None)
    label = next((record[k] for k in LABEL_COLUMNS if k in record), None)
    accept(number, value, entry_id, label)


def _parse_threatexchange_line(number, line, algorithm, result, accept) -> None:
    tokens = line.split(None, 2)
    if len(tokens) < 2:
        result.reject(number, "expected '<algorithm> <hash>'")
        return
    named = THREATEXCHANGE_NAMES.get(tokens[0].lower())
    if named != algorithm.name:
        result.reject(number, f"hash type does not match the list algorithm {algorithm.name}")
        return
    # after the hash: tags and `id:<entry id>` in any order (`pdq <hash> tag1,tag2 id:55`)
    entry_id = None
    labels = []
    for token in tokens[2].split() if len(tokens) > 2 else ():
        if token.lower().startswith("id:") and entry_id is None:
            entry_id = token[3:]
        else:
            labels.append(token)
    accept(number, tokens[1], entry_id, " ".join(labels) or None)


def _parse_csv(text: str, algorithm, result: ParsedList, accept) -> None:
    reader = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    hash_col = id_col = label_col = type_col = None
    for row in reader:
        number = reader.line_num
        if not row or all(not cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
            continue
        if header is None:
            header = [cell.strip().lower() for cell in row]
            hash_col = _find(header, (algorithm.name, *HASH_COLUMNS))
            id_col = _find(header, ID_COLUMNS)
            label_col = _find(header, LABEL_COLUMNS)
            type_col = _find(header, TYPE_COLUMNS)
            headerless = _headerless_columns(row, algorithm)
            if hash_col is None or headerless is not None:
                if headerless is None:
                    raise InvalidInput(
                        "CSV header has no hash column (expected one of: hash, signal, value, "
                        f"{algorithm.name}) and its first row holds no {algorithm.name} hash",
                        code="bad_list_file",
                    )
                # no header: the first row is data; the column holding a hash is the hash
                hash_col, type_col, id_col, label_col = headerless
            else:
                continue
        assert hash_col is not None  # set with the header, which raised if it was None
        if hash_col >= len(row):
            result.reject(number, "row has no value in the hash column")
            continue
        if type_col is not None and type_col < len(row) and row[type_col].strip():
            named = THREATEXCHANGE_NAMES.get(row[type_col].strip().lower())
            if named != algorithm.name:
                result.reject(
                    number, f"hash type does not match the list algorithm {algorithm.name}"
                )
                continue
        entry_id = row[id_col] if id_col is not None and id_col < len(row) else None
        label = row[label_col] if label_col is not None and label_col < len(row) else None
        accept(number, row[hash_col], entry_id, label)


def _headerless_columns(
    row: list[str], algorithm: HashAlgorithm
) -> tuple[int, int | None, int | None, int | None] | None:
    """(hash, type, id, label) columns of a CSV whose first row is data, or None if it is not.

    The hash column is the first cell that is a valid hash; a cell before it naming a hash
    type (`pdq,<hash>`, HMA's `signal_type,signal_str`) is the type column; of the other
    cells, the first is the entry's id and the next its label.
    """
    for position, cell in enumerate(row):
        try:
            algorithm.validate(cell)
        except InvalidHash:
            continue
        others = [i for i in range(len(row)) if i != position]
        type_col = None
        if (
            others
            and others[0] < position
            and row[others[0]].strip().lower() in THREATEXCHANGE_NAMES
        ):
            type_col = others.pop(0)
        id_col = others[0] if others else None
        label_col = others[1] if len(others) > 1 else None
        return position, type_col, id_col, label_col
    return None


def _local(tag: str) -> str:
    """An XML tag without its namespace (`{https://hashsharing.ncmec.org/...}image` -> image)."""
    return tag.rsplit("}", 1)[-1].lower()


def _parse_ncmec_xml(text: str, algorithm: HashAlgorithm, result: ParsedList, accept) -> None:
    """NCMEC hash sharing XML: each `<image>`/`<video>` entry's fingerprint of this algorithm.

    Entries are numbered in document order (the "line" of each error); deleted entries
    (`<deletedImage>`) are skipped, entries with no fingerprint of this algorithm rejected.
    """
    try:
        root = SafeElementTree.fromstring(text)
    except (SafeElementTree.ParseError, DefusedXmlException):
        raise InvalidInput(
            "the file is not well-formed XML (expected NCMEC hash sharing entries)",
            code="bad_list_file",
        ) from None
    number = 0
    for element in root.iter():
        kind = _local(element.tag)
        if kind not in ("image", "video", "deletedimage", "deletedvideo"):
            continue
        number += 1
        if kind.startswith("deleted"):
            continue
        fields = {_local(child.tag): child for child in element}
        prints = fields.get("fingerprints")
        value = None
        if prints is not None:
            value = next(
                (
                    (child.text or "").strip()
                    for child in prints
                    if _local(child.tag) == algorithm.name
                ),
                None,
            )
        if value is None:
            result.reject(number, f"entry has no {algorithm.name} fingerprint")
            continue
        entry_id = fields["id"].text if "id" in fields else None
        label = fields["classification"].text if "classification" in fields else None
        accept(number, value, entry_id, label)


def _find(header: list[str], names) -> int | None:
    for name in names:
        if name in header:
            return header.index(name)
    return None
