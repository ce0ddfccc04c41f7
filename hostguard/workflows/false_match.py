"""A moderator marks a hash match wrong in one step: the entry is suppressed and the exchange told.

The case's hash-match evidence names the lists, the list entries that matched (by id, never
their hashes) and the matched images' own hashes (an upload check's file digests, or a past
sample's kept hash). The named entries stop acting (`hostguard.hashing.service.
suppress_entries`; a sample video can only be undone this way, its own hashes are not the
entry's), and each list's entries within its threshold of an image's own hash are allow-listed
too (`suppress_matching`). Where the list is fed by an exchange that takes feedback (StopNCII,
NCMEC), a false-positive report is queued, sent once by a job with retries
(`hostguard.exchanges.service.queue_feedback`).
"""

from __future__ import annotations

from typing import TypedDict

from sqlmodel import Session, select

from hostguard.audit.service import record
from hostguard.cases.models import Case, CaseEvidence
from hostguard.errors import InvalidInput, NotFound
from hostguard.exchanges.service import queue_feedback
from hostguard.hashing.models import SampleImageHash
from hostguard.hashing.service import suppress_entries, suppress_matching


class WrongMatch(TypedDict):
    case_id: int
    lists: list[str]
    suppressed: int
    feedback_queued: int


def _matched_hashes(session: Session, evidence: CaseEvidence) -> list[tuple[str, str]]:
    """(list, the matched image's hash for that list's algorithm) pairs of one evidence."""
    details = evidence.details or {}
    pairs = []
    if isinstance(details.get("matches"), list):  # an upload check
        digests = details.get("file_digests") or {}
        for match in details["matches"]:
            if not isinstance(match, dict) or "list" not in match:
                continue
            value = (digests.get(match.get("path")) or {}).get(match.get("algorithm"))
            if value:
                pairs.append((str(match["list"]), str(value)))
    elif details.get("list") and (evidence.ref or "").startswith("sample:"):  # a re-match
        sample = session.get(SampleImageHash, int(str(evidence.ref).split(":", 1)[1]))
        if sample is not None:
            pairs.append((str(details["list"]), sample.hash))
    return pairs


def _matched_entries(evidence: CaseEvidence) -> list[tuple[str, int]]:
    """(list, entry id) pairs one evidence names: an upload check's `entries`, a re-match's
    `entry_id` (evidence kept before they were has none)."""
    details = evidence.details or {}
    found = []
    for item in details.get("entries") or []:
        if isinstance(item, dict) and item.get("list") and isinstance(item.get("entry_id"), int):
            found.append((str(item["list"]), item["entry_id"]))
    if details.get("list") and isinstance(details.get("entry_id"), int):
        found.append((str(details["list"]), details["entry_id"]))
    return found


def mark_match_wrong(*, session: Session, actor: str, case_id: int, reason: str) -> WrongMatch:
    """Suppress the entries that matched the case's images and queue the exchanges' feedback."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("say why the match was wrong", code="reason_required")
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"no case {case_id}", code="case_not_found")
    evidence = session.exec(
        select(CaseEvidence).where(
            CaseEvidence.case_id == case_id, CaseEvidence.kind == "hash_match"
        )
    ).all()
    pairs = sorted({p for e in evidence for p in _matched_hashes(session, e)})
    named: dict[str, set[int]] = {}
    for list_name, entry_id in (p for e in evidence for p in _matched_entries(e)):
        named.setdefault(list_name, set()).add(entry_id)
    if not pairs and not named:
        raise InvalidInput("this case has no hash match to mark wrong", code="no_hash_match")
    why = f"case {case_id}: {reason}"
    suppressed = queued = 0
    lists = []
    for list_name in sorted({name for name, _ in pairs} | set(named)):
        entry_hashes: set[str] = set()
        try:
            if list_name in named:
                summary, hashes = suppress_entries(
                    session=session,
                    actor=actor,
                    name=list_name,
                    entry_ids=named[list_name],
                    reason=why,
                )
                suppressed += summary["suppressed"]
                entry_hashes.update(hashes)
            for value in (v for name, v in pairs if name == list_name):
                summary, hashes = suppress_matching(
                    session=session, actor=actor, name=list_name, hash=value, reason=why
                )
                suppressed += summary["suppressed"]
                entry_hashes.update(hashes)
        except NotFound:
            continue  # the list was removed since
        lists.append(list_name)
        queued += queue_feedback(
            session=session, actor=actor, list_name=list_name, hashes=entry_hashes
        )
    record(
        session,
        actor=actor,
        action="case.match_marked_wrong",
        subject=f"case:{case_id}",
        reason=reason[:500],
        details={"lists": sorted(set(lists)), "suppressed": suppressed, "feedback": queued},
    )
    return {
        "case_id": case_id,
        "lists": sorted(set(lists)),
        "suppressed": suppressed,
        "feedback_queued": queued,
    }
