"""Reading a policy file: YAML in, a validated `Policy` out, with every problem named.

An operator's file is laid over the shipped `policies/default.yaml`, which holds every default:
a section the file leaves out is the shipped one; in a settings section (`kyu`, `certifications`,
`cases`, `notices`, `misuse`, `priorities`, `retention`, `watermark`, `documentation`) each
setting left out is the shipped one; a table (`hash_categories`, `categories`, `category_aliases`, `deadlines`) the
file names replaces the shipped table whole, so an operator can also remove entries.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from hostguard.policy.model import Policy, reference_problems

DEFAULT_POLICY_PATH = Path(__file__).resolve().parents[2] / "policies" / "default.yaml"
# sections replaced whole when a file names them (the others merge setting by setting)
TABLES = frozenset({"hash_categories", "categories", "category_aliases", "deadlines"})
# what every policy file must say itself: which policy and version a decision was made under
OWN_FIELDS = ("id", "version")


class PolicyError(Exception):
    """A policy file cannot be used; `problems` lists each one as 'where: what'."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


def _where(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def _read_yaml(text: str, source: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"
        raise PolicyError(source, [f"{where}: {getattr(exc, 'problem', None) or exc}"]) from exc
    if not isinstance(data, dict):
        raise PolicyError(source, ["(top level): expected a mapping of settings"])
    return data


_shipped: dict[float, dict[str, Any]] = {}


def shipped_policy_data() -> dict[str, Any]:
    """The shipped default policy as raw YAML data (read again when the file changes)."""
    mtime = DEFAULT_POLICY_PATH.stat().st_mtime
    if mtime not in _shipped:
        _shipped.clear()
        _shipped[mtime] = _read_yaml(
            DEFAULT_POLICY_PATH.read_text(encoding="utf-8"), str(DEFAULT_POLICY_PATH)
        )
    return _shipped[mtime]


def overlay(shipped: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    """The operator's sections over the shipped ones (see the module docstring for the rules)."""
    merged = dict(shipped)
    for section, value in own.items():
        base = shipped.get(section)
        if section not in TABLES and isinstance(base, dict) and isinstance(value, dict):
            merged[section] = {**base, **value}
        else:
            merged[section] = value
    return merged


def parse_policy(text: str, *, source: str = "<policy>") -> Policy:
    """Parse YAML text, laid over the shipped default, into a Policy; PolicyError says where
    each problem is."""
    own = _read_yaml(text, source)
    missing = [f"{name}: Field required" for name in OWN_FIELDS if name not in own]
    if missing:
        raise PolicyError(source, missing)
    data = overlay(shipped_policy_data(), own)
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        # field errors, then the names that do not resolve (which pydantic checks only once
        # every field is right): one run of `policy check` shows everything to fix
        problems = [
            f"{_where(err['loc'])}: {err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors()
            if err["loc"]
        ]
        problems += [p for p in reference_problems(data) if p not in problems]
        if not problems:  # only the model-level check failed, on something the raw data hides
            problems = [
                f"{_where(err['loc'])}: {err['msg'].removeprefix('Value error, ')}"
                for err in exc.errors()
            ]
        raise PolicyError(source, problems) from exc


def load_policy(path: str | Path | None = None) -> Policy:
    """Read the policy file named by `path` (or the shipped default)."""
    path = Path(path) if path else DEFAULT_POLICY_PATH
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(str(path), [f"cannot read the file ({exc.strerror})"]) from exc
    return parse_policy(text, source=str(path))


_in_force: dict[tuple[str, float], Policy] = {}


def policy_in_force(path: str | Path | None) -> Policy:
    """The policy read from `path` (or the shipped default), read again when the file changes."""
    path = Path(path or DEFAULT_POLICY_PATH)
    key = (str(path), path.stat().st_mtime if path.exists() else 0.0)
    if key not in _in_force:
        _in_force.clear()
        _in_force[key] = load_policy(path)
    return _in_force[key]
