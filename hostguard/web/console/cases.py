"""Moderator console: the case queue, case pages and decisions, appeals, authority orders and the audit view.

Media is blurred and grey-scale by default (per-user override in User.preferences); images
that matched a hash list are never shown, only their match details.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from flask import Response, flash, g, jsonify, redirect, render_template, request, url_for
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import col, select

from hostguard.accounts.models import AUDIT_READERS, CASE_WORKERS, LEGAL, STAFF, Role, User
from hostguard.audit.service import list_records
from hostguard.cases import hotline, schemas
from hostguard.cases.appeals import (
    decide_suspension_appeal,
    get_appeal,
    open_suspension_appeals,
)
from hostguard.cases.claims import (
    LEGAL_ROLES,
    SENIOR_ROLES,
    _why_not,
    add_note,
    claim_case,
    lease_lapsed,
    link_cases,
    may_work_on,
    may_work_queue,
    next_case,
    reassign_case,
    release_case,
    take_over_case,
)
from hostguard.cases.decisions import (
    DecisionInput,
    DecisionWarning,
    check_decision,
    explanation_warnings,
    with_template,
)
from hostguard.cases.demo import demo_image
from hostguard.cases.intake import get_case
from hostguard.cases.measures import DecisionAction
from hostguard.cases.models import (
    Appeal,
    AppealStatus,
    AuthorityOrder,
    Case,
    CaseSource,
    CaseStatus,
    Notification,
    OrderItem,
)
from hostguard.cases.orders import (
    OrderInput,
    acknowledge_order,
    get_order,
    order_feedback,
    receive_order,
)
from hostguard.cases.queue import (
    FILTER_PARAMS,
    CaseFilter,
    delete_filter,
    list_cases,
    queue_depths,
    save_filter,
    saved_filters,
)
from hostguard.cases.search import search_cases
from hostguard.db.types import utcnow
from hostguard.errors import HostguardError, InvalidInput, NotFound
from hostguard.platform.models import ModelRepo
from hostguard.uploads import kyu as kyu_service
from hostguard.uploads.models import Certification, KyuSubmission, UploadCheck
from hostguard.web.access import actor, db, runtime, staff_route
from hostguard.web.console import bp, labels
from hostguard.web.errors import status_for
from hostguard.web.forms import FormError, form_error
from hostguard.workflows import evidence as evidence_workflow
from hostguard.workflows import false_match
from hostguard.workflows.bulk import BulkRequest, bulk_action
from hostguard.workflows.decisions import decide, decide_appeal
from hostguard.workflows.evidence import report_package

APPEAL_READERS = CASE_WORKERS
# auditors read the queue and the case pages (read-only: every form that changes a case refuses them)
CASE_READERS = CASE_WORKERS | {Role.AUDITOR}
# decision error codes -> the decision form's field names
DECISION_FIELDS = {
    "invalid_action": "action",
    "missing_ground": "ground",
    "invalid_ground": "ground",
    "missing_ground_reference": "ground_reference",
    "missing_category": "category",
    "invalid_category": "category",
    "missing_explanation": "explanation",
    "invalid_restrict_mode": "restrict_mode",
    "invalid_escalation": "escalate_to",
    "invalid_scope": "territorial_scope",
}
AUDIT_VIEW = AUDIT_READERS | {Role.SENIOR_MODERATOR, Role.LEGAL}
DEMO_SAMPLES = "/console/demo/samples/"


def _user() -> User:
    return g.user


def blur_media(user: User) -> bool:
    return (user.preferences or {}).get("blur_media", True)


def _back(case_id: int):
    return redirect(url_for("console.case_page", case_id=case_id), code=303)


def _attempt(case_id: int, fn, success: str):
    """Run a domain action from a form: flash the outcome and go back to the case page."""
    try:
        fn()
    except HostguardError as exc:
        db().rollback()
        flash(exc.message, "error")
    else:
        flash(success, "success")
    return _back(case_id)


@staff_route(bp, "/cases", roles=CASE_READERS)
def queue():
    user = _user()
    args = request.args
    assigned = args.get("assigned", "")
    flt = CaseFilter(
        status=None if args.get("status") == "all" else (args.get("status") or "open"),
        category=args.get("category") or None,
        source=args.get("source") or None,
        overdue=args.get("overdue") == "1",
        assigned_to=user.id
        if assigned == "me"
        else (int(assigned) if assigned.isdigit() else None),
        unassigned=assigned == "none",
        queue=args.get("queue") or None,
    )
    sort = args.get("sort", "priority")
    words = (args.get("q") or "").strip()
    matched: dict[int, list[str]] = {}
    try:
        if words:  # search results, best first, in the queue's own table
            hits = search_cases(db(), query=words, secret=runtime().keys.secret_key, limit=100)
            found = {
                c.id: c
                for c in db().exec(select(Case).where(col(Case.id).in_([h.case_id for h in hits])))
            }
            cases, cursor = [found[h.case_id] for h in hits if h.case_id in found], None
            matched = {h.case_id: h.why for h in hits}
        else:
            cases, cursor = list_cases(
                db(),
                flt,
                sort=sort,
                cursor=args.get("cursor") or None,
                limit=50,
                policy=runtime().policy,
            )
    except InvalidInput as exc:
        flash(exc.message, "error")
        cases, cursor = [], None
    repos = schemas.repos_for(db(), cases)
    rows = [schemas.case_summary(c, repos.get(c.repo_pk)) for c in cases]
    emails = labels.emails_for(db(), (r["assigned_to"] for r in rows))
    policy = runtime().policy
    # what the queue offers on each row: a claim only where this user may work the case
    offers = {
        c.id: {
            "may_work": user.role in CASE_WORKERS and may_work_on(c, user, policy=policy),
            "lapsed": lease_lapsed(c, policy=policy),
            "restricted": policy.moderation.roles_for(policy.case_category(c.category)) is not None,
        }
        for c in cases
    }
    next_args = {k: v for k, v in args.items() if k != "cursor" and v}
    queues = queue_depths(
        db(),
        policy=policy,
        may_work=lambda q: (
            user.role in CASE_WORKERS and may_work_queue(policy.moderation.queues[q], user)
        ),
    )
    filter_args = {k: v for k, v in args.items() if k in FILTER_PARAMS and v}
    return render_template(
        "console/cases_queue.html",
        queues=queues,
        queue_labels={q.id: q.label for q in queues},
        filter_args=filter_args,
        saved=saved_filters(db(), user_id=_user_id()),
        rows=rows,
        cursor=cursor,
        args=args,
        next_args=next_args,
        categories=runtime().policy.categories.values(),
        sources=[s.value for s in CaseSource],
        statuses=[*[s.value for s in CaseStatus], "active", "all"],
        sort=sort,
        sorts=labels.SORTS,
        emails=emails,
        offers=offers,
        matched=matched,
        words=words,
        senior=user.role in SENIOR_ROLES,
        can_work=user.role in CASE_WORKERS,
        templates=list(policy.moderation.decision_templates.values()),
        workers=db()
        .exec(
            select(User)
            .where(col(User.active).is_(True), col(User.role).in_(sorted(CASE_WORKERS)))
            .order_by(col(User.email))
        )
        .all(),
    )


BULK_DONE = {
    "assign": "assigned",
    "release": "released",
    "set_priority": "given the new priority",
    "decide": "decided, each with its statement of reasons and messages",
    "merge": "merged into one case: its notices, orders and evidence are all there now",
}


@staff_route(bp, "/cases/bulk", roles=CASE_WORKERS, methods=["POST"])
def queue_bulk():
    """The queue's bulk form: each selected case done in full or left untouched, and which."""
    form = request.form
    ids = [int(i) for i in form.getlist("case_id") if i.isdigit() and len(i) < 19]
    number = form.get("priority", "").strip()
    kind = form.get("bulk_action", "")
    try:
        outcomes = bulk_action(
            session=db(),
            runtime=runtime(),
            user=_user(),
            actor=actor(),
            policy=runtime().policy,
            request=BulkRequest(
                kind=kind,
                case_ids=ids,
                user_id=int(form["user_id"]) if form.get("user_id", "").isdigit() else None,
                priority=int(number) if number.lstrip("-").isdigit() else None,
                decision=DecisionInput(
                    action="",
                    ground=None,
                    ground_reference=None,
                    category=None,
                    explanation=form.get("explanation") or None,
                    template=form.get("template") or None,
                ),
                reason=form.get("reason", "")[:500],
                into=int(form["into"]) if form.get("into", "").isdigit() else None,
            ),
        )
    except HostguardError as exc:
        db().rollback()
        flash(exc.message[:1].upper() + exc.message[1:] + ".", "error")
        return redirect(url_for("console.queue"), code=303)
    done = [o for o in outcomes if o.done]
    refused = [o for o in outcomes if not o.done]
    if done:
        flash(
            f"{len(done)} case(s) {BULK_DONE.get(kind, 'done')}: "
            + ", ".join(f"#{i}" for i in sorted(o.case_id for o in done))
            + ".",
            "success",
        )
    for o in refused:
        flash(f"Case #{o.case_id} left untouched: {o.message}.", "error")
    return redirect(url_for("console.queue"), code=303)


