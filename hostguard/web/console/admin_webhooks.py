"""Routes of the console surface for webhook endpoints: what `hostguard webhook ...` does, for
administrators; a new endpoint's secret is shown once, on the page that answers the form."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from hostguard.accounts.models import ADMINS
from hostguard.errors import HostguardError
from hostguard.platform.webhooks import (
    add_endpoint,
    endpoint_public,
    list_endpoints,
    remove_endpoint,
)
from hostguard.web.access import actor, db, runtime, staff_route
from hostguard.web.console import bp
from hostguard.web.forms import FormError


def _page(*, error: FormError | None = None, form=None, created=None, status=200):
    session = db()
    return (
        render_template(
            "console/admin_webhooks.html",
            endpoints=[endpoint_public(session, e) for e in list_endpoints(session)],
            env_url=runtime().settings.webhook_url,
            error=error,
            form=form,
            created=created,
        ),
        status,
    )


@staff_route(bp, "/admin/webhooks", roles=ADMINS)
def admin_webhooks():
    """Webhook endpoints: name, URL, event types, deliveries. Never a secret."""
    return _page()


@staff_route(bp, "/admin/webhooks", roles=ADMINS, methods=["POST"])
def admin_webhook_add():
    form = request.form
    events = [e.strip() for e in form.get("events", "").replace(",", " ").split() if e.strip()]
    session = db()
    try:
        endpoint, secret = add_endpoint(
            session,
            runtime=runtime(),
            actor=actor(),
            name=form.get("name", ""),
            url=form.get("url", ""),
            events=events,
        )
    except HostguardError as exc:
        session.rollback()
        return _page(error=FormError(exc.message, {}, exc.message), form=form, status=422)
    session.commit()
    return _page(created={"name": endpoint.name, "secret": secret})


@staff_route(bp, "/admin/webhooks/<int:endpoint_id>/remove", roles=ADMINS, methods=["POST"])
def admin_webhook_remove(endpoint_id: int):
    session = db()
    endpoint = remove_endpoint(session, actor=actor(), ident=endpoint_id)
    session.commit()
    flash(f"The webhook endpoint {endpoint.url} is removed.", "success")
    return redirect(url_for("console.admin_webhooks"), code=303)
