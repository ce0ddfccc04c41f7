"""Public pages: the notice form (no account needed), its receipt, and the appeal form behind a signed link."""

from __future__ import annotations

from flask import make_response, redirect, render_template, request, url_for
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.exceptions import TooManyRequests

from hostguard.cases import appeals, intake
from hostguard.cases.models import Notice
from hostguard.errors import HostguardError, NotFound, TooLarge
from hostguard.web.access import actor, db, public_route, runtime
from hostguard.web.forms import FormError, form_error
from hostguard.web.public import bp
from hostguard.web.security import limiter

MAX_FORM_BYTES = 64 * 1024


def _receipts() -> URLSafeSerializer:
    return URLSafeSerializer(runtime().keys.secret_key, salt="hostguard.notice-receipt")


def _form(values: dict | None = None, error: FormError | None = None, status: int = 200):
    html = render_template(
        "public/notice_form.html",
        categories=runtime().policy.categories.values(),
        values=values or {},
        error=error,
    )
    return make_response(html, status)


@public_route(bp, "/")
def notice_form():
    return _form()


@public_route(bp, "/", methods=["POST"])
@limiter.limit("30 per hour", methods=["POST"])
def submit_notice_form():
    if (request.content_length or 0) > MAX_FORM_BYTES:
        raise TooLarge("the notice is larger than this form accepts (64 KB)")
    texts = {
        k: request.form.get(k, "") for k in ("items", "category", "explanation", "name", "email")
    }
    good_faith = request.form.get("good_faith") == "yes"
    values: dict[str, str | bool] = {**texts, "good_faith": good_faith}
    items = [line.strip() for line in texts["items"].splitlines() if line.strip()]
    data = intake.NoticeInput(
        items=items,
        category=texts["category"],
        explanation=texts["explanation"],
        notifier_name=texts["name"] or None,
        notifier_email=texts["email"] or None,
        good_faith=good_faith,
    )
    try:
        notice, _ = intake.submit_notice(
            session=db(),
            runtime=runtime(),
            actor=actor(),
            data=data,
            client=request.remote_addr,
            policy=runtime().policy,
        )
    except intake.RateLimited as exc:
        raise TooManyRequests(exc.message) from None
    except HostguardError as exc:
        return _form(
            values, _notice_error(exc, values, items), 413 if isinstance(exc, TooLarge) else 422
        )
    return redirect(url_for("public.notice_receipt", r=_receipts().dumps(notice.id)), code=303)


def _notice_error(exc: HostguardError, values: dict, items: list[str]) -> FormError:
    """The error pointed at the notice form's field it concerns."""
    policy = runtime().policy
    name = values["name"].strip()
    if len(items) > policy.notices.max_items:
        too_large = "items"
    elif len(values["explanation"].strip()) > policy.notices.max_explanation_chars:
        too_large = "explanation"
    else:
        too_large = "name" if len(name) > 200 else "email"
    return form_error(
        exc,
        too_large=too_large,
        codes={
            "no_items": "items",
            "invalid_model_id": "items",
            "unsupported_host": "items",
            "invalid_category": "category",
            "missing_explanation": "explanation",
            "missing_good_faith": "good_faith",
            "invalid_email": "email",
            "missing_contact": "email" if name else "name",
        },
    )


@public_route(bp, "/receipt")
def notice_receipt():
    try:
        notice_id = _receipts().loads(request.args.get("r", ""))
    except BadSignature:
        raise NotFound("this receipt link is not valid") from None
    notice = db().get(Notice, notice_id)
    if notice is None:
        raise NotFound("this receipt link is not valid")
    category = runtime().policy.categories.get(notice.category)
    return render_template(
        "public/notice_receipt.html",
        notice=notice,
        category=category.label if category else notice.category,
    )


def _appeal_claims():
    return appeals.read_appeal_token(runtime(), request.values.get("token", ""))


@public_route(bp, "/appeal")
def appeal_form():
    claims = _appeal_claims()
    case = intake.get_case(db(), claims["c"])
    assert case.id is not None  # get_case loads a stored case
    decision = intake.latest_decision(db(), case.id)
    return render_template(
        "public/appeal_form.html",
        claims=claims,
        decision=decision,
        token=request.args.get("token"),
        error=None,
    )


@public_route(bp, "/appeal", methods=["POST"])
def appeal_submit():
    claims = _appeal_claims()
    notice_id = int(claims["r"]) if claims["a"] == "notifier" else None
    try:
        appeal = appeals.file_appeal(
            session=db(),
            case_id=claims["c"],
            appellant=claims["a"],
            reason=request.form.get("reason", ""),
            notice_id=notice_id,
            policy=runtime().policy,
            actor=f"notifier:notice:{claims['r']}"
            if claims["a"] == "notifier"
            else f"uploader:{claims['r']}",
        )
    except HostguardError as exc:
        decision = intake.latest_decision(db(), claims["c"])
        html = render_template(
            "public/appeal_form.html",
            claims=claims,
            decision=decision,
            token=request.form.get("token"),
            error=exc.message,
        )
        return make_response(html, 422)
    return render_template("public/appeal_receipt.html", appeal=appeal)


def _suspension_page(sanction_id: int, *, token: str | None, error: str | None = None):
    sanction = appeals.get_suspension(db(), sanction_id)
    return render_template(
        "public/suspension_appeal_form.html", sanction=sanction, token=token, error=error
    )


@public_route(bp, "/suspension-appeal")
def suspension_appeal_form():
    token = request.args.get("token", "")
    return _suspension_page(appeals.read_suspension_appeal_token(runtime(), token), token=token)


@public_route(bp, "/suspension-appeal", methods=["POST"])
def suspension_appeal_submit():
    token = request.form.get("token", "")
    sanction_id = appeals.read_suspension_appeal_token(runtime(), token)
    try:
        appeal = appeals.file_suspension_appeal(
            session=db(),
            sanction_id=sanction_id,
            reason=request.form.get("reason", ""),
            policy=runtime().policy,
            actor=appeals.get_suspension(db(), sanction_id).subject,
        )
    except HostguardError as exc:
        db().rollback()
        return make_response(_suspension_page(sanction_id, token=token, error=exc.message), 422)
    return render_template("public/appeal_receipt.html", appeal=appeal)