def _upload_evidence(session, repo_pk: int, uploader_pk: int | None) -> dict:
    """KYU status, certifications and pre-upload checks (with watermark evidence) for the case page."""
    submission = None
    if uploader_pk is not None:
        submission = session.exec(
            select(KyuSubmission)
            .where(KyuSubmission.uploader_pk == uploader_pk)
            .order_by(col(KyuSubmission.id).desc())
        ).first()
    return {
        "kyu": submission,
        "kyu_status": kyu_service.effective_status(submission) if submission else None,
        "certifications": session.exec(
            select(Certification)
            .where(Certification.repo_pk == repo_pk)
            .order_by(col(Certification.id).desc())
            .limit(10)
        ).all(),
        "checks": session.exec(
            select(UploadCheck)
            .where(UploadCheck.repo_pk == repo_pk)
            .order_by(col(UploadCheck.id).desc())
            .limit(10)
        ).all(),
    }


@staff_route(bp, "/cases/<int:case_id>", roles=CASE_READERS)
def case_page(case_id: int):
    return _render_case(case_id)


def _render_case(
    case_id: int,
    *,
    decision: dict | None = None,
    decision_error: FormError | None = None,
    status: int = 200,
    hotline_form: dict | None = None,
    hotline_error: FormError | None = None,
    preservation_error: FormError | None = None,
):
    """The case page; after a refused decision, with the moderator's values and the error beside its field."""
    session = db()
    case = get_case(session, case_id)
    detail = schemas.case_detail(session, case)
    history = list_records(session, subject=f"case:{case_id}", limit=200)
    notifications = session.exec(
        select(Notification).where(Notification.case_id == case_id).order_by(col(Notification.id))
    ).all()
    orders = session.exec(
        select(AuthorityOrder)
        .join(OrderItem, col(OrderItem.order_id) == col(AuthorityOrder.id))
        .where(OrderItem.case_id == case_id)
    ).all()
    user = _user()
    # sample images come from the platform's own URLs; images that matched a hash list are never shown
    matched = {
        u for e in detail["evidence"] for u in (e["details"].get("matched_image_urls") or [])
    }
    samples = [
        u
        for e in detail["evidence"]
        for u in (e["details"].get("sample_image_urls") or [])
        if u not in matched and (str(u).startswith("https://") or str(u).startswith(DEMO_SAMPLES))
    ]
    workers = session.exec(
        select(User).where(
            col(User.active).is_(True),
            col(User.role).in_(sorted(CASE_WORKERS)),
        )
    ).all()
    repo = session.get(ModelRepo, case.repo_pk)
    assert repo is not None  # repo_pk is a non-null foreign key
    emails = labels.emails_for(
        session,
        labels.user_ids([r.actor for r in history] + [n["author"] for n in detail["notes"]])
        | {case.assigned_to},
    )
    policy = runtime().policy
    allowed = may_work_on(case, user, policy=policy)
    return render_template(
        "console/cases_detail.html",
        case=detail,
        may_work=allowed,
        why_not=None if allowed else _why_not(case, user, policy),
        lapsed=lease_lapsed(case, policy=policy),
        can_take_over=user.role in SENIOR_ROLES
        and allowed
        and case.assigned_to not in (None, user.id),
        templates=list(policy.moderation.decision_templates.values()),
        uploads=_upload_evidence(session, case.repo_pk, repo.uploader_id),
        history=history,
        notifications=notifications,
        orders=orders,
        samples=samples,
        blur=blur_media(user),
        holder=user.id == case.assigned_to,
        categories=runtime().policy.categories.values(),
        actions=[a.value for a in DecisionAction],
        workers=workers,
        can_report=user.role in LEGAL_ROLES,
        can_work=user.role in CASE_WORKERS,
        now=utcnow(),
        emails=emails,
        actor_label=labels.actor_label,
        decision=decision or {},
        decision_error=decision_error,
        hotline=_hotline_state(session, case, user.role),
        hotline_form=hotline_form or {},
        hotline_error=hotline_error,
        preservation_error=preservation_error,
    ), status


