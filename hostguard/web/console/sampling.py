"""Console pages for quality sampling: the samples waiting for a second review, the blind review
form, and the comparison with the first decision once submitted."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from hostguard.accounts.models import CASE_WORKERS
from hostguard.cases import sampling
from hostguard.cases.measures import DecisionAction
from hostguard.errors import HostguardError
from hostguard.web.access import actor, db, runtime, staff_route
from hostguard.web.console import bp


@staff_route(bp, "/samples", roles=CASE_WORKERS)
def samples():
    found = sampling.open_samples(db(), user=g.user, policy=runtime().policy)
    return render_template(
        "console/samples.html",
        samples=found,
        share=runtime().policy.moderation.sampling.share,
        reviewer=g.user.role in runtime().policy.moderation.sampling.roles,
    )


@staff_route(bp, "/samples/<int:sample_id>", roles=CASE_WORKERS)
def sample_page(sample_id: int):
    sample = sampling.get_sample(db(), sample_id)
    policy = runtime().policy
    done = sample.status != sampling.OPEN
    if not done and not sampling.may_review(sample, g.user, policy=policy):
        flash("You took the first decision on this case, or your role reviews no samples.", "error")
        return redirect(url_for("console.samples"), code=303)
    return render_template(
        "console/sample.html",
        sample=sample,
        view=sampling.blind_view(db(), sample),
        outcome=sampling.outcome(db(), sample) if done else None,
        actions=[a.value for a in DecisionAction if a != DecisionAction.ESCALATE],
        categories=policy.categories.values(),
    )


@staff_route(bp, "/samples/<int:sample_id>/review", roles=CASE_WORKERS, methods=["POST"])
def sample_review(sample_id: int):
    try:
        sample = sampling.review_sample(
            session=db(),
            sample_id=sample_id,
            user=g.user,
            actor=actor(),
            action=request.form.get("action", ""),
            ground=request.form.get("ground", ""),
            category=request.form.get("category", ""),
            policy=runtime().policy,
        )
    except HostguardError as exc:
        db().rollback()
        flash(exc.message, "error")
        return redirect(url_for("console.sample_page", sample_id=sample_id), code=303)
    flash(
        "Review recorded: "
        + ("you agree with the first decision." if sample.agrees else "you differ from it."),
        "success",
    )
    return redirect(url_for("console.sample_page", sample_id=sample_id), code=303)
