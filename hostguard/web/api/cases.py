"""Case API: notices, authority orders, the moderator queue, decisions and appeals."""

from __future__ import annotations

import dataclasses

from flask import g, jsonify, request
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import col, select
from werkzeug.exceptions import TooManyRequests

from hostguard.accounts.models import CASE_WORKERS, SENIOR, TrustedFlagger
from hostguard.cases import (
    appeals,
    claims,
    decisions,
    intake,
    orders,
    queue,
    sampling,
    schemas,
    search,
)
from hostguard.cases.models import Appeal, AppealStatus, Case, StatementOfReasons
from hostguard.errors import InvalidInput, NotFound, PermissionDenied
from hostguard.platform.models import ModelRepo
from hostguard.web.access import actor, api_route, db, json_body, runtime
from hostguard.web.api import bp
from hostguard.workflows import bulk as bulk_workflow
from hostguard.workflows import decisions as decision_workflow
from hostguard.workflows import evidence as evidence_workflow
from hostguard.workflows import false_match

MODERATOR = {"moderator"}
TAGS = ["cases"]


def staff_user(roles: frozenset[str] | None = None, *, what: str = "do this"):
    """The staff user behind the moderator key; with `roles`, the same role check as the console."""
    user = g.get("user")
    if user is None:
        raise PermissionDenied(
            "this API key does not act for a staff user; create it with a user "
            "(hostguard apikey create NAME --scope moderator --user EMAIL)",
            code="no_staff_user",
        )
    if roles is not None and user.role not in roles:
        raise PermissionDenied(f"your role ({user.role}) cannot {what}", code="role_not_allowed")
    return user


def _policy():
    return runtime().policy


@api_route(
    bp,
    "/notices",
    methods=["POST"],
    scopes=None,
    optional_auth=True,
    body=schemas.NoticeBody,
    summary="Submit a notice (Art. 16 DSA); a trusted flagger's key puts it in the priority lane "
    "within the flagger's areas of expertise (Art. 22)",
    responses={201: schemas.NoticeCreated},
    tags=TAGS,
)
def post_notice():
    body = json_body(schemas.NoticeBody)
    key = g.get("api_key")
    trusted = key is not None and "trusted_flagger" in key.scope_set
    # the register entry the key belongs to decides the lane (Art. 22); a key of no entry
    # sends ordinary notices, identified by the key
    flagger = db().get(TrustedFlagger, key.flagger_id) if trusted and key.flagger_id else None
    data = intake.NoticeInput(
        items=body.items,
        category=body.category,
        explanation=body.explanation,
        notifier_name=body.notifier.name if body.notifier else None,
        notifier_email=body.notifier.email if body.notifier else None,
        good_faith=body.good_faith,
        language=body.language,
    )
    try:
        notice, cases = intake.submit_notice(
            session=db(),
            runtime=runtime(),
            actor=actor(),
            data=data,
            policy=_policy(),
            source="notice",
            flagger=flagger,
            keyed=trusted,
            api_key_id=key.id if trusted else None,
            organisation=(flagger.name if flagger else key.name) if trusted else None,
            client=None if trusted else request.remote_addr,
        )
    except intake.RateLimited as exc:
        raise TooManyRequests(exc.message) from None
    return jsonify({"notice_id": notice.id, "case_ids": [c.id for c in cases]}), 201


@api_route(
    bp,
    "/orders",
    methods=["POST"],
    scopes={"authority"},
    body=schemas.OrderBody,
    rules="a deadline must be in the future; each item must name a model (owner/name) "
    "or a URL to one on the platform's hosts",
    summary="Record an order from a competent authority (Art. 9 DSA); the same reference again "
    "answers the order already recorded (200)",
    responses={201: "order_id, case_ids and the order", 200: "the order already recorded"},
    tags=TAGS,
)
def post_order():
    body = json_body(schemas.OrderBody)
    order, cases, created = orders.receive_order_once(
        session=db(),
        runtime=runtime(),
        actor=actor(),
        policy=_policy(),
        data=orders.OrderInput(
            authority=body.authority,
            member_state=body.member_state,
            reference=body.reference,
            legal_basis=body.legal_basis,
            category=body.category,
            explanation=body.explanation,
            items=body.items,
            territorial_scope=body.territorial_scope,
            deadline_at=body.deadline,
            feedback_to=body.feedback_to,
        ),
    )
    return jsonify(
        {
            "order_id": order.id,
            "case_ids": [c.id for c in cases],
            "order": schemas.order_json(order),
        }
    ), 201 if created else 200