def _hotline_state(session, case, role: str) -> dict | None:
    """The filings and preservation, for the legal roles on a case a hotline report is for."""
    if role not in LEGAL_ROLES or not hotline.reportable(case, runtime().policy):
        return None
    state = evidence_workflow.preservation_state(session, case.id)
    state["files"] = hotline.reported_files(hotline.case_evidence(session, case))
    state["classifications"] = hotline.INDUSTRY_CLASSIFICATIONS
    state["incident_types"] = hotline.INCIDENT_TYPES
    state["can_file"] = role == Role.LEGAL
    return state


def _queue_url(params: dict[str, str]) -> str:
    return url_for("console.queue") + (f"?{urlencode(params)}" if params else "")


def _user_id() -> int:
    user_id = _user().id
    assert user_id is not None  # a signed-in user is a stored one
    return user_id


def _queue_args(form) -> dict[str, str]:
    """The queue page's filter, as the next-case and save-filter forms carry it."""
    return {k: form.get(k, "") for k in FILTER_PARAMS if form.get(k)}


@staff_route(bp, "/cases/next", roles=CASE_WORKERS, methods=["POST"])
def queue_next():
    """Claim the most urgent case of the queue page's filter and open it."""
    params = _queue_args(request.form)
    try:
        case = next_case(
            session=db(),
            user=_user(),
            actor=actor(),
            policy=runtime().policy,
            flt=CaseFilter(
                queue=params.get("queue"),
                category=params.get("category"),
                source=params.get("source"),
                overdue=params.get("overdue") == "1",
            ),
        )
    except HostguardError as exc:
        db().rollback()
        flash(exc.message, "error")
        return redirect(_queue_url(params), code=303)
    if case is None:
        flash("No case left here that you may claim.", "success")
        return redirect(_queue_url(params), code=303)
    assert case.id is not None  # read from the database
    flash(f"You hold case #{case.id} now: the most urgent one you may work here.", "success")
    return _back(case.id)


