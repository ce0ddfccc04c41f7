"""Routes of the console surface for administration: staff users and their roles, API keys, the
policy in force.

What `hostguard user ...` and `hostguard apikey ...` do, for administrators in the browser. A new
user's initial password and a new key's secret are shown once, on the page that answers the
form (never in a flash message or a redirect), and only their hashes are stored.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import flash, redirect, render_template, request, url_for

from hostguard.accounts.models import ADMINS, AUDIT_READERS, CASE_WORKERS, Role, Scope
from hostguard.accounts.service import (
    create_api_key,
    create_user,
    list_api_keys,
    list_users,
    revoke_api_key,
    set_active,
    set_role,
)
from hostguard.errors import HostguardError
from hostguard.web.access import actor, db, runtime, staff_route
from hostguard.web.console import bp
from hostguard.web.forms import FormError

ROLES = [r.value for r in Role]
SCOPES = [s.value for s in Scope]
EMAIL_MAX = 320


def _users_page(*, error: FormError | None = None, form=None, created=None, status=200):
    session = db()
    return (
        render_template(
            "console/admin_users.html",
            users=list_users(session=session),
            roles=ROLES,
            error=error,
            form=form or {},
            created=created,
        ),
        status,
    )


@staff_route(bp, "/admin/users", roles=ADMINS)
def admin_users():
    """Staff users, their roles and whether they may sign in; the form to add one."""
    return _users_page()


@staff_route(bp, "/admin/users", roles=ADMINS, methods=["POST"])
def admin_user_create():
    form = request.form
    email, role = form.get("email", "").strip(), form.get("role", "")
    fields: dict[str, str] = {}
    if not email or "@" not in email or len(email) > EMAIL_MAX:
        fields["email"] = "Give the new user's e-mail address (name@example.org)."
    if role not in ROLES:
        fields["role"] = f"Choose a role: {', '.join(r.replace('_', ' ') for r in ROLES)}."
    if fields:
        return _users_page(
            error=FormError("; ".join(fields.values()), fields), form=form, status=422
        )
    password = secrets.token_urlsafe(15)  # 20 characters; the user changes it with `user passwd`
    session = db()
    try:
        user = create_user(
            session=session, email=email, password=password, role=role, actor=actor()
        )
    except HostguardError as exc:
        session.rollback()
        return _users_page(
            error=FormError(exc.message, {"email": exc.message}), form=form, status=422
        )
    session.commit()
    return _users_page(created={"email": user.email, "role": user.role, "password": password})


@staff_route(bp, "/admin/users/<int:user_id>/role", roles=ADMINS, methods=["POST"])
def admin_user_role(user_id: int):
    session = db()
    user = set_role(
        session=session, user_id=user_id, role=request.form.get("role", ""), actor=actor()
    )
    session.commit()
    flash(f"{user.email} now has the role {user.role.replace('_', ' ')}.", "success")
    return redirect(url_for("console.admin_users"), code=303)


@staff_route(bp, "/admin/users/<int:user_id>/active", roles=ADMINS, methods=["POST"])
def admin_user_active(user_id: int):
    session = db()
    active = request.form.get("active") == "1"
    try:
        user = set_active(session=session, user_id=user_id, active=active, actor=actor())
    except HostguardError as exc:
        session.rollback()
        return _users_page(error=FormError(exc.message, {}, exc.message), status=409)
    session.commit()
    flash(
        f"{user.email} {'may sign in again' if active else 'is deactivated: signed out, API keys refused'}.",
        "success",
    )
    return redirect(url_for("console.admin_users"), code=303)


def _keys_page(*, error: FormError | None = None, form=None, created=None, status=200):
    session = db()
    users = list_users(session=session)
    return (
        render_template(
            "console/admin_keys.html",
            keys=list_api_keys(session=session),
            emails={u.id: u.email for u in users},
            case_workers=[u for u in users if u.active and u.role in CASE_WORKERS],
            scopes=SCOPES,
            error=error,
            form=form,
            created=created,
        ),
        status,
    )


@staff_route(bp, "/admin/keys", roles=ADMINS)
def admin_keys():
    """API keys: name, scopes, who a moderator key acts for, created, last used, revoked. Never a secret."""
    return _keys_page()


@staff_route(bp, "/admin/keys", roles=ADMINS, methods=["POST"])
def admin_key_create():
    form = request.form
    name, scopes, user_email = (
        form.get("name", "").strip(),
        form.getlist("scopes"),
        form.get("user", ""),
    )
    fields: dict[str, str] = {}
    if not name:
        fields["name"] = (
            "Give the key a name that says who uses it, e.g. the platform's upload hook."
        )
    elif len(name) > 200:
        fields["name"] = "The name is longer than 200 characters."
    if not scopes or any(s not in SCOPES for s in scopes):
        fields["scopes"] = "Tick at least one scope."
    if Scope.MODERATOR in scopes and not user_email:
        fields["user"] = "A moderator key acts for a staff member: choose who."
    if fields:
        return _keys_page(
            error=FormError("; ".join(fields.values()), fields), form=form, status=422
        )
    session = db()
    try:
        key, plaintext = create_api_key(
            session=session, name=name, scopes=scopes, user_email=user_email or None, actor=actor()
        )
    except HostguardError as exc:
        session.rollback()
        return _keys_page(error=FormError(exc.message, {}, exc.message), form=form, status=422)
    session.commit()
    return _keys_page(created={"id": key.id, "name": key.name, "secret": plaintext})


@staff_route(bp, "/admin/keys/<int:key_id>/revoke", roles=ADMINS, methods=["POST"])
def admin_key_revoke(key_id: int):
    session = db()
    key = revoke_api_key(session=session, ident=f"id:{key_id}", actor=actor())
    session.commit()
    flash(f"API key {key.name} (hg_{key.prefix}_…) is revoked.", "success")
    return redirect(url_for("console.admin_keys"), code=303)


def _cell(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_cell(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_cell(v) for v in value) or "—"
    if value is None:
        return "—"
    return str(value)


def policy_tables(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Each section of the policy as a table: (caption, column names, rows of cells)."""
    tables = []
    for section, value in data.items():
        if section in {"id", "version", "description"}:
            continue
        if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
            columns = list(dict.fromkeys(k for v in value.values() for k in v))
            rows = [[key, *(_cell(v.get(c)) for c in columns)] for key, v in value.items()]
            tables.append({"section": section, "columns": ["name", *columns], "rows": rows})
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            columns = list(dict.fromkeys(k for v in value for k in v))
            rows = [[_cell(v.get(c)) for c in columns] for v in value]
            tables.append({"section": section, "columns": columns, "rows": rows})
        elif isinstance(value, dict):
            rows = [[key, _cell(v)] for key, v in value.items()]
            tables.append({"section": section, "columns": ["setting", "value"], "rows": rows})
        else:
            tables.append({"section": section, "columns": ["value"], "rows": [[_cell(value)]]})
    return tables


@staff_route(bp, "/admin/policy", roles=ADMINS | AUDIT_READERS)
def admin_policy():
    """The policy in force, section by section as tables (never as YAML text)."""
    policy = runtime().policy
    return render_template(
        "console/admin_policy.html",
        policy=policy,
        source=runtime().settings.policy_file,
        tables=policy_tables(policy.model_dump(mode="json")),
    )
