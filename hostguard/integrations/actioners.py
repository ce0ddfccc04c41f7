"""Actioners for real platforms (signed webhook, Hugging Face Hub); registered on import."""

from __future__ import annotations

import uuid
from dataclasses import asdict

from hostguard.integrations.webhooks import DeliveryError, post_signed
from hostguard.platform.actions import PlatformAction, register_actioner


@register_actioner
class WebhookActioner:
    """Sends each action as a signed webhook; a failure raises so the action job is retried."""

    name = "webhook"

    def apply(self, action: PlatformAction, *, runtime) -> dict:
        settings = runtime.settings
        if not settings.webhook_url or not settings.webhook_secret:
            raise DeliveryError("set HOSTGUARD_WEBHOOK_URL and HOSTGUARD_WEBHOOK_SECRET for the webhook actioner")
        delivery_id = str(uuid.uuid4())
        status = post_signed(url=settings.webhook_url, secret=settings.webhook_secret,
                             event=f"action.{action.kind}", delivery_id=delivery_id, payload=asdict(action))
        return {"applied": True, "actioner": self.name, "delivery_id": delivery_id, "status": status}


@register_actioner
class HuggingFaceActioner:
    """Carries actions out on a Hugging Face Hub with `HfApi` (private/gated, discussions)."""

    name = "huggingface"

    def apply(self, action: PlatformAction, *, runtime) -> dict:
        from hostguard.integrations.huggingface import hub_api

        api = hub_api(runtime)
        repo_type = action.repo_type or "model"
        mode = runtime.settings.hf_quarantine
        if action.kind in ("quarantine", "take_down", "restrict"):
            if action.kind == "restrict" or (action.kind == "quarantine" and mode == "gated"):
                api.update_repo_settings(action.repo_id, gated="manual", repo_type=repo_type)
                return {"applied": True, "actioner": self.name, "setting": "gated"}
            # a take-down is private until a reviewer deletes the repo by hand (never automatic)
            api.update_repo_settings(action.repo_id, private=True, repo_type=repo_type)
            return {"applied": True, "actioner": self.name, "setting": "private"}
        if action.kind == "restore":
            api.update_repo_settings(action.repo_id, private=False, gated=False, repo_type=repo_type)
            return {"applied": True, "actioner": self.name, "setting": "public"}
        if action.kind == "notify_uploader" and action.repo_id:
            discussion = api.create_discussion(action.repo_id, title=action.extra.get("title", "hostguard"),
                                               description=action.message, repo_type=repo_type)
            return {"applied": True, "actioner": self.name, "discussion": discussion.num}
        return {"applied": False, "actioner": self.name,
                "reason": f"'{action.kind}' has no Hub API; the platform's staff must do it"}