@staff_route(bp, "/cases/filters", roles=CASE_WORKERS, methods=["POST"])
def queue_filter_save():
    params = _queue_args(request.form)
    try:
        saved = save_filter(
            session=db(),
            user_id=_user_id(),
            name=request.form.get("name", ""),
            params=params,
            actor=actor(),
            policy=runtime().policy,
        )
    except HostguardError as exc:
        db().rollback()
        flash(exc.message, "error")
        return redirect(_queue_url(params), code=303)
    flash(f"Filter “{saved.name}” saved.", "success")
    return redirect(_queue_url(saved.params), code=303)


@staff_route(bp, "/cases/filters/<int:filter_id>/delete", roles=CASE_WORKERS, methods=["POST"])
def queue_filter_delete(filter_id: int):
    try:
        delete_filter(session=db(), user_id=_user_id(), filter_id=filter_id, actor=actor())
    except HostguardError as exc:
        db().rollback()
        flash(exc.message, "error")
    else:
        flash("Filter deleted.", "success")
    return redirect(url_for("console.queue"), code=303)


@staff_route(bp, "/cases/<int:case_id>/claim", roles=CASE_WORKERS, methods=["POST"])
def case_claim(case_id: int):
    return _attempt(
        case_id,
        lambda: claim_case(
            session=db(), case_id=case_id, user=_user(), actor=actor(), policy=runtime().policy
        ),
        "You hold this case now.",
    )


@staff_route(bp, "/cases/<int:case_id>/take-over", roles=CASE_WORKERS, methods=["POST"])
def case_take_over(case_id: int):
    return _attempt(
        case_id,
        lambda: take_over_case(
            session=db(),
            case_id=case_id,
            user=_user(),
            actor=actor(),
            policy=runtime().policy,
            reason=request.form.get("reason", ""),
        ),
        "You took the case over; the audit trail records whose claim it was.",
    )


