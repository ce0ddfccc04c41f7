"""Opening cases (one open case per model) and taking in notices under DSA Art. 16."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from sqlalchemy import func
from sqlmodel import Session, col, select

from hostguard.accounts.models import TrustedFlagger
from hostguard.audit.service import record
from hostguard.cases import messages
from hostguard.cases.measures import DecisionAction
from hostguard.cases.misuse import notifier_penalty
from hostguard.cases.models import (
    OPEN_STATUSES,
    Case,
    CaseEvidence,
    CaseSource,
    CaseStatus,
    Decision,
    Notice,
    NoticeItem,
    Notifier,
    NotifierStatus,
)
from hostguard.cases.notifications import queue_notification
from hostguard.cases.priority import deadline_for, notice_is_prioritised, priority_for
from hostguard.db import advisory_xact_lock
from hostguard.db.types import utcnow
from hostguard.errors import HostguardError, InvalidInput, NotFound, PermissionDenied, TooLarge
from hostguard.platform.models import ModelRepo, Uploader
from hostguard.platform.service import get_or_create_repo, normalise_repo_id
from hostguard.policy import Category, Policy

if TYPE_CHECKING:
    from hostguard.runtime import Runtime

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


class RateLimited(HostguardError):
    """Too many notices from one client address; the web layer answers 429."""

    code = "rate_limited"


def client_digest(secret: str, value: str | None) -> str | None:
    """A keyed digest (so it cannot be reversed by trying every address) of an IP or e-mail."""
    if not value:
        return None
    return hmac.new(secret.encode(), value.strip().lower().encode(), hashlib.sha256).hexdigest()


# --- opening cases ------------------------------------------------------------------------------

_OPEN_CASE_LOCK_SPACE = (
    7_366_822  # pg advisory lock space: (this, repo id) serialises opening cases
)


def lock_repos_for_cases(session: Session, repo_pks: Iterable[int]) -> None:
    """Serialise opening cases per model until the transaction ends (one open case per model).

    When a model has no open case there is no case row to lock, so two concurrent notices or hits
    would each open one. On PostgreSQL the second transaction waits here until the first commits
    and then finds its case; SQLite serialises writers anyway (BEGIN IMMEDIATE). An advisory lock,
    not a row lock on the repo, because `decide` updates the repo row while holding the case and
    audit locks: a repo row lock taken here before the case lock would deadlock with it. Callers
    opening cases for several models take all their locks first, in one order.
    """
    for pk in sorted(set(repo_pks)):
        advisory_xact_lock(session, pk & 0x7FFFFFFF, space=_OPEN_CASE_LOCK_SPACE)


def recategorise(case: Case, *, category: str, policy: Policy) -> str | None:
    """Give the case this category; a new one sends it to the queue the policy gives it now (a
    case escalated into child sexual abuse leaves the general queue). Returns the new queue, or
    None when the case stays where it is."""
    if case.category == category:
        return None
    case.category = category
    queue = policy.moderation.queue_for(
        category=category, source=case.source, language=case.language
    )
    if queue == case.queue:
        return None
    case.queue = queue
    return queue


def open_case(
    *,
    session: Session,
    repo: ModelRepo,
    source: str,
    category: str,
    actor: str,
    kind: str,
    ref: str | None = None,
    details: dict | None = None,
    automated: bool = False,
    summary: str = "",
    policy: Policy,
    order_deadline: datetime | None = None,
    priority_penalty: int = 0,
    language: str | None = None,
) -> Case:
    """Open a case for the repo, or add this evidence to its open case (one open case per model).

    A decided case whose decision is appealed is active again, so a model can then have two: the
    appealed one, which reviews the old decision, and one opened since for new reports. New
    evidence joins the one that is not under appeal; only when the appealed case is the model's
    only active case does it join that one, so the appeal's reviewer sees it.

    `details` must never hold image bytes or hash-list contents: match details only. A category
    hostguard does not know (e.g. a hash list's own) is kept in the evidence and filed as `other`.
    """
    categories = policy.categories
    details = dict(details or {})
    category = policy.case_category(category)
    if category not in categories:
        details.setdefault("original_category", category)
        category = "other"
    now = utcnow()
    assert repo.id is not None  # read or inserted (and flushed) by get_or_create_repo
    lock_repos_for_cases(session, [repo.id])
    active = session.exec(
        select(Case)
        .where(Case.repo_pk == repo.id, col(Case.status).in_(OPEN_STATUSES))
        .order_by(col(Case.id))
        .with_for_update()
    ).all()
    case = next(
        (c for c in active if c.status != CaseStatus.APPEALED), active[0] if active else None
    )
    prio = priority_for(category, source, notifier_penalty=priority_penalty, policy=policy)
    deadline = deadline_for(
        category=category,
        source=source,
        opened_at=now,
        policy=policy,
        order_deadline=order_deadline,
    )
    if case is None:
        case = Case(
            repo_pk=repo.id,
            category=category,
            source=source,
            priority=prio,
            summary=summary[:2000],
            deadline_at=deadline,
            automated=automated,
            opened_at=now,
            language=language,
            queue=policy.moderation.queue_for(category=category, source=source, language=language),
        )
        session.add(case)
        session.flush()
        record(
            session,
            actor=actor,
            action="case.open",
            subject=f"case:{case.id}",
            details={
                "source": source,
                "category": category,
                "repo": repo.repo_id,
                "queue": case.queue,
            },
        )
    else:
        if prio > case.priority:
            case.priority, case.category, case.source = prio, category, source
            case.language = case.language or language
            case.queue = policy.moderation.queue_for(
                category=category, source=source, language=case.language
            )
        if case.deadline_at is None or deadline < case.deadline_at:
            case.deadline_at = deadline
        case.automated = case.automated or automated
        if case.status == CaseStatus.OPEN and summary and not case.summary:
            case.summary = summary[:2000]
    if categories[case.category].legal_hold or categories[category].legal_hold:
        hold = now + timedelta(days=policy.cases.legal_hold_days)
        if case.legal_hold_until is None or case.legal_hold_until < hold:
            case.legal_hold_until = hold
    assert case.id is not None  # read from the database, or flushed above
    session.add(
        CaseEvidence(
            case_id=case.id, source=source, kind=kind, ref=ref, details=details, automated=automated
        )
    )
    record(
        session,
        actor=actor,
        action="case.evidence",
        subject=f"case:{case.id}",
        details={"source": source, "kind": kind, "ref": ref},
    )
    session.flush()
    return case


# --- reading cases ------------------------------------------------------------------------------

MAX_ID = 2**63 - 1  # larger ids cannot exist (and make the database driver overflow)


def _get(session: Session, model, ident: int, *, lock: bool = False):
    if not 0 < ident <= MAX_ID:
        return None
    # a locked read also refreshes a row the session already holds, in the same statement
    return session.get(model, ident, with_for_update=lock, populate_existing=lock)


def get_case(session: Session, case_id: int, *, lock: bool = False) -> Case:
    case = _get(session, Case, case_id, lock=lock)
    if case is None:
        raise NotFound(f"case {case_id} does not exist", code="case_not_found")
    return case


def latest_decision(
    session: Session, case_id: int, *, include_escalations: bool = False
) -> Decision | None:
    query = select(Decision).where(Decision.case_id == case_id).order_by(col(Decision.id).desc())
    if not include_escalations:
        query = query.where(Decision.action != DecisionAction.ESCALATE)
    return session.exec(query).first()


def _repo_and_uploader(session: Session, case: Case) -> tuple[ModelRepo, Uploader | None]:
    repo = session.get(ModelRepo, case.repo_pk)
    uploader = session.get(Uploader, repo.uploader_id) if repo and repo.uploader_id else None
    assert repo is not None  # cases.repo_pk is a foreign key to model_repos
    return repo, uploader


# --- notices ------------------------------------------------------------------------------------


@dataclass
class NoticeInput:
    items: list[str]
    category: str
    explanation: str
    notifier_name: str | None = None
    notifier_email: str | None = None
    good_faith: bool = False
    language: str | None = None  # ISO 639-1 code of the notice's language (queue routing)


def notice_language(value: str | None) -> str | None:
    """A notice's language as a lower-case ISO 639-1 code (`de`), or None when not given.
    Exactly two letters (the pattern the API document states)."""
    if value is None:
        return None
    code = value.lower()
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        raise InvalidInput(
            "language must be a two-letter ISO 639-1 code such as de or fr", code="invalid_language"
        )
    return code


@dataclass(frozen=True)
class ItemLocation:
    """A model a notice or order names, with the exact URL, file and revision when given as a URL."""

    repo_id: str
    url: str | None = None
    path: str | None = None
    revision: str | None = None


_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_REPO_KINDS = ("models", "datasets", "spaces")  # /models/owner/name is owner/name
_FILE_VIEWS = ("blob", "tree", "resolve", "raw", "commit", "edit")  # owner/name/<view>/<rev>/<file>
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_URL_CHARS = 2000


def locate_item(item: str, *, hosts: frozenset[str]) -> ItemLocation:
    """`owner/name`, or a URL on one of the operator's hosts to a model (and a file in it)."""
    raw = item.strip()
    if not _URL_SCHEME.match(raw):
        return ItemLocation(normalise_repo_id(raw))
    if len(raw) > MAX_URL_CHARS or _CONTROL.search(raw):
        raise InvalidInput(f"the URL is longer than {MAX_URL_CHARS} characters or not printable")
    try:
        parts = urlsplit(raw)
        host = (parts.hostname or "").lower()
    except ValueError:
        raise InvalidInput(f"'{raw[:200]}' is not a URL to a model") from None
    if parts.scheme.lower() not in ("http", "https") or host not in hosts:
        raise InvalidInput(
            f"'{host[:200] or raw[:200]}' is not a host this platform takes notices for; "
            f"name the model as owner/name or by a URL on {', '.join(sorted(hosts))}",
            code="unsupported_host",
        )
    segments = [unquote(s) for s in parts.path.split("/") if s]
    if segments and segments[0] in _REPO_KINDS:
        segments = segments[1:]
    repo_id = normalise_repo_id("/".join(segments[:2]))
    revision = path = None
    if len(segments) >= 4 and segments[2] in _FILE_VIEWS:
        revision, path = segments[3], "/".join(segments[4:]) or None
    for value in (revision, path):
        if value is not None and (_CONTROL.search(value) or len(value) > 1000):
            raise InvalidInput(f"the file or revision in '{raw[:200]}' is not usable")
    return ItemLocation(repo_id, url=raw, path=path, revision=revision)


def _locate_items(
    items: Iterable[str], policy: Policy, *, hosts: frozenset[str]
) -> list[ItemLocation]:
    """The models named, each once (the first URL naming it is kept), in the order given."""
    items = list(items or [])
    if not items:
        raise InvalidInput("name at least one model (owner/name or its URL)", code="no_items")
    if len(items) > policy.notices.max_items:
        raise TooLarge(
            f"a notice may name at most {policy.notices.max_items} models; send several notices"
        )
    located: dict[str, ItemLocation] = {}
    for position, item in enumerate(items, start=1):
        if not isinstance(item, str):
            raise InvalidInput(f"item {position} is not a model id", code="invalid_model_id")
        try:
            location = locate_item(item, hosts=hosts)
        except InvalidInput as exc:
            code = exc.code if exc.code == "unsupported_host" else "invalid_model_id"
            raise InvalidInput(f"item {position}: {exc.message}", code=code) from None
        located.setdefault(location.repo_id, location)
    return list(located.values())


def _clean_items(items: Iterable[str], policy: Policy, *, hosts: frozenset[str]) -> list[str]:
    """The model ids named, each once, in the order given."""
    return [location.repo_id for location in _locate_items(items, policy, hosts=hosts)]


def _check_notice(
    data: NoticeInput, policy: Policy, *, contact_required: bool, hosts: frozenset[str]
) -> tuple[list[ItemLocation], Category]:
    locations = _locate_items(data.items, policy, hosts=hosts)
    category = policy.category(data.category)
    explanation = (data.explanation or "").strip()
    if not explanation:
        raise InvalidInput(
            "explain why the content is illegal or breaks the terms", code="missing_explanation"
        )
    if len(explanation) < policy.notices.min_explanation_chars:
        raise InvalidInput(
            f"explain in at least {policy.notices.min_explanation_chars} characters why the "
            "content is illegal or breaks the terms (Art. 16 DSA asks for a substantiated "
            "explanation)",
            code="explanation_too_short",
            details={"field": "explanation"},
        )
    if len(explanation) > policy.notices.max_explanation_chars:
        raise TooLarge(
            f"the explanation is longer than {policy.notices.max_explanation_chars} characters"
        )
    if not data.good_faith:
        raise InvalidInput(
            "confirm that you believe in good faith that the notice is accurate and complete",
            code="missing_good_faith",
        )
    name = (data.notifier_name or "").strip()
    email = (data.notifier_email or "").strip()
    if len(name) > 200 or len(email) > 320:
        raise TooLarge("name or e-mail address is too long")
    if email and not EMAIL_RE.match(email):
        raise InvalidInput("the e-mail address does not look valid", code="invalid_email")
    if contact_required and not category.anonymous_notices and not (name and email):
        raise InvalidInput(
            "give your name and e-mail address (only notices about child sexual abuse "
            "material may be anonymous)",
            code="missing_contact",
        )
    return locations, category


def _notifier_for(
    session: Session,
    *,
    source: str,
    email_digest: str | None,
    api_key_id: int | None,
    organisation: str | None,
) -> Notifier | None:
    if api_key_id is not None:
        notifier = session.exec(select(Notifier).where(Notifier.api_key_id == api_key_id)).first()
        if notifier is None:
            # a key's notifier is a flagger's, whichever lane its first notice took
            notifier = Notifier(
                kind=CaseSource.TRUSTED_FLAGGER, api_key_id=api_key_id, organisation=organisation
            )
            session.add(notifier)
    elif email_digest:
        notifier = session.exec(
            select(Notifier).where(Notifier.email_digest == email_digest)
        ).first()
        if notifier is None:
            notifier = Notifier(kind="public", email_digest=email_digest)
            session.add(notifier)
    else:
        return None
    session.flush()
    return notifier


def submit_notice(
    *,
    session: Session,
    runtime: Runtime,
    actor: str,
    data: NoticeInput,
    source: str = CaseSource.NOTICE,
    api_key_id: int | None = None,
    organisation: str | None = None,
    client: str | None = None,
    policy: Policy,
    flagger: TrustedFlagger | None = None,
    keyed: bool = False,
) -> tuple[Notice, list[Case]]:
    """Take in an Art. 16 notice (public or trusted flagger): one case per named model.

    Models hostguard has never seen are accepted (platforms host models older than hostguard).
    A notice sent with a trusted flagger's key (`flagger`, its register entry) is a trusted
    flagger's notice (Art. 22) only in the flagger's areas of expertise and while it is not
    suspended; otherwise it is an ordinary notice, still counted as the flagger's. `keyed`:
    sent with an API key, which identifies the sender, so no contact details are asked for.
    """
    identified = keyed or flagger is not None or source == CaseSource.TRUSTED_FLAGGER
    locations, category = _check_notice(
        data, policy, contact_required=not identified, hosts=runtime.settings.notice_host_set
    )
    if flagger is not None:
        source = (
            CaseSource.TRUSTED_FLAGGER
            if notice_is_prioritised(flagger, category.id)
            else CaseSource.NOTICE
        )
    trusted = identified
    items = [location.repo_id for location in locations]
    secret = runtime.keys.secret_key
    now = utcnow()
    client_key = client_digest(secret, client) if client and not trusted else None
    if client_key:
        recent = session.exec(
            select(func.count())
            .select_from(Notice)
            .where(
                Notice.client_digest == client_key, Notice.received_at > now - timedelta(hours=1)
            )
        ).one()
        if recent >= policy.notices.per_hour_from_one_address:
            raise RateLimited(
                "too many notices from this address: at most "
                f"{policy.notices.per_hour_from_one_address} an hour; try again later"
            )
    email = (data.notifier_email or "").strip() or None
    notifier = _notifier_for(
        session,
        source=source,
        email_digest=client_digest(secret, email),
        api_key_id=api_key_id,
        organisation=organisation,
    )
    penalty = 0
    if notifier is not None:
        if (
            notifier.status == NotifierStatus.SUSPENDED
            and notifier.suspended_until
            and notifier.suspended_until > now
        ):
            raise PermissionDenied(
                f"notices from this notifier are not processed until {notifier.suspended_until:%d %B %Y} "
                "because most earlier notices were manifestly unfounded",
                code="notifier_suspended",
            )
        penalty = notifier_penalty(
            notifier.decided,
            notifier.unfounded,
            policy=policy.misuse,
            penalty=policy.priorities.unreliable_notifier_penalty,
        )
        notifier.notices += 1
    name = (data.notifier_name or "").strip() or None
    notice = Notice(
        notifier_id=notifier.id if notifier else None,
        source=source,
        category=category.id,
        explanation=data.explanation.strip(),
        items=items,
        good_faith=True,
        client_digest=client_key,
        name_enc=runtime.keys.encrypt(name) if name else None,
        email_enc=runtime.keys.encrypt(email) if email else None,
        received_at=now,
        flagger_id=flagger.id if flagger is not None else None,
    )
    session.add(notice)
    session.flush()
    assert notice.id is not None  # flushed just above
    repos = [get_or_create_repo(session, repo_id=repo_id) for repo_id in items]
    repo_pks = []
    for r in repos:
        assert r.id is not None  # read or inserted (and flushed) by get_or_create_repo
        repo_pks.append(r.id)
    lock_repos_for_cases(session, repo_pks)
    cases = []
    for location, repo in zip(locations, repos, strict=True):
        case = open_case(
            session=session,
            repo=repo,
            source=source,
            category=category.id,
            actor=actor,
            kind="notice",
            ref=f"notice:{notice.id}",
            details={"notice_id": notice.id},
            policy=policy,
            priority_penalty=penalty,
            summary=f"{category.label}: {data.explanation.strip()[:200]}",
            language=notice_language(data.language),
        )
        assert case.id is not None  # flushed by open_case
        session.add(
            NoticeItem(
                notice_id=notice.id,
                case_id=case.id,
                repo_id=location.repo_id,
                url=location.url,
                path=location.path,
                revision=location.revision,
            )
        )
        cases.append(case)
    record(
        session,
        actor=actor,
        action="notice.receive",
        subject=f"notice:{notice.id}",
        details={
            "source": source,
            "category": category.id,
            "items": len(items),
            "cases": [c.id for c in cases],
            "anonymous": email is None,
        },
    )
    if email:
        msg = messages.notice_receipt(
            notice_id=notice.id, items=items, category_label=category.label, received_at=now
        )
        queue_notification(
            session,
            msg,
            recipient=f"notice:{notice.id}",
            email_enc=notice.email_enc,
            case_id=cases[0].id if cases else None,
        )
    session.flush()
    return notice, cases