@api_route(
    bp,
    "/orders/<int:order_id>",
    scopes={"authority", "moderator"},
    summary="An order with its acknowledgement, effect and feedback",
    tags=TAGS,
)
def get_order(order_id: int):
    order = orders.get_order(db(), order_id)
    key, user = g.get("api_key"), g.get("user")
    legal_staff = (
        key is not None
        and "moderator" in key.scope_set
        and user is not None
        and user.role in claims.LEGAL_ROLES
    )
    if (
        order.created_by != actor() and not legal_staff
    ):  # 404, not 403: other authorities' orders stay unseen
        raise NotFound(f"order {order_id} does not exist", code="order_not_found")
    return jsonify(schemas.order_json(order))


@api_route(
    bp,
    "/orders/<int:order_id>/acknowledge",
    methods=["POST"],
    scopes=MODERATOR,
    summary="Record that the order was acknowledged",
    tags=TAGS,
)
def acknowledge_order(order_id: int):
    staff_user(claims.LEGAL_ROLES, what="acknowledge orders (legal or admin)")
    return jsonify(
        schemas.order_json(orders.acknowledge_order(session=db(), order_id=order_id, actor=actor()))
    )


def _int_arg(name: str) -> int | None:
    value = request.args.get(name)
    if value in (None, ""):
        return None
    if not value.isdigit():
        raise InvalidInput(f"{name} must be a number", code="invalid_parameter")
    return int(value)


def _assigned_id(value: str | None) -> int | None:
    if not value or value == "none":
        return None
    if not value.isdigit() or int(value) > intake.MAX_ID:
        raise InvalidInput("assigned must be me, none or a user id", code="invalid_parameter")
    return int(value)


def _queue_params(user_id: int) -> dict[str, str]:
    """The queue's filter parameters: a saved filter's (`saved_filter`), with those given beside
    it taking precedence."""
    params: dict[str, str] = {}
    saved_id = _int_arg("saved_filter")
    if saved_id is not None:
        params |= queue.get_saved_filter(db(), user_id=user_id, filter_id=saved_id).params
    return params | {k: v for k, v in request.args.items() if k in queue.FILTER_PARAMS}


@api_route(
    bp,
    "/cases",
    scopes=MODERATOR,
    tags=TAGS,
    query={
        "saved_filter": {
            "type": "integer",
            "minimum": 1,
            "maximum": intake.MAX_ID,
            "description": "one of your saved filters (`GET /api/v1/saved-filters`); the "
            "filter parameters given beside it take precedence",
        }
    },
    summary="The case queue: filters status (open|escalated|appealed|decided|active|all; default open), "
    "category, source, queue (a named queue), overdue, assigned (me|none|<user id>), "
    "sort (priority|oldest|newest), or a saved filter; keyset pagination with cursor and limit",
    responses={200: "items and next_cursor"},
)
def list_cases():
    user = staff_user()
    assert user.id is not None  # a stored user
    args = _queue_params(user.id)
    assigned = args.get("assigned")
    flt = queue.CaseFilter(
        status=None if args.get("status") == "all" else args.get("status", "open"),
        category=args.get("category") or None,
        source=args.get("source") or None,
        overdue=args.get("overdue") in ("1", "true", "yes"),
        assigned_to=user.id if assigned == "me" else _assigned_id(assigned),
        unassigned=assigned == "none",
        queue=args.get("queue") or None,
    )
    cases, cursor = queue.list_cases(
        db(),
        flt,
        sort=args.get("sort", "priority"),
        cursor=request.args.get("cursor") or None,
        limit=_int_arg("limit") or 50,
        policy=_policy(),
    )
    repos = schemas.repos_for(db(), cases)
    return jsonify(
        {
            "items": [schemas.case_summary(c, repos.get(c.repo_pk)) for c in cases],
            "next_cursor": cursor,
        }
    )