@staff_route(bp, "/cases/<int:case_id>/release", roles=CASE_WORKERS, methods=["POST"])
def case_release(case_id: int):
    return _attempt(
        case_id,
        lambda: release_case(session=db(), case_id=case_id, user=_user(), actor=actor()),
        "Case released to the queue.",
    )


@staff_route(bp, "/cases/<int:case_id>/reassign", roles=CASE_WORKERS, methods=["POST"])
def case_reassign(case_id: int):
    to = request.form.get("user_id", "")
    if not to.isdigit():
        flash("Choose who gets the case.", "error")
        return _back(case_id)
    return _attempt(
        case_id,
        lambda: reassign_case(
            session=db(),
            case_id=case_id,
            to_user_id=int(to),
            user=_user(),
            actor=actor(),
            reason=request.form.get("reason", ""),
            policy=runtime().policy,
        ),
        "Case reassigned.",
    )


@staff_route(bp, "/cases/<int:case_id>/notes", roles=CASE_WORKERS, methods=["POST"])
def case_note(case_id: int):
    return _attempt(
        case_id,
        lambda: add_note(
            session=db(), case_id=case_id, body=request.form.get("body", ""), actor=actor()
        ),
        "Note added.",
    )


@staff_route(bp, "/cases/<int:case_id>/links", roles=CASE_WORKERS, methods=["POST"])
def case_link(case_id: int):
    other = request.form.get("other_case_id", "")
    if not other.isdigit():
        flash("Give the number of the related case.", "error")
        return _back(case_id)
    return _attempt(
        case_id,
        lambda: link_cases(
            session=db(),
            case_id=case_id,
            other_case_id=int(other),
            actor=actor(),
            reason=request.form.get("reason", ""),
        ),
        f"Linked to case {other}.",
    )


@staff_route(bp, "/cases/<int:case_id>/decision", roles=CASE_WORKERS, methods=["POST"])
def case_decide(case_id: int):
    form = request.form
    scope = [s.strip() for s in form.get("territorial_scope", "").split(",") if s.strip()]
    data = DecisionInput(
        action=form.get("action", ""),
        ground=form.get("ground") or None,
        ground_reference=form.get("ground_reference") or None,
        category=form.get("category") or None,
        explanation=form.get("explanation") or None,
        restrict_mode=form.get("restrict_mode") or None,
        escalate_to=form.get("escalate_to") or None,
        territorial_scope=scope,
        notices_unfounded=form.get("notices_unfounded") == "yes",
        template=form.get("template") or None,
    )
    if form.get("notifier_named_ok") != "yes":
        warnings = explanation_warnings(
            session=db(), runtime=runtime(), case_id=case_id, explanation=data.explanation
        )
        if warnings:
            return _warn_before_deciding(case_id, data, warnings)
    try:
        decide(
            session=db(),
            runtime=runtime(),
            case_id=case_id,
            user=_user(),
            actor=actor(),
            data=data,
            policy=runtime().policy,
        )
    except HostguardError as exc:
        db().rollback()
        # show the form again with what the moderator typed, every error beside its field
        error = _decision_form_error(exc)
        return _render_case(
            case_id, decision=form.to_dict(), decision_error=error, status=status_for(exc)
        )
    flash(
        "Decision recorded; the statement of reasons and notifications are on their way.", "success"
    )
    return _back(case_id)


def _decision_form_error(exc: HostguardError) -> FormError:
    """Every problem of a refused decision, each beside the field it concerns."""
    problems = exc.details.get("problems") if isinstance(exc.details, dict) else None
    if not problems:
        return form_error(exc, codes=DECISION_FIELDS)
    fields: dict[str, str] = {}
    other: list[str] = []
    for problem in problems:
        name = problem.get("field") or DECISION_FIELDS.get(problem["code"])
        text = problem["message"][:1].upper() + problem["message"][1:] + "."
        if name:
            fields[name] = f"{fields[name]} {text}" if name in fields else text
        else:
            other.append(text)
    message = " ".join(p["message"][:1].upper() + p["message"][1:] + "." for p in problems)
    return FormError(message, fields, " ".join(other))


