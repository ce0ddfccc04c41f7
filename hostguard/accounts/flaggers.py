"""The register of trusted flaggers (Art. 22 DSA): who was designated, by whom, in which areas.

A Digital Services Coordinator of an EU member state designates an entity as a trusted flagger
for areas of expertise; the register keeps the entity, the coordinator, its member state, the
areas (the policy's case categories), the designation date and reference. A coordinator may ask
for a suspension (Art. 22(6)); the register suspends and reinstates with a reason, audited.
The API keys a flagger sends notices with belong to its entry (`ApiKey.flagger_id`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time

from sqlmodel import Session, col, select

from hostguard.accounts.models import ApiKey, FlaggerStatus, TrustedFlagger
from hostguard.audit.service import record
from hostguard.db.types import utcnow
from hostguard.errors import Conflict, InvalidInput, NotFound
from hostguard.policy import Policy

# The 27 member states (ISO 3166-1 alpha-2; Greece as the EU writes it, EL, and as ISO does, GR).
EU_MEMBER_STATES = frozenset(
    "AT BE BG CY CZ DE DK EE EL ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split()
)
MIN_REASON_CHARS = 5


def _fields_error(errors: dict[str, str]) -> InvalidInput:
    """One error naming every bad field (forms show each beside its field, `details["fields"]`,
    in the shape the API gives a body that fails validation)."""
    return InvalidInput(
        "; ".join(errors.values()),
        code="invalid_flagger",
        details={"fields": [{"field": f, "problem": p} for f, p in errors.items()]},
    )


def parse_day(value: date | datetime | str | None) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=UTC)
    try:
        return parse_day(date.fromisoformat((value or "").strip()))
    except ValueError:
        return None


def add_flagger(
    *,
    session: Session,
    actor: str,
    policy: Policy,
    name: str,
    coordinator: str,
    member_state: str,
    areas: Iterable[str],
    designated_on: date | datetime | str | None,
    designation_reference: str,
) -> TrustedFlagger:
    """Enter a designated trusted flagger in the register; every bad field is named at once."""
    name, coordinator = (name or "").strip(), (coordinator or "").strip()
    state = (member_state or "").strip().upper()
    reference = (designation_reference or "").strip()
    wanted = [a.strip() for a in areas if a and a.strip()]
    known = policy.categories
    errors: dict[str, str] = {}
    if not name or len(name) > 200:
        errors["name"] = "name: give the entity's name (1 to 200 characters)"
    if not coordinator or len(coordinator) > 300:
        errors["coordinator"] = (
            "coordinator: name the Digital Services Coordinator that designated it"
        )
    if state not in EU_MEMBER_STATES:
        errors["member_state"] = (
            f"member_state: {state or '(none)'} is not an EU member state "
            "(two letters, e.g. IE, DE, FR)"
        )
    unknown = [a for a in wanted if a not in known]
    if not wanted or unknown:
        errors["areas"] = (
            f"areas: {', '.join(unknown)} not a category of the policy"
            if unknown
            else "areas: name at least one area of expertise"
        ) + f" (categories: {', '.join(sorted(known))})"
    day = parse_day(designated_on)
    if day is None:
        errors["designated_on"] = "designated_on: give the designation date as YYYY-MM-DD"
    elif day > utcnow():
        errors["designated_on"] = "designated_on: the designation date is in the future"
    if not reference or len(reference) > 200:
        errors["designation_reference"] = (
            "designation_reference: give the coordinator's reference of the designation"
        )
    if errors:
        raise _fields_error(errors)
    assert day is not None  # checked above
    if session.exec(select(TrustedFlagger.id).where(TrustedFlagger.name == name)).first():
        raise Conflict(
            f"a trusted flagger named {name} is already in the register",
            code="flagger_exists",
            details={"field": "name"},
        )
    flagger = TrustedFlagger(
        name=name,
        coordinator=coordinator,
        member_state=state,
        areas=sorted(set(wanted)),
        designated_on=day,
        designation_reference=reference,
    )
    session.add(flagger)
    session.flush()
    record(
        session,
        actor=actor,
        action="flagger.add",
        subject=f"flagger:{flagger.id}",
        details={
            "name": name,
            "coordinator": coordinator,
            "member_state": state,
            "areas": flagger.areas,
            "designation_reference": reference,
        },
    )
    return flagger


def get_flagger(session: Session, ident: str | int) -> TrustedFlagger:
    """A register entry by id or by name."""
    text = str(ident).strip()
    flagger = None
    if text.isdigit():
        flagger = session.get(TrustedFlagger, int(text))
    if flagger is None:
        flagger = session.exec(select(TrustedFlagger).where(TrustedFlagger.name == text)).first()
    if flagger is None:
        raise NotFound(f"no trusted flagger {text} in the register", code="flagger_not_found")
    return flagger


def list_flaggers(session: Session) -> list[TrustedFlagger]:
    return list(session.exec(select(TrustedFlagger).order_by(col(TrustedFlagger.name))))


def flagger_keys(session: Session, flagger: TrustedFlagger) -> list[ApiKey]:
    return list(
        session.exec(select(ApiKey).where(ApiKey.flagger_id == flagger.id).order_by(col(ApiKey.id)))
    )


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if len(text) < MIN_REASON_CHARS:
        raise InvalidInput(
            f"give a reason (at least {MIN_REASON_CHARS} characters), e.g. the coordinator's request",
            code="reason_required",
            details={"field": "reason"},
        )
    return text[:1000]


def _set_status(
    *, session: Session, actor: str, ident: str | int, reason: str | None, status: FlaggerStatus
) -> TrustedFlagger:
    flagger = get_flagger(session, ident)
    text = _reason(reason)
    if flagger.status == status:
        raise Conflict(
            f"{flagger.name} is already {status}", code=f"flagger_already_{status.value}"
        )
    flagger.status = status
    flagger.status_reason = text
    flagger.status_changed_at = utcnow()
    session.add(flagger)
    record(
        session,
        actor=actor,
        action="flagger.suspend" if status == FlaggerStatus.SUSPENDED else "flagger.reinstate",
        subject=f"flagger:{flagger.id}",
        reason=text,
    )
    return flagger


def suspend_flagger(
    *, session: Session, actor: str, ident: str | int, reason: str | None
) -> TrustedFlagger:
    """Suspend at a coordinator's request (Art. 22(6)): its notices become ordinary notices."""
    return _set_status(
        session=session, actor=actor, ident=ident, reason=reason, status=FlaggerStatus.SUSPENDED
    )


def reinstate_flagger(
    *, session: Session, actor: str, ident: str | int, reason: str | None
) -> TrustedFlagger:
    """End a suspension (the coordinator lifted it): its notices are prioritised again."""
    return _set_status(
        session=session, actor=actor, ident=ident, reason=reason, status=FlaggerStatus.ACTIVE
    )


def flagger_json(flagger: TrustedFlagger, *, keys: list[ApiKey] | None = None) -> dict:
    data = {
        "id": flagger.id,
        "name": flagger.name,
        "coordinator": flagger.coordinator,
        "member_state": flagger.member_state,
        "areas": list(flagger.areas or []),
        "designated_on": flagger.designated_on.date().isoformat(),
        "designation_reference": flagger.designation_reference,
        "status": flagger.status,
        "status_reason": flagger.status_reason,
        "status_changed_at": flagger.status_changed_at.isoformat()
        if flagger.status_changed_at
        else None,
    }
    if keys is not None:
        data["api_keys"] = [
            {"id": k.id, "prefix": k.prefix, "name": k.name, "revoked": k.revoked_at is not None}
            for k in keys
        ]
    return data