@api_route(
    bp,
    "/saved-filters",
    scopes=MODERATOR,
    tags=TAGS,
    summary="Your saved filters of the queue (the console's too), by name; apply one with "
    "`GET /api/v1/cases?saved_filter=<id>`",
    responses={200: "items: id, name, filter, created_at"},
)
def list_saved_filters():
    user = staff_user()
    assert user.id is not None  # a stored user
    return jsonify(
        {
            "items": [
                schemas.saved_filter_json(f) for f in queue.saved_filters(db(), user_id=user.id)
            ]
        }
    )


@api_route(
    bp,
    "/saved-filters",
    methods=["POST"],
    scopes=MODERATOR,
    body=schemas.SavedFilterBody,
    tags=TAGS,
    summary="Save a filter of the queue under a name, yours alone; a name you already use "
    "replaces that filter",
    responses={201: "the saved filter: id, name, filter, created_at"},
)
def save_filter():
    user = staff_user(CASE_WORKERS, what="save filters")
    assert user.id is not None  # a stored user
    body = json_body(schemas.SavedFilterBody)
    saved = queue.save_filter(
        session=db(),
        user_id=user.id,
        name=body.name,
        params=body.filter.params(),
        actor=actor(),
        policy=_policy(),
    )
    return jsonify(schemas.saved_filter_json(saved)), 201


@api_route(
    bp,
    "/saved-filters/<int:filter_id>",
    methods=["DELETE"],
    scopes=MODERATOR,
    tags=TAGS,
    summary="Delete one of your saved filters",
    responses={200: "{id, name, deleted: true}", 404: "not one of your saved filters"},
)
def delete_saved_filter(filter_id: int):
    user = staff_user(CASE_WORKERS, what="delete filters")
    assert user.id is not None  # a stored user
    saved = queue.delete_filter(session=db(), user_id=user.id, filter_id=filter_id, actor=actor())
    return jsonify({"id": saved.id, "name": saved.name, "deleted": True})


@api_route(
    bp,
    "/queues",
    scopes=MODERATOR,
    tags=TAGS,
    summary="The named queues of the policy in routing order, with their depth (open cases), "
    "unassigned and overdue cases, who may work each and whether you may",
    responses={200: "items"},
)
def list_queues():
    user = staff_user()
    policy = _policy()
    depths = queue.queue_depths(
        db(),
        policy=policy,
        may_work=lambda q: (
            user.role in CASE_WORKERS and claims.may_work_queue(policy.moderation.queues[q], user)
        ),
    )
    return jsonify(
        {
            "items": [
                {
                    **dataclasses.asdict(d),
                    "roles": policy.moderation.queues[d.id].roles,
                    "teams": policy.moderation.queues[d.id].teams,
                }
                for d in depths
            ]
        }
    )


@api_route(
    bp,
    "/cases/next",
    methods=["POST"],
    scopes=MODERATOR,
    body=schemas.NextCaseBody,
    summary="Claim the most urgent claimable case of a queue or filter (queue, category, source, "
    "overdue); 404 when none is left, 403 for a queue that is not yours",
    responses={200: "the case claimed"},
    tags=TAGS,
)
def claim_next():
    user = staff_user(CASE_WORKERS, what="claim cases")
    body = json_body(schemas.NextCaseBody)
    case = claims.next_case(
        session=db(),
        user=user,
        actor=actor(),
        policy=_policy(),
        flt=queue.CaseFilter(
            queue=body.queue, category=body.category, source=body.source, overdue=body.overdue
        ),
    )
    if case is None:
        raise NotFound("no case left that you may claim here", code="queue_empty")
    return jsonify(schemas.case_summary(case, db().get(ModelRepo, case.repo_pk)))


@api_route(
    bp,
    "/cases/<int:case_id>",
    scopes=MODERATOR,
    summary="One case with evidence, notices, decisions, "
    "statements of reasons, appeals, notes and links",
    tags=TAGS,
)
def get_case(case_id: int):
    staff_user()
    return jsonify(schemas.case_detail(db(), intake.get_case(db(), case_id)))


@api_route(
    bp,
    "/cases/<int:case_id>/claim",
    methods=["POST"],
    scopes=MODERATOR,
    summary="Claim the case (409 if someone else holds it)",
    tags=TAGS,
)
def claim(case_id: int):
    user = staff_user(CASE_WORKERS, what="claim cases")
    case = claims.claim_case(
        session=db(), case_id=case_id, user=user, actor=actor(), policy=_policy()
    )
    return jsonify(schemas.case_summary(case, db().get(ModelRepo, case.repo_pk)))