def _warn_before_deciding(case_id: int, data: DecisionInput, warnings: list[DecisionWarning]):
    """The form again, nothing recorded: the warning at the confirmation box, with every other
    error the form has, so the moderator corrects everything in one go."""
    form = request.form
    warning = (
        "; ".join(w.message for w in warnings)
        + ". Take the name out, or tick “Send it anyway” and record the decision again"
    )
    fields: dict[str, str] = {}
    other = ""
    try:
        check_decision(with_template(data, policy=runtime().policy), policy=runtime().policy)
    except HostguardError as exc:
        error = _decision_form_error(exc)
        fields, other = dict(error.fields), error.other
    fields["notifier_named_ok"] = warning
    return _render_case(
        case_id,
        decision=form.to_dict(),
        decision_error=FormError(warning, fields, other),
        status=422,
    )


@staff_route(bp, "/cases/<int:case_id>/report-package", roles=LEGAL | {Role.ADMIN})
def case_report_package(case_id: int):
    package = report_package(
        session=db(), case_id=case_id, actor=actor(), runtime=runtime(), role=_user().role
    )
    response = jsonify(package)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="case-{case_id}-report-package.json"'
    )
    return response


@staff_route(bp, "/demo/samples/<int:seed>.png", roles=CASE_READERS)
def demo_sample(seed: int):
    """A demo case's sample picture, drawn from its seed on each request (never stored)."""
    try:
        data = demo_image(seed)
    except ValueError as exc:
        raise NotFound(str(exc), code="demo_image_not_found") from None
    return Response(data, mimetype="image/png", headers={"Cache-Control": "private, max-age=3600"})


@staff_route(bp, "/preferences/blur", roles=STAFF, methods=["POST"])
def toggle_blur():
    user = db().get(User, _user().id)
    assert user is not None  # the signed-in user, loaded by the route guard in this request
    prefs = dict(user.preferences or {})
    prefs["blur_media"] = not prefs.get("blur_media", True)
    user.preferences = prefs
    flag_modified(user, "preferences")
    flash(
        "Media is now shown "
        + ("blurred and grey-scale." if prefs["blur_media"] else "unblurred."),
        "success",
    )
    target = request.form.get("next", "")
    return redirect(
        target if target.startswith("/console/") else url_for("console.queue"), code=303
    )


# --- appeals ------------------------------------------------------------------------------------


@staff_route(bp, "/appeals", roles=APPEAL_READERS)
def appeals():
    status = request.args.get("status", "open")
    query = select(Appeal).order_by(col(Appeal.filed_at), col(Appeal.id))
    if status != "all":
        query = query.where(
            Appeal.status == (AppealStatus.DECIDED if status == "decided" else AppealStatus.OPEN)
        )
    return render_template(
        "console/cases_appeals.html",
        appeals=db().exec(query.limit(500)).all(),
        status=status,
        suspension_appeals=open_suspension_appeals(db()),
        senior=_user().role in SENIOR_ROLES,
    )


@staff_route(
    bp,
    "/suspension-appeals/<int:appeal_id>/decision",
    roles={Role.SENIOR_MODERATOR, Role.ADMIN},
    methods=["POST"],
)
def suspension_appeal_decide(appeal_id: int):
    """A senior moderator rules on a notifier's appeal against their automatic suspension."""
    try:
        decide_suspension_appeal(
            session=db(),
            appeal_id=appeal_id,
            user=_user(),
            actor=actor(),
            lift=request.form.get("outcome") == "lift",
            explanation=request.form.get("explanation", ""),
        )
    except HostguardError as exc:
        db().rollback()
        flash(exc.message, "error")
    else:
        flash(f"Suspension appeal {appeal_id} decided.", "success")
    return redirect(url_for("console.appeals"), code=303)


@staff_route(
    bp, "/appeals/<int:appeal_id>/decision", roles={Role.SENIOR_MODERATOR}, methods=["POST"]
)
def appeal_decide(appeal_id: int):
    appeal = get_appeal(db(), appeal_id)
    try:
        decide_appeal(
            session=db(),
            runtime=runtime(),
            appeal_id=appeal_id,
            user=_user(),
            actor=actor(),
            outcome=request.form.get("outcome", ""),
            explanation=request.form.get("explanation", ""),
        )
    except HostguardError as exc:
        db().rollback()
        flash(exc.message, "error")
    else:
        flash(f"Appeal {appeal_id} decided.", "success")
    return _back(appeal.case_id)


