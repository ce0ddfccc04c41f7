"""The moderator console at /console: sign-in, the dashboard and each domain's pages."""

from __future__ import annotations

from flask import Blueprint, current_app, request
from flask_login import current_user

bp = Blueprint("console", __name__, url_prefix="/console")

# The console's sections in navigation order: (endpoint, label, what it is for, endpoints it covers).
SECTIONS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    (
        "console.queue",
        "Queue",
        "Cases waiting for a decision, most urgent first.",
        ("console.case_page",),
    ),
    ("console.appeals", "Appeals", "Appeals against decisions, decided by a senior moderator.", ()),
    (
        "console.samples",
        "Samples",
        "Decisions drawn for a blind second review (quality sampling).",
        ("console.sample_page",),
    ),
    (
        "console.orders",
        "Orders",
        "Takedown orders from authorities, their deadlines and feedback.",
        ("console.order_page",),
    ),
    (
        "console.kyu_list",
        "Uploader checks",
        "Know-your-uploader submissions waiting for legal review.",
        ("console.kyu_detail", "console.kyu_view_personal", "console.kyu_reject"),
    ),
    ("console.hashlists", "Hash lists", "Which hash lists are loaded (never their contents).", ()),
    ("console.exchanges", "Exchanges", "Hash exchanges feeding the lists, and their state.", ()),
    ("console.audit", "Audit", "Every change, who made it and why.", ()),
    (
        "console.statements",
        "Statements",
        "Statements of reasons and their submission to the Transparency Database.",
        (),
    ),
    (
        "console.flaggers_list",
        "Trusted flaggers",
        "The register of trusted flaggers (Art. 22): areas, status, figures.",
        ("console.flagger_page",),
    ),
    (
        "console.dataset_scans",
        "Dataset scans",
        "Training datasets scanned against the hash lists, with progress and matches.",
        ("console.dataset_scan_page",),
    ),
    (
        "console.dashboard",
        "Dashboard",
        "Queue depth, overdue cases, deadlines met, time to decision and throughput.",
        (),
    ),
    (
        "console.admin_users",
        "Administration",
        "Staff users and their roles, API keys, webhook endpoints.",
        (
            "console.admin_user_create",
            "console.admin_keys",
            "console.admin_key_create",
            "console.admin_policy",
            "console.admin_hashlists",
            "console.admin_hashlist_import",
            "console.admin_webhooks",
            "console.admin_webhook_add",
        ),
    ),
)


def console_sections() -> list[dict]:
    """The sections the signed-in user's role may open, each marked `current` when the page is in it."""
    if not current_user.is_authenticated:
        return []
    sections = []
    for endpoint, label, description, members in SECTIONS:
        view = current_app.view_functions.get(endpoint)
        access = getattr(view, "access", None)
        if access is None or current_user.role not in access.roles:
            continue
        current = request.endpoint == endpoint or request.endpoint in members
        sections.append(
            {"endpoint": endpoint, "label": label, "description": description, "current": current}
        )
    return sections


@bp.app_context_processor
def _navigation() -> dict:
    return {"console_sections": console_sections}


from hostguard.web.console import admin as _admin  # noqa: E402,F401
from hostguard.web.console import admin_hashlists as _admin_hashlists  # noqa: E402,F401
from hostguard.web.console import admin_webhooks as _admin_webhooks  # noqa: E402,F401
from hostguard.web.console import (  # noqa: E402,F401
    auth,
    cases,
    datasets,
    exchanges,
    flaggers,
    hashlists,
    hotline,
    kyu,
    labels,
)
from hostguard.web.console import dashboard as _dashboard  # noqa: E402,F401
from hostguard.web.console import sampling as _sampling  # noqa: E402,F401
from hostguard.web.console import statements as _statements  # noqa: E402,F401
from hostguard.web.console import wellness as _wellness  # noqa: E402,F401