@api_route(
    bp,
    "/cases/<int:case_id>/take-over",
    methods=["POST"],
    scopes=MODERATOR,
    body=schemas.TakeOverBody,
    summary="Take over a case someone else claimed (senior moderators and admins; audited)",
    tags=TAGS,
)
def take_over(case_id: int):
    user = staff_user(CASE_WORKERS, what="take over cases")
    body = json_body(schemas.TakeOverBody)
    case = claims.take_over_case(
        session=db(),
        case_id=case_id,
        user=user,
        actor=actor(),
        policy=_policy(),
        reason=body.reason,
    )
    return jsonify(schemas.case_summary(case, db().get(ModelRepo, case.repo_pk)))


@api_route(
    bp,
    "/cases/<int:case_id>/release",
    methods=["POST"],
    scopes=MODERATOR,
    summary="Release a claimed case back to the queue",
    tags=TAGS,
)
def release(case_id: int):
    user = staff_user(CASE_WORKERS, what="release cases")
    case = claims.release_case(session=db(), case_id=case_id, user=user, actor=actor())
    return jsonify(schemas.case_summary(case, db().get(ModelRepo, case.repo_pk)))


@api_route(
    bp,
    "/cases/<int:case_id>/reassign",
    methods=["POST"],
    scopes=MODERATOR,
    body=schemas.ReassignBody,
    rules="user_id must be an active case worker",
    summary="Give the case to another case worker",
    tags=TAGS,
)
def reassign(case_id: int):
    user = staff_user(CASE_WORKERS, what="reassign cases")
    body = json_body(schemas.ReassignBody)
    case = claims.reassign_case(
        session=db(),
        case_id=case_id,
        to_user_id=body.user_id,
        user=user,
        actor=actor(),
        policy=_policy(),
        reason=body.reason,
    )
    return jsonify(schemas.case_summary(case, db().get(ModelRepo, case.repo_pk)))


@api_route(
    bp,
    "/cases/<int:case_id>/notes",
    methods=["POST"],
    scopes=MODERATOR,
    body=schemas.NoteBody,
    summary="Add an internal note",
    responses={201: "the note"},
    tags=TAGS,
)
def note(case_id: int):
    staff_user(CASE_WORKERS, what="add notes to cases")
    n = claims.add_note(
        session=db(), case_id=case_id, body=json_body(schemas.NoteBody).body, actor=actor()
    )
    return jsonify({"id": n.id, "case_id": n.case_id, "body": n.body, "at": schemas.iso(n.at)}), 201


@api_route(
    bp,
    "/cases/<int:case_id>/links",
    methods=["POST"],
    scopes=MODERATOR,
    body=schemas.LinkBody,
    rules="a case cannot be linked to itself; the other case must exist",
    summary="Link a related case",
    responses={201: "the linked case ids"},
    tags=TAGS,
)
def link(case_id: int):
    staff_user(CASE_WORKERS, what="link cases")
    body = json_body(schemas.LinkBody)
    claims.link_cases(
        session=db(), case_id=case_id, other_case_id=body.case_id, actor=actor(), reason=body.reason
    )
    return jsonify({"case_id": case_id, "linked_cases": claims.linked_case_ids(db(), case_id)}), 201


@api_route(
    bp,
    "/cases/<int:case_id>/decision",
    methods=["POST"],
    scopes=MODERATOR,
    body=schemas.DecisionBody,
    rules="the action decides which other fields are needed (a ground and its "
    "reference, a restriction's mode, an escalation's target) unless the template gives them",
    summary="Decide a claimed case: action, ground, ground_reference, category and explanation",
    responses={
        201: "decision, statement_of_reasons (for restrictions), the case and warnings "
        "(code and message: e.g. notifier_named, the notifier's name scrubbed from the uploader's copy)"
    },
    tags=TAGS,
)
def decision(case_id: int):
    user = staff_user(CASE_WORKERS, what="decide cases")
    body = json_body(schemas.DecisionBody)
    d = decision_workflow.decide(
        session=db(),
        runtime=runtime(),
        case_id=case_id,
        user=user,
        actor=actor(),
        policy=_policy(),
        data=decisions.DecisionInput(**{**body.model_dump(), "action": body.action or ""}),
    )
    statement = (
        db().exec(select(StatementOfReasons).where(StatementOfReasons.decision_id == d.id)).first()
    )
    case = intake.get_case(db(), case_id)
    warnings = decisions.explanation_warnings(
        session=db(), runtime=runtime(), case_id=case_id, explanation=d.explanation
    )
    return jsonify(
        {
            "decision": schemas.decision_json(d),
            "statement_of_reasons": schemas.statement_json(statement) if statement else None,
            "case": schemas.case_summary(case, db().get(ModelRepo, case.repo_pk)),
            "warnings": [{"code": w.code, "message": w.message} for w in warnings],
        }
    ), 201