# --- authority orders (legal) --------------------------------------------------------------------


@staff_route(bp, "/orders", roles=LEGAL | {Role.ADMIN, Role.SENIOR_MODERATOR})
def orders():
    rows = (
        db().exec(select(AuthorityOrder).order_by(col(AuthorityOrder.id).desc()).limit(200)).all()
    )
    return render_template(
        "console/cases_orders.html",
        orders=rows,
        categories=runtime().policy.categories.values(),
        now=utcnow(),
        can_create=_user().role in LEGAL_ROLES,
    )


@staff_route(bp, "/orders", roles=LEGAL | {Role.ADMIN}, methods=["POST"])
def order_create():
    form = request.form
    try:
        deadline = None
        if form.get("deadline"):
            deadline = datetime.fromisoformat(form["deadline"])
            if deadline.tzinfo is None:
                from datetime import UTC

                deadline = deadline.replace(tzinfo=UTC)
        order, cases = receive_order(
            session=db(),
            runtime=runtime(),
            actor=actor(),
            policy=runtime().policy,
            data=OrderInput(
                authority=form.get("authority", ""),
                member_state=form.get("member_state", ""),
                reference=form.get("reference", ""),
                legal_basis=form.get("legal_basis", ""),
                category=form.get("category", ""),
                explanation=form.get("explanation", ""),
                items=[line.strip() for line in form.get("items", "").splitlines() if line.strip()],
                territorial_scope=[
                    s for s in form.get("territorial_scope", "").split(",") if s.strip()
                ],
                deadline_at=deadline,
                feedback_to=form.get("feedback_to") or None,
            ),
        )
        if form.get("acknowledge") == "yes":
            assert order.id is not None  # receive_order_once returns a stored order
            acknowledge_order(session=db(), order_id=order.id, actor=actor())
    except (HostguardError, ValueError) as exc:
        db().rollback()
        flash(getattr(exc, "message", None) or "The deadline is not a date and time.", "error")
        return redirect(url_for("console.orders"), code=303)
    flash(f"Order {order.reference} recorded; {len(cases)} case(s) opened.", "success")
    return redirect(url_for("console.order_page", order_id=order.id), code=303)


@staff_route(bp, "/orders/<int:order_id>", roles=LEGAL | {Role.ADMIN, Role.SENIOR_MODERATOR})
def order_page(order_id: int):
    order = get_order(db(), order_id)
    items = db().exec(select(OrderItem).where(OrderItem.order_id == order_id)).all()
    feedback = order.feedback or order_feedback(db(), order).body
    return render_template(
        "console/cases_order.html", order=order, items=items, feedback=feedback, now=utcnow()
    )


@staff_route(bp, "/orders/<int:order_id>/acknowledge", roles=LEGAL | {Role.ADMIN}, methods=["POST"])
def order_acknowledge(order_id: int):
    acknowledge_order(session=db(), order_id=order_id, actor=actor())
    flash("Acknowledgement recorded.", "success")
    return redirect(url_for("console.order_page", order_id=order_id), code=303)


# --- audit ---------------------------------------------------------------------------------------


@staff_route(bp, "/audit", roles=AUDIT_VIEW)
def audit():
    before = request.args.get("before", "")
    subject = request.args.get("subject") or None
    actor_filter = request.args.get("actor") or None
    records = list_records(
        db(),
        subject=subject,
        actor=actor_filter,
        action=request.args.get("action") or None,
        before_seq=int(before) if before.isdigit() else None,
        limit=100,
    )
    next_before = records[-1].seq if len(records) == 100 else None
    emails = labels.emails_for(db(), labels.user_ids(r.actor for r in records))
    return render_template(
        "console/audit_list.html",
        records=records,
        next_before=next_before,
        args=request.args,
        emails=emails,
        actor_label=labels.actor_label,
    )


@staff_route(bp, "/cases/<int:case_id>/wrong-match", roles=CASE_WORKERS, methods=["POST"])
def case_wrong_match(case_id: int):
    """One step for a wrong hash match: suppress the entries, queue the exchange's feedback."""
    return _attempt(
        case_id,
        lambda: false_match.mark_match_wrong(
            session=db(), actor=actor(), case_id=case_id, reason=request.form.get("reason", "")
        ),
        "The match is marked wrong: its list entries no longer act.",
    )
