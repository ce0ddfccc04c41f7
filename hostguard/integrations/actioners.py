"""Actioners for real platforms (signed webhook, Hugging Face Hub); registered on import."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from hostguard.db.types import utcnow
from hostguard.integrations.huggingface import hub_api
from hostguard.integrations.models import HubPriorSettings
from hostguard.jobs.service import commit_progress, without_transaction
from hostguard.platform.actions import ActionResult, PlatformAction, register_actioner
from hostguard.platform.webhooks import DeliveryError, job_delivery_id, send_event

if TYPE_CHECKING:
    from hostguard.runtime import Runtime

HIDING = ("quarantine", "restrict", "take_down")
LABEL_NOTICE = (
    "A moderator reviewed this model and decided to label it with this notice. "
    "It stays available; use it with care."
)


@register_actioner
class WebhookActioner:
    """Sends each action as a signed webhook through the delivery log (`webhook_deliveries`).

    The delivery id is derived from the action's job, so however often the job runs, the platform
    gets one delivery, and every retry of it carries the same `X-Hostguard-Delivery`. Retries and
    backoff are the delivery log's (`integrations.webhook` jobs), which records each attempt.
    """

    name = "webhook"

    def apply(
        self, action: PlatformAction, *, runtime: Runtime, session: Session | None = None, job=None
    ) -> ActionResult:
        settings = runtime.settings
        if not settings.webhook_url or not settings.webhook_secret:
            raise DeliveryError(
                "set HOSTGUARD_WEBHOOK_URL and HOSTGUARD_WEBHOOK_SECRET for the webhook actioner"
            )
        if session is None or job is None:
            raise ValueError(
                "the webhook actioner runs inside a platform.action job (session and job)"
            )
        delivery = send_event(
            session,
            runtime=runtime,
            event=f"action.{action.kind}",
            payload=asdict(action),
            delivery_id=job_delivery_id(job),
        )
        assert delivery is not None  # send_event returns None only without a webhook URL
        # hostguard changed nothing itself: the platform acts when the delivery lands
        return {
            "applied": False,
            "actioner": self.name,
            "delivery_id": delivery.delivery_id,
            "delivery": "queued",
        }


def _open_prior(session: Session, action: PlatformAction) -> HubPriorSettings | None:
    return session.exec(
        select(HubPriorSettings)
        .where(
            HubPriorSettings.repo_id == action.repo_id,
            HubPriorSettings.repo_type == (action.repo_type or "model"),
            col(HubPriorSettings.restored_at).is_(None),
        )
        .order_by(col(HubPriorSettings.recorded_at), col(HubPriorSettings.id))
    ).first()


def _given_prior(action: PlatformAction) -> dict[str, Any] | None:
    """`extra.prior` = {"private": bool, "gated": "auto" | "manual" | False}, when the action carries it."""
    given = action.extra.get("prior")
    if not isinstance(given, dict) or not isinstance(given.get("private"), bool):
        return None
    gated = given.get("gated") or False
    if gated not in ("auto", "manual", False):
        return None
    return {"private": given["private"], "gated": gated}


def _settings(prior: HubPriorSettings) -> dict[str, Any]:
    return {"private": prior.private, "gated": prior.gated or False}


@register_actioner
class HuggingFaceActioner:
    """Carries actions out on a Hugging Face Hub with `HfApi` (private/gated, discussions).

    Before the first action that hides or gates a repo, the repo's own settings (private, gated)
    are read from the Hub and kept (`HubPriorSettings`); `restore` puts back exactly those, so an
    overturned decision never makes a private or gated repo public. The Hub has no generic
    "label": a label restriction leaves access as the uploader had it (lifting any quarantine)
    and opens a discussion on the repo carrying the notice.

    In a job, the kept settings are committed before the Hub is changed, and the Hub calls are
    made with no transaction open (`without_transaction`): a slow Hub holds no database lock,
    and a retry after a failure or a crash past the Hub call (an answer lost on the way back)
    restores the settings from before, never hostguard's own change it would read back.
    """

    name = "huggingface"

    def apply(
        self, action: PlatformAction, *, runtime: Runtime, session: Session | None = None, job=None
    ) -> ActionResult:
        api = hub_api(runtime)
        repo_type = action.repo_type or "model"
        result: ActionResult = {"applied": True, "actioner": self.name}
        if action.kind in HIDING:
            if session is None:
                raise ValueError(
                    "the Hugging Face actioner needs a session to keep the repo's prior settings"
                )
            prior = _open_prior(session, action)
            if prior is None:
                # settings read before the action was queued are the safest "before"
                given = _given_prior(action)
                if given is None:
                    info = api.repo_info(action.repo_id, repo_type=repo_type)
                    given = {"private": bool(info.private), "gated": info.gated or False}
                assert action.repo_id is not None  # hiding actions always name their repo
                prior = HubPriorSettings(
                    repo_type=repo_type,
                    repo_id=action.repo_id,
                    private=given["private"],
                    gated=given["gated"] or None,
                    action=action.kind,
                    case_id=action.case_id,
                )
                session.add(prior)
                session.flush()
                commit_progress(session)  # kept before the Hub changes anything
            before, prior_id = _settings(prior), prior.id
            result["prior"] = before
            if action.kind == "restrict" and action.extra.get("restrict_mode") == "label":
                # access as the uploader had it (a quarantine ends), plus a public notice on the repo;
                # the discussion is public: a fixed notice, not the statement of reasons (the uploader
                # gets that through the outbox, and it may quote a notice)
                with without_transaction(session):
                    api.update_repo_settings(action.repo_id, repo_type=repo_type, **before)
                    discussion = api.create_discussion(
                        action.repo_id,
                        title=action.extra.get(
                            "title", "Moderation notice: this model is labelled"
                        ),
                        description=action.extra.get("notice", LABEL_NOTICE),
                        repo_type=repo_type,
                    )
                kept = session.get(HubPriorSettings, prior_id)
                assert kept is not None  # kept settings are never deleted
                kept.restored_at = utcnow()
                return {**result, "setting": "label", "discussion": discussion.num}
            if action.kind == "restrict" or (
                action.kind == "quarantine" and runtime.settings.hf_quarantine == "gated"
            ):
                # gated for everyone, and no more hidden than the uploader had it (a quarantine may have made it private)
                with without_transaction(session):
                    api.update_repo_settings(
                        action.repo_id,
                        gated="manual",
                        private=before["private"],
                        repo_type=repo_type,
                    )
                return {**result, "setting": "gated"}
            # a take-down is private until a reviewer deletes the repo by hand (never automatic)
            with without_transaction(session):
                api.update_repo_settings(action.repo_id, private=True, repo_type=repo_type)
            return {**result, "setting": "private"}
        if action.kind == "restore":
            prior = _open_prior(session, action) if session is not None else None
            settings = _settings(prior) if prior is not None else _given_prior(action)
            # without kept settings (e.g. a repo hidden before they were kept): what the action says
            if settings is None:
                return {
                    "applied": False,
                    "actioner": self.name,
                    "reason": "hostguard kept no settings from before it acted on this repo; left as it is",
                }
            prior_id = prior.id if prior is not None else None
            with without_transaction(session):
                api.update_repo_settings(action.repo_id, repo_type=repo_type, **settings)
            if prior_id is not None:
                assert session is not None  # prior_id was read through the session
                kept = session.get(HubPriorSettings, prior_id)
                assert kept is not None  # kept settings are never deleted
                kept.restored_at = utcnow()
            return {**result, "setting": "restored", "restored": settings}
        if action.kind == "notify_uploader" and action.repo_id:
            with without_transaction(session):
                discussion = api.create_discussion(
                    action.repo_id,
                    title=action.extra.get("title", "hostguard"),
                    description=action.message,
                    repo_type=repo_type,
                )
            return {**result, "discussion": discussion.num}
        return {
            "applied": False,
            "actioner": self.name,
            "reason": f"'{action.kind}' has no Hub API; the platform's staff must do it",
        }