@api_route(
    bp,
    "/cases/<int:case_id>/appeal",
    methods=["POST"],
    scopes={"operator", "moderator"},
    body=schemas.AppealBody,
    summary="File an appeal (internal complaint, Art. 20 DSA) for the uploader "
    "or a notifier, within six months of the decision",
    responses={201: "the appeal"},
    tags=TAGS,
)
def appeal(case_id: int):
    if (
        "operator" not in g.api_key.scope_set
    ):  # a moderator key files for the appellant: case workers only
        staff_user(CASE_WORKERS, what="file appeals")
    body = json_body(schemas.AppealBody)
    a = appeals.file_appeal(
        session=db(),
        case_id=case_id,
        appellant=body.appellant,
        reason=body.reason,
        notice_id=body.notice_id,
        actor=actor(),
        policy=_policy(),
    )
    return jsonify(schemas.appeal_json(a)), 201


@api_route(
    bp,
    "/appeals",
    scopes=MODERATOR,
    summary="Appeals, open first (status=open|decided|all)",
    tags=TAGS,
)
def list_appeals():
    staff_user()
    status = request.args.get("status", "open")
    query = select(Appeal).order_by(col(Appeal.id))
    if status != "all":
        query = query.where(
            Appeal.status == (AppealStatus.DECIDED if status == "decided" else AppealStatus.OPEN)
        )
    return jsonify({"items": [schemas.appeal_json(a) for a in db().exec(query.limit(500))]})


@api_route(
    bp,
    "/appeals/<int:appeal_id>/decision",
    methods=["POST"],
    scopes=MODERATOR,
    body=schemas.AppealDecisionBody,
    summary="Decide an appeal (a different senior moderator); "
    "overturning reverses the platform action",
    tags=TAGS,
)
def decide_appeal(appeal_id: int):
    user = staff_user(SENIOR, what="decide appeals (senior moderators)")
    body = json_body(schemas.AppealDecisionBody)
    a = decision_workflow.decide_appeal(
        session=db(),
        runtime=runtime(),
        appeal_id=appeal_id,
        user=user,
        actor=actor(),
        outcome=body.outcome,
        explanation=body.explanation,
    )
    return jsonify(schemas.appeal_json(a))


@api_route(
    bp,
    "/cases/<int:case_id>/report-package",
    scopes=MODERATOR,
    summary="Evidence package for a hotline / NCMEC report (legal role)",
    tags=TAGS,
)
def report_package(case_id: int):
    user = staff_user(claims.LEGAL_ROLES, what="export report packages (legal or admin)")
    return jsonify(
        evidence_workflow.report_package(
            session=db(), case_id=case_id, actor=actor(), runtime=runtime(), role=user.role
        )
    )


class WrongMatchBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(json_schema_extra=schemas.SAYS_SOMETHING)


