"""`HostguardClient`: the operator's API calls, retried safely, answering typed results.

Retries. A request is sent again, after a growing pause (`backoff` × 2^attempt, at most
`max_backoff` seconds, or the server's `Retry-After`), when:

- hostguard could not be reached (connection refused or timed out while connecting): the
  request never arrived, so any request may be sent again;
- hostguard answered 429 or 503: it did nothing (one transaction per request, rolled back);
- the connection broke after the request was sent (read timeout, reset), or a proxy in front
  of hostguard answered 502 or 504: only for requests
  that are safe to repeat — reads, and the upload check, which hostguard makes idempotent by
  its content (the same uploader, repository, revision, visibility, files and images give the
  same `check_id`, and whatever the first check opened is not opened again). A KYU submission,
  a certification or a notice is not repeated after such a break (it may have been recorded);
  the caller gets `ConnectionFailed` and decides.
"""

from __future__ import annotations

import base64
import email.utils
import os
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from hostguard_client.errors import ConnectionFailed, HostguardError, error_for
from hostguard_client.models import (
    Certification,
    CheckResult,
    KyuSubmission,
    NoticeCreated,
    ScanResult,
    UploaderStatus,
    UploadToken,
)

RETRY_STATUSES = frozenset({429, 503})  # hostguard did nothing: any request may be sent again
GATEWAY_STATUSES = frozenset({502, 504})  # a proxy in front lost hostguard: only safe requests
USER_AGENT = "hostguard-client/0.1"


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class HostguardClient:
    """The hostguard API for a platform (operator key) or a moderator (moderator key).

    >>> hg = HostguardClient("https://hostguard.example.org", api_key="hg_...")
    >>> result = hg.check_upload(uploader_id="u-42", repo_id="alice/model", revision=sha)
    >>> if result.held: send_user_to(result.required_steps[0].url)

    On an uploader's machine, give it the upload token the platform minted for them
    (`upload_token=`, or the HOSTGUARD_UPLOAD_TOKEN environment variable when neither is given):
    it checks and certifies for that uploader and repo only.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        max_retries: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        upload_token: str | None = None,
    ):
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if api_key and upload_token:
            raise HostguardError("give an API key or an upload token, not both")
        credential = api_key or upload_token
        if not credential:
            credential = os.environ.get("HOSTGUARD_UPLOAD_TOKEN") or None
        if credential:
            headers["Authorization"] = f"Bearer {credential.strip()}"
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=self.base_url, headers=headers, timeout=timeout, transport=transport
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HostguardClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transport -------------------------------------------------------------------------

    def _pause(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_backoff)
        delay: float = min(self.backoff * (2**attempt), self.max_backoff)
        return delay * (0.75 + random.random() / 4)  # a little jitter: retries do not stampede

    def request(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        files: Sequence[tuple[str, tuple[str, bytes, str]]] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Any:
        """Send one API request (retried as the module says) and return the decoded JSON answer."""
        url = path if path.startswith(("/.well-known", "http")) else f"/api/v1{path}"
        attempt = 0
        while True:
            retry_after: float | None = None
            try:
                response = self._http.request(
                    method, url, json=json, data=data, files=files, params=params
                )
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                failure: Exception = exc
            except httpx.TransportError as exc:  # sent, then the connection broke
                if not idempotent:
                    raise ConnectionFailed(
                        f"the connection to hostguard broke after {method} {url} was sent "
                        f"({exc.__class__.__name__}); it may have been recorded, so it was not "
                        "sent again"
                    ) from exc
                failure = exc
            else:
                if response.status_code < 400:
                    return response.json() if response.content else None
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                try:
                    body: Any = response.json()
                except ValueError:
                    body = response.text
                error = error_for(response.status_code, body, retry_after)
                retryable = response.status_code in RETRY_STATUSES or (
                    idempotent and response.status_code in GATEWAY_STATUSES
                )
                if not retryable or attempt >= self.max_retries:
                    raise error
                failure = error
            if attempt >= self.max_retries:
                raise ConnectionFailed(
                    f"could not reach hostguard at {self.base_url} after {attempt + 1} attempts: "
                    f"{failure.__class__.__name__}: {failure}"
                ) from failure
            self._sleep(self._pause(attempt, retry_after))
            attempt += 1

    # --- uploads ---------------------------------------------------------------------------

    def check_upload(
        self,
        *,
        uploader_id: str,
        repo_id: str,
        revision: str,
        visibility: str = "public",
        repo_type: str = "model",
        files: Iterable[Mapping[str, Any]] = (),
        sample_images: Iterable[tuple[str, bytes]] = (),
        username: str | None = None,
        email: str | None = None,
        repo: Mapping[str, Any] | None = None,
    ) -> CheckResult:
        """Ask whether an upload may go ahead (POST /uploads/check): allow, hold or block.

        `files`: `{"path", "size", "sha256"?}` per file; `sample_images`: (path, bytes) pairs.
        `repo`: further repo fields the server reads (for example `pipeline_tag`), merged in.
        Safe to retry: the same content gives the same check (see the module docstring).
        """
        uploader: dict[str, Any] = {"id": uploader_id}
        if username is not None:
            uploader["username"] = username
        if email is not None:
            uploader["email"] = email
        body: dict[str, Any] = {
            "uploader": uploader,
            "repo": {
                **(repo or {}),
                "id": repo_id,
                "type": repo_type,
                "revision": revision,
                "visibility": visibility,
            },
            "files": [dict(f) for f in files],
        }
        images = [
            {"path": path, "content_base64": base64.b64encode(content).decode()}
            for path, content in sample_images
        ]
        if images:
            body["sample_images"] = images
        answer = self.request("POST", "/uploads/check", json=body, idempotent=True)
        return CheckResult.from_json(answer)

    def get_check(self, check_id: str) -> CheckResult:
        """A check's current decision (GET /uploads/checks/{id}); it changes as steps are done."""
        answer = self.request("GET", f"/uploads/checks/{_segment(check_id)}", idempotent=True)
        return CheckResult.from_json(answer)

    def submit_kyu(
        self,
        uploader_id: str,
        *,
        legal_name: str,
        address: str,
        country: str,
        date_of_birth: str,
        id_document: bytes,
        filename: str = "id-document",
        content_type: str = "application/octet-stream",
    ) -> KyuSubmission:
        """Send an uploader's identity details and ID document for review (not repeated on a break)."""
        answer = self.request(
            "POST",
            f"/uploaders/{_segment(uploader_id)}/kyu",
            data={
                "legal_name": legal_name,
                "address": address,
                "country": country,
                "date_of_birth": date_of_birth,
            },
            files=[("id_document", (filename, id_document, content_type))],
            idempotent=False,
        )
        return KyuSubmission(kyu_id=int(answer["kyu_id"]), status=str(answer["status"]))

    def get_uploader(self, uploader_id: str) -> UploaderStatus:
        """KYU status, certifications and strikes of an uploader (no personal data)."""
        answer = self.request("GET", f"/uploaders/{_segment(uploader_id)}", idempotent=True)
        return UploaderStatus.from_json(answer)

    def certify(
        self,
        *,
        uploader_id: str,
        repo_id: str,
        revision: str = "*",
        statements: Sequence[Mapping[str, Any]],
        signed_name: str,
        repo_type: str = "model",
    ) -> Certification:
        """Record the uploader's certification of statements; returns the signed receipt.

        `revision`: the commit certified; `"*"` (the default) certifies the repo, before or
        regardless of any push, where the policy's `certifications.scope` is `repo`.

        `statements`: `{"id", "version", "accepted": True, "fields"?}` each, as the check's
        `certification` step lists them.
        """
        answer = self.request(
            "POST",
            "/certifications",
            json={
                "uploader_id": uploader_id,
                "repo_id": repo_id,
                "repo_type": repo_type,
                "revision": revision,
                "statements": [dict(s) for s in statements],
                "signed_name": signed_name,
            },
            idempotent=False,
        )
        return Certification(
            certification_id=answer["certification_id"],
            receipt=answer["receipt"],
            model_card_yaml=answer["model_card_yaml"],
        )

    def create_upload_token(
        self,
        *,
        uploader_id: str,
        repo_id: str,
        repo_type: str = "model",
        ttl_seconds: int | None = None,
    ) -> UploadToken:
        """Mint an upload token for one uploader and repo (operator key; POST /upload-tokens).

        Hand `token` to the uploader's tool: it can check and certify for that uploader and
        repo only, until `expires_at` (`ttl_seconds`, default the server's setting)."""
        body: dict[str, Any] = {"uploader_id": uploader_id, "repo_id": repo_id}
        body["repo_type"] = repo_type
        if ttl_seconds is not None:
            body["ttl_seconds"] = ttl_seconds
        answer = self.request("POST", "/upload-tokens", json=body, idempotent=False)
        return UploadToken.from_json(answer)

    def certify_link(
        self,
        *,
        uploader_id: str,
        repo_id: str,
        repo_type: str = "model",
        visibility: str = "public",
    ) -> str:
        """A portal link where the uploader certifies the repo before its first push
        (POST /portal-links, purpose certification); send the uploader to it."""
        answer = self.request(
            "POST",
            "/portal-links",
            json={
                "uploader_id": uploader_id,
                "repo_id": repo_id,
                "repo_type": repo_type,
                "visibility": visibility,
                "purpose": "certification",
            },
            idempotent=True,
        )
        return str(answer["url"])

    def public_keys(self) -> list[dict[str, Any]]:
        """The receipt-signing keys as /api/v1/keys lists them (key_id, algorithm, public_key)."""
        return list(self.request("GET", "/keys", idempotent=True)["keys"])

    def jwks(self) -> dict[str, Any]:
        """The JSON Web Key Set of receipt-signing keys, current and retired (/.well-known/jwks.json)."""
        return dict(self.request("GET", "/.well-known/jwks.json", idempotent=True))

    # --- hashing ---------------------------------------------------------------------------

    def scan(self, images: Iterable[tuple[str, bytes]]) -> list[ScanResult]:
        """Match images against every enabled hash list (POST /scan); hashes are never shown."""
        files = [
            ("images", (name, content, "application/octet-stream")) for name, content in images
        ]
        if not files:
            raise HostguardError("scan needs at least one image")
        answer = self.request("POST", "/scan", files=files, idempotent=True)
        return [
            ScanResult(
                path=r["path"],
                matched=bool(r["matched"]),
                matches=r.get("matches", []),
                error=r.get("error"),
                low_quality=bool(r.get("low_quality")),
            )
            for r in answer["results"]
        ]

    # --- notices and cases -----------------------------------------------------------------

    def submit_notice(
        self,
        *,
        items: Sequence[str],
        category: str,
        explanation: str,
        notifier_name: str | None = None,
        notifier_email: str | None = None,
        good_faith: bool = False,
    ) -> NoticeCreated:
        """File a notice (Art. 16 DSA) about models (ids or URLs); opens or joins their cases."""
        body: dict[str, Any] = {
            "items": list(items),
            "category": category,
            "explanation": explanation,
            "good_faith": good_faith,
        }
        if notifier_name or notifier_email:
            body["notifier"] = {"name": notifier_name, "email": notifier_email}
        answer = self.request("POST", "/notices", json=body, idempotent=False)
        return NoticeCreated(notice_id=int(answer["notice_id"]), case_ids=list(answer["case_ids"]))

    def claim_case(self, case_id: int) -> dict[str, Any]:
        """Claim a case (moderator key); claiming one's own case again changes nothing."""
        return dict(self.request("POST", f"/cases/{int(case_id)}/claim", idempotent=True))

    def decide_case(self, case_id: int, *, action: str, **fields: Any) -> dict[str, Any]:
        """Decide a claimed case (moderator key): `action` and ground, category, explanation..."""
        return dict(
            self.request(
                "POST",
                f"/cases/{int(case_id)}/decision",
                json={"action": action, **fields},
                idempotent=False,
            )
        )

    def openapi(self) -> dict[str, Any]:
        """The API's OpenAPI document."""
        return dict(self.request("GET", "/openapi.json", idempotent=True))


def _segment(value: str) -> str:
    """A path segment, percent-encoded (an uploader id may hold '/' or spaces)."""
    return quote(str(value), safe="")
