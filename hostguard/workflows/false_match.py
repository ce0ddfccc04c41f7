"""A moderator marks a hash match wrong in one step: the entry is suppressed and the exchange told.

The case's hash-match evidence names the lists and the matched images' own hashes (an upload
check's file digests, or a past sample's kept hash); each list's entries within its threshold
of that image are allow-listed (`hostguard.hashing.service.suppress_matching`), and where the
list is fed by an exchange that takes feedback (StopNCII, NCMEC), a false-positive report is
queued, sent once by a job with retries (`hostguard.exchanges.service.queue_feedback`).
"""

from __future__ import annotations

from typing import TypedDict

from sqlmodel import Session, select

from hostguard.audit.service import record
from hostguard.cases.models import Case, CaseEvidence
from hostguard.errors import InvalidInput, NotFound
from hostguard.exchanges.service import queue_feedback
from hostguard.hashing.models import SampleImageHash
from hostguard.hashing.service import suppress_matching


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
    if not pairs:
        raise InvalidInput("this case has no hash match to mark wrong", code="no_hash_match")
    suppressed = queued = 0
    lists = []
    for list_name, value in pairs:
        try:
            summary, entry_hashes = suppress_matching(
                session=session,
                actor=actor,
                name=list_name,
                hash=value,
                reason=f"case {case_id}: {reason}",
            )
        except NotFound:
            continue  # the list was removed since
        lists.append(list_name)
        suppressed += summary["suppressed"]
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