@api_route(
    bp,
    "/cases/bulk",
    methods=["POST"],
    scopes=MODERATOR,
    body=schemas.BulkBody,
    rules="each action needs its own field: assign a user_id, set_priority a priority, "
    "decide a template",
    summary="Assign, release, set the priority of or decide (with a template) a selection of "
    "cases, each done in full or left untouched; or merge duplicates about one model `into` one "
    "of them (all or nothing: 409 not_mergeable names every case refused)",
    responses={
        200: "done (case ids), refused (case_id, code, message) and, for decide, the decision "
        "of each case done"
    },
    tags=TAGS,
)
def bulk():
    user = staff_user(CASE_WORKERS, what="act on cases")
    body = json_body(schemas.BulkBody)
    outcomes = bulk_workflow.bulk_action(
        session=db(),
        runtime=runtime(),
        user=user,
        actor=actor(),
        policy=_policy(),
        request=bulk_workflow.BulkRequest(
            kind=body.action,
            case_ids=body.case_ids,
            user_id=body.user_id,
            priority=body.priority,
            decision=decisions.DecisionInput(
                action="",
                ground=None,
                ground_reference=None,
                category=None,
                explanation=body.explanation,
                template=body.template,
            )
            if body.action == "decide"
            else None,
            reason=body.reason,
            into=body.into,
        ),
    )
    return jsonify(
        {
            "done": [o.case_id for o in outcomes if o.done],
            "refused": [
                {"case_id": o.case_id, "code": o.code, "message": o.message}
                for o in outcomes
                if not o.done
            ],
            "decisions": {str(o.case_id): o.decision_id for o in outcomes if o.decision_id},
        }
    )


@api_route(
    bp,
    "/cases/search",
    scopes=MODERATOR,
    query={
        "q": {
            "type": "string",
            "pattern": schemas.NOT_BLANK,
            "maxLength": search.MAX_QUERY,
            "description": "what to search for",
            "required": True,
        },
        "limit": {"type": "integer", "minimum": 1, "maximum": 9999, "default": 50},
    },
    summary="Search cases by model id, uploader, notifier e-mail, notice or order reference, "
    "and words of notices, notes and decisions; best first",
    responses={200: "items: the cases (as in the queue) with score and why they matched"},
    tags=TAGS,
)
def search_cases():
    staff_user()
    limit = request.args.get("limit", "50")
    hits = search.search_cases(
        db(),
        query=request.args.get("q", ""),
        secret=runtime().keys.secret_key,
        limit=int(limit) if limit.isdigit() and len(limit) < 5 else 50,
    )
    cases = {
        c.id: c for c in db().exec(select(Case).where(col(Case.id).in_([h.case_id for h in hits])))
    }
    repos = schemas.repos_for(db(), list(cases.values()))
    return jsonify(
        {
            "items": [
                {
                    **schemas.case_summary(cases[h.case_id], repos.get(cases[h.case_id].repo_pk)),
                    "score": round(h.score, 4),
                    "matched": h.why,
                }
                for h in hits
                if h.case_id in cases
            ]
        }
    )


@api_route(
    bp,
    "/cases/<int:case_id>/wrong-match",
    methods=["POST"],
    scopes=MODERATOR,
    body=WrongMatchBody,
    rules="the case must have a hash match",
    summary="Mark the case's hash match wrong: suppress the entries, queue the exchanges' feedback",
    responses={200: "{case_id, lists, suppressed, feedback_queued}"},
    tags=TAGS,
)
def wrong_match(case_id: int):
    staff_user(CASE_WORKERS, what="mark matches wrong")
    body = json_body(WrongMatchBody)
    return jsonify(
        false_match.mark_match_wrong(
            session=db(), actor=actor(), case_id=case_id, reason=body.reason
        )
    )


# --- quality sampling ----------------------------------------------------------------------------


@api_route(
    bp,
    "/samples",
    scopes=MODERATOR,
    summary="Quality samples waiting for your second review (never your own decisions); each "
    "without the first decision",
    responses={200: "items"},
    tags=TAGS,
)
def list_samples():
    user = staff_user()
    found = sampling.open_samples(db(), user=user, policy=_policy())
    return jsonify({"items": [sampling.blind_view(db(), s) for s in found]})


@api_route(
    bp,
    "/samples/<int:sample_id>/review",
    methods=["POST"],
    scopes=MODERATOR,
    body=schemas.SampleReviewBody,
    summary="Submit your own decision on a sampled case; the answer compares it with the first "
    "decision (agrees: same action, ground and category)",
    responses={200: "the review and the first decision"},
    tags=TAGS,
)
def review_sample(sample_id: int):
    user = staff_user(CASE_WORKERS, what="review quality samples")
    body = json_body(schemas.SampleReviewBody)
    sample = sampling.review_sample(
        session=db(),
        sample_id=sample_id,
        user=user,
        actor=actor(),
        action=body.action,
        ground=body.ground,
        category=body.category,
        policy=_policy(),
    )
    return jsonify(sampling.outcome(db(), sample))
