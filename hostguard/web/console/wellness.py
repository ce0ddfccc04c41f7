"""Moderator wellness in the console: a per-session count of the media seen, and a break asked for
at the policy's cap (`wellness.exposure_cap`).

Media itself is blurred and grey-scale by default wherever it appears (the `media-safe` class,
per-user override in the case page). The count lives in the signed-in session: each case page
rendered with sample images adds them; "I took a break" starts it again.
"""

from __future__ import annotations

from typing import Any

from flask import before_render_template, flash, redirect, session, url_for
from flask_login import current_user

from hostguard.accounts.models import STAFF
from hostguard.web.access import runtime, staff_route
from hostguard.web.console import bp

SEEN = "media_seen"
# the console pages that show media, and the context variable that lists it
MEDIA_PAGES = {"console/cases_detail.html": "samples"}


def _count_media(sender, template, context: dict[str, Any], **extra) -> None:
    variable = MEDIA_PAGES.get(template.name or "")
    if variable and current_user.is_authenticated:
        shown = len(context.get(variable) or ())
        if shown:
            session[SEEN] = int(session.get(SEEN, 0)) + shown


before_render_template.connect(_count_media)


def wellness_state() -> dict:
    """Media seen this session, the policy's cap, and whether to ask for a break now."""
    cap = runtime().policy.wellness.exposure_cap
    seen = int(session.get(SEEN, 0))
    return {"seen": seen, "cap": cap, "break_due": bool(cap) and seen >= cap}


@bp.app_context_processor
def _wellness() -> dict:
    return {"wellness_state": wellness_state}


@staff_route(bp, "/wellness/break", roles=STAFF, methods=["POST"])
def wellness_break():
    """The moderator took a break: the session's count starts again."""
    session[SEEN] = 0
    flash("Welcome back. The media count for this session starts again.", "success")
    return redirect(url_for("console.home"), code=303)
