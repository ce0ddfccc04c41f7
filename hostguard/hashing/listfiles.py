"""Reading hash list files: plain text, CSV, JSON lines and ThreatExchange `<algorithm> <hash>`.

`parse_list_file` validates every line against the list's algorithm and returns the valid
entries plus, for each rejected line, its number and a reason. Reasons describe the problem
(wrong length, not hex, all zeros, ...) and never quote the line, because list contents must
not leak into logs or output.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

from hostguard.errors import InvalidInput
from hostguard.hashing.algorithms import ALGORITHMS, HashAlgorithm, InvalidHash

HASH_COLUMNS = ("hash", "signal", "signal_value", "value", "digest", *ALGORITHMS)
ID_COLUMNS = ("id", "entry_id", "identifier", "ref", "reference")
LABEL_COLUMNS = ("label", "name", "description", "note", "tags")
# ThreatExchange signal type names that mean one of our algorithms.
THREATEXCHANGE_NAMES = {"pdq": "pdq", "photo_pdq": "pdq", "md5": "md5", "photo_md5": "md5"}
MAX_REPORTED_ERRORS = 1000
MAX_FIELD = 200


class ListFormat(StrEnum):
    TEXT = "text"
    CSV = "csv"
    JSONL = "jsonl"
    THREATEXCHANGE = "threatexchange"


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
        if not isinstance(value, str):
            result.reject(line, "no hash on this line")
            return
        try:
            normalised = algorithm.validate(value)
        except InvalidHash as exc:
            result.reject(line, exc.message)
            return
        if normalised in seen:
            result.duplicates += 1
            return
        seen.add(normalised)
        result.entries.append(ParsedEntry(line, normalised, _clean(entry_id), _clean(label)))

    if chosen is ListFormat.CSV:
        _parse_csv(text, algorithm, result, accept)
    else:
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if chosen is ListFormat.TEXT:
                _parse_text_line(number, line, result, accept)
            elif chosen is ListFormat.JSONL:
                _parse_json_line(number, line, algorithm, result, accept)
            else:
                _parse_threatexchange_line(number, line, algorithm, result, accept)
    return result


def detect_format(text: str) -> ListFormat:
    """Guess the format from the first line that is neither blank nor a comment."""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("{") or line.startswith('"'):
            return ListFormat.JSONL
        if "," in line:
            return ListFormat.CSV
        tokens = line.split()
        if len(tokens) >= 2 and tokens[0].lower() in THREATEXCHANGE_NAMES:
            return ListFormat.THREATEXCHANGE
        return ListFormat.TEXT
    return ListFormat.TEXT


def _clean(value) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text[:MAX_FIELD] or None


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
    label = tokens[2] if len(tokens) > 2 else None
    accept(number, tokens[1], None, label)


def _parse_csv(text: str, algorithm, result: ParsedList, accept) -> None:
    reader = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    hash_col = id_col = label_col = None
    for row in reader:
        number = reader.line_num
        if not row or all(not cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
            continue
        if header is None:
            header = [cell.strip().lower() for cell in row]
            hash_col = _find(header, (algorithm.name, *HASH_COLUMNS))
            id_col = _find(header, ID_COLUMNS)
            label_col = _find(header, LABEL_COLUMNS)
            if hash_col is None:
                raise InvalidInput(
                    "CSV header has no hash column (expected one of: hash, signal, value, "
                    f"{algorithm.name})",
                    code="bad_list_file",
                )
            continue
        if hash_col >= len(row):
            result.reject(number, "row has no value in the hash column")
            continue
        entry_id = row[id_col] if id_col is not None and id_col < len(row) else None
        label = row[label_col] if label_col is not None and label_col < len(row) else None
        accept(number, row[hash_col], entry_id, label)


def _find(header: list[str], names) -> int | None:
    for name in names:
        if name in header:
            return header.index(name)
    return None
