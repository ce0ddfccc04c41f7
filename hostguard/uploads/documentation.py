"""Model-card documentation the policy requires: YAML metadata keys and section headings.

The card is the Hub's `README.md` (a YAML header between `---` lines, then Markdown) or the
text a platform sends in the check's body. A metadata key counts when it is present and not
empty; a section counts when a Markdown heading contains its name (case and punctuation aside),
so "Intended uses" is found in "## Intended uses & limitations".
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from hostguard.policy.model import DocumentationRequirement

MAX_CARD_CHARS = 200_000
_HEADER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(.+?)[ \t#]*$", re.M)
_SETEXT = re.compile(r"^(\S[^\n]*)\r?\n(?:=+|-+)[ \t]*$", re.M)


def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def read_card(text: str) -> tuple[dict[str, Any], list[str]]:
    """The card's YAML metadata ({} when absent or unreadable) and its headings (as words)."""
    metadata: dict[str, Any] = {}
    body = text
    found = _HEADER.match(text)
    if found:
        try:
            loaded = yaml.safe_load(found.group(1))
        except yaml.YAMLError:
            loaded = None
        metadata = loaded if isinstance(loaded, dict) else {}
        body = text[found.end() :]
    headings = [_words(h) for h in _HEADING.findall(body)]
    headings += [_words(h) for h in _SETEXT.findall(body)]
    return metadata, headings


def card_datasets(metadata: dict[str, Any]) -> list[str]:
    """The datasets a model card's metadata names (`datasets:`, one name or a list)."""
    named = metadata.get("datasets")
    if isinstance(named, str):
        return [named]
    return [str(d) for d in named] if isinstance(named, list) else []


def _present(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str | list | dict):
        return bool(value if not isinstance(value, str) else value.strip())
    return True


def missing_documentation(card: str | None, requirement: DocumentationRequirement) -> list[str]:
    """What the card lacks, as `metadata: <key>` and `section: <name>` (all of it without a card)."""
    metadata, headings = read_card(card[:MAX_CARD_CHARS]) if card else ({}, [])
    missing = [f"metadata: {k}" for k in requirement.metadata if not _present(metadata.get(k))]
    for name in requirement.sections:
        wanted = _words(name)
        if not any(wanted and wanted in heading for heading in headings):
            missing.append(f"section: {name}")
    return missing
