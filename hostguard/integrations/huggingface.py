"""Hugging Face Hub: the webhook's secret and events, and repositories read with `huggingface_hub`.

Only what talks to the Hub lives here; what hostguard does with an event (queue a check, run
it, quarantine or release the repo, open a case) is `hostguard.workflows.hub`, and carrying a
quarantine or a restore out on the Hub is the actioner's (`hostguard.integrations.actioners`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict
from urllib.parse import quote

from hostguard.errors import AuthenticationRequired, InvalidInput, Unavailable

if TYPE_CHECKING:
    from hostguard.runtime import Runtime

IMAGE_EXT = (".png", ".jpg", ".jpeg", ".webp")
HANDLED_SCOPES = ("repo", "repo.content")


def hub_api(runtime: Runtime):
    from huggingface_hub import HfApi

    settings = runtime.settings
    return HfApi(endpoint=settings.hf_endpoint or None, token=settings.hf_token or None)


def check_secret(runtime: Runtime, supplied: str | None) -> None:
    expected = runtime.settings.hf_webhook_secret
    if not expected:
        raise Unavailable(
            "the Hugging Face webhook is not configured (HOSTGUARD_HF_WEBHOOK_SECRET)"
        )
    if not hmac.compare_digest((supplied or "").encode(), expected.encode()):
        raise AuthenticationRequired(
            "wrong or missing X-Webhook-Secret", code="invalid_webhook_secret"
        )


class HubEvent(TypedDict):
    """One check a webhook event asks for (`parse_event`)."""

    repo_id: str
    revision: str
    webhook_id: str
    content: bool  # a content event (`repo.content`), not a settings one
    fingerprint: str  # of what the event says about visibility


def parse_event(data) -> list[HubEvent]:
    """The (repo, revision) checks an event asks for; [] for events we do not act on."""
    if not isinstance(data, dict):
        raise InvalidInput("the webhook body must be a JSON object", code="invalid_payload")
    event = data.get("event")
    if not isinstance(event, dict):
        event = {}
    repo = data.get("repo")
    if not isinstance(repo, dict):
        repo = {}
    scope, action = str(event.get("scope", "")), str(event.get("action", ""))
    broad = next(
        (
            s
            for s in sorted(HANDLED_SCOPES, key=len, reverse=True)
            if scope == s or scope.startswith(s + ".")
        ),
        None,
    )
    if broad is None or action not in ("create", "update") or repo.get("type", "model") != "model":
        return []
    name = repo.get("name")
    if not isinstance(name, str) or "/" not in name:
        raise InvalidInput("repo.name must be like owner/name", code="invalid_payload")
    shas: list[str] = [
        r["newSha"]
        for r in data.get("updatedRefs") or []
        if isinstance(r, dict)
        and str(r.get("ref", "")).startswith("refs/heads/")
        and r.get("newSha")
    ]
    if not shas and isinstance(repo.get("headSha"), str):
        shas = [repo["headSha"]]
    webhook_id = (
        str((data.get("webhook") or {}).get("id", ""))
        if isinstance(data.get("webhook"), dict)
        else ""
    )
    # What the event says about visibility: a `repo.config` event for an unchanged sha (the repo
    # made public, say) is a new question, not a replay of the content event.
    settings = {"private": repo.get("private"), "updatedConfig": data.get("updatedConfig")}
    fingerprint = hashlib.sha256(
        json.dumps(settings, sort_keys=True, default=str).encode()
    ).hexdigest()[:16]
    return [
        {
            "repo_id": name,
            "revision": sha,
            "webhook_id": webhook_id,
            "content": broad == "repo.content",
            "fingerprint": fingerprint,
        }
        for sha in dict.fromkeys(shas)
    ]


class HubFile(TypedDict):
    """A file of a revision as `read_revision` lists it (the upload check's `files`)."""

    path: str
    size: int
    sha256: NotRequired[str]


class RevisionNotOnHub(Exception):
    """The repository, or the revision asked for, is not on the Hub (deleted, or never pushed)."""


def read_revision(
    runtime: Runtime, repo_id: str, revision: str, *, max_images: int
) -> tuple[object, list[HubFile], list[tuple[str, bytes]]]:
    """Repo info, file list and up to `max_images` sample images at the revision, through the real client.

    `RevisionNotOnHub` when the Hub has no such repository or revision; any other Hub error
    (`HfHubHTTPError`) is raised as it is, so the job asking is retried.
    """
    from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError

    api = hub_api(runtime)
    try:
        info = api.model_info(repo_id, revision=revision, files_metadata=True)
    except (RepositoryNotFoundError, RevisionNotFoundError) as exc:
        raise RevisionNotOnHub(exc.__class__.__name__) from exc
    limit = runtime.settings.max_image_bytes
    image_names: list[str] = []
    files: list[HubFile] = []
    for sibling in info.siblings or []:
        lfs = getattr(sibling, "lfs", None)
        size = getattr(sibling, "size", None)
        entry: HubFile = {"path": sibling.rfilename, "size": size or 0}
        if lfs is not None and getattr(lfs, "sha256", None):
            entry["sha256"] = lfs.sha256
        files.append(entry)
        oversized = (
            size is not None and size > limit
        )  # never downloaded; the size comes from the Hub
        if (
            sibling.rfilename.lower().endswith(IMAGE_EXT)
            and not oversized
            and len(image_names) < max_images
        ):
            image_names.append(sibling.rfilename)
    images = []
    with tempfile.TemporaryDirectory(prefix="hostguard-hf-") as cache:
        for name in image_names:
            path = api.hf_hub_download(repo_id, name, revision=revision, cache_dir=cache)
            data = Path(path).read_bytes()
            if len(data) <= limit:  # a sibling listed without a size
                images.append((name, data))
    return info, files, images


def read_model_card(runtime: Runtime, repo_id: str, revision: str, info) -> str | None:
    """The revision's README.md (the model card) as text; None when it has none."""
    if not any(s.rfilename == "README.md" for s in info.siblings or []):
        return None
    with tempfile.TemporaryDirectory(prefix="hostguard-hf-") as cache:
        path = hub_api(runtime).hf_hub_download(
            repo_id, "README.md", revision=revision, cache_dir=cache
        )
        return Path(path).read_text(encoding="utf-8", errors="replace")


def card_edit_url(runtime: Runtime, repo_id: str) -> str:
    """Where the uploader edits the model card on the Hub."""
    endpoint = (runtime.settings.hf_endpoint or "https://huggingface.co").rstrip("/")
    return f"{endpoint}/{repo_id}/edit/main/README.md"


def card_metadata(info) -> dict[str, Any]:
    """The model card's metadata (its YAML header) in what `read_revision` read; {} without one."""
    card = getattr(info, "card_data", None)
    data = card.to_dict() if card is not None and hasattr(card, "to_dict") else (card or {})
    return data if isinstance(data, dict) else {}


def settings_of(info) -> dict[str, Any]:
    """The repo's access settings in what `read_revision` read: {"private": bool, "gated": ...}."""
    return {
        "private": bool(getattr(info, "private", False)),
        "gated": getattr(info, "gated", False) or False,
    }


def _content_of(info) -> dict[str, tuple]:
    """path -> what identifies its content on the Hub (size, blob id, LFS sha256); the card left out."""
    content = {}
    for sibling in info.siblings or []:
        if sibling.rfilename == "README.md":
            continue
        lfs = getattr(sibling, "lfs", None)
        content[sibling.rfilename] = (
            getattr(sibling, "size", None),
            getattr(sibling, "blob_id", None),
            getattr(lfs, "sha256", None) if lfs is not None else None,
        )
    return content


def same_content_as(runtime: Runtime, repo_id: str, info) -> Callable[[str], bool]:
    """Whether another revision holds exactly the files of this one, the model card apart."""
    from huggingface_hub.errors import HfHubHTTPError

    mine = _content_of(info)

    def same(other: str) -> bool:
        try:
            theirs = hub_api(runtime).model_info(repo_id, revision=other, files_metadata=True)
        except HfHubHTTPError:
            return False
        return _content_of(theirs) == mine

    return same


def visibility_of(settings: dict) -> str:
    """`private`, `gated` or `public`, for settings as `settings_of` gives them."""
    return (
        "private" if settings.get("private") else ("gated" if settings.get("gated") else "public")
    )


def is_head(runtime: Runtime, repo_id: str, revision: str) -> bool:
    """Whether `revision` is what the repo serves now: only a pass of the head lifts a quarantine
    (a replayed webhook or a re-check of an older revision must not lift one a newer one needs)."""
    head = getattr(hub_api(runtime).repo_info(repo_id), "sha", None)
    return head is not None and head == revision  # a Hub that names no head lifts nothing


def resolve_url(runtime: Runtime, repo_id: str, revision: str, path: str) -> str:
    """The Hub's URL of a file at a revision (what the console links to; hostguard keeps no copy)."""
    endpoint = (runtime.settings.hf_endpoint or "https://huggingface.co").rstrip("/")
    return f"{endpoint}/{repo_id}/resolve/{revision}/{quote(path)}"
