"""Hub client wrapper for uploaders: every commit is certified and checked before it is pushed.

`CheckedHfApi` is a `huggingface_hub.HfApi` whose `create_commit` (which `upload_file` ends
in) and `upload_folder` (which, with hf_xet installed, no longer goes through create_commit
in huggingface_hub 2.x) first ask hostguard's pre-upload check; when
certifications are owed it shows each statement at the terminal, asks the uploader to
accept it and type their name, submits them, and asks again. It refuses to push on `hold`
or `block`, with the reasons and the portal link. After the push it submits the same
statements for the commit id the Hub made, which is what the Hub webhook checks (see
`certify_pushed_commit`). `upload_large_folder` is not wrapped. This is advisory, on the
uploader's machine: the server-side webhook check stays the enforcement point. It talks to
hostguard with an upload token the platform minted for this uploader and repo
(`POST /api/v1/upload-tokens`, given as HOSTGUARD_UPLOAD_TOKEN), which can check and certify
for that uploader and repo only; an operator-scope API key (`--token-file`) can act for any
uploader and belongs on the platform's side.

`hostguard-upload REPO_ID PATH` is the command around it.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any, TextIO

import click
from huggingface_hub import CommitOperationAdd, HfApi

IMAGE_EXT = (".png", ".jpg", ".jpeg", ".webp")
MAX_SAMPLE_IMAGES = 8
MAX_IMAGE_BYTES = 8 * 1024 * 1024

# Exit codes of `hostguard-upload` (its --help and docs/operators/integrations.md list them).
EXIT_REFUSED = 1
EXIT_HOSTGUARD_UNREACHABLE = 2
EXIT_HUB_UNREACHABLE = 3


def _hub_connection_errors() -> tuple[type[Exception], ...]:
    """What huggingface_hub raises when the Hub cannot be reached, whichever HTTP client it uses."""
    found: list[type[Exception]] = [ConnectionError, TimeoutError]
    for module, name in (
        ("httpx2", "TransportError"),  # huggingface_hub 2.x
        ("httpx", "TransportError"),  # huggingface_hub 1.x
        ("requests", "ConnectionError"),  # huggingface_hub 0.x
        ("requests", "Timeout"),
    ):
        try:
            found.append(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError):
            continue
    return tuple(found)


HUB_CONNECTION_ERRORS = _hub_connection_errors()


class HostguardUnavailable(Exception):
    """hostguard could not be asked; nothing was pushed."""


class UploadRefused(Exception):
    """hostguard answered hold or block; nothing was pushed."""

    def __init__(self, answer: dict):
        self.answer = answer
        lines = [f"hostguard decision: {answer.get('decision')}"]
        lines += [f"  - {r.get('message')} [{r.get('code')}]" for r in answer.get("reasons", [])]
        lines += [f"  -> {s.get('type')}: {s.get('url')}" for s in answer.get("required_steps", [])]
        super().__init__("\n".join(lines))


class HostguardClient:
    """The two hostguard calls the wrapper makes, over plain HTTP with an API key."""

    def __init__(self, url: str, token: str, *, timeout: float = 60.0):
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def _post(self, path: str, body: dict) -> dict[str, Any]:
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read())["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = exc.reason
            raise HostguardUnavailable(f"hostguard answered {exc.code}: {message}") from exc
        except OSError as exc:
            raise HostguardUnavailable(
                f"hostguard could not be reached at {self.url} ({exc})"
            ) from exc

    def check(self, body: dict) -> dict[str, Any]:
        return self._post("/api/v1/uploads/check", body)

    def certify(self, body: dict) -> dict[str, Any]:
        return self._post("/api/v1/certifications", body)


def describe_operations(operations: Iterable) -> tuple[list[dict], list[dict], str]:
    """Files, sample images and a content digest (the revision the check is about)."""
    files: list[dict] = []
    images: list[dict] = []
    for op in operations:
        if not isinstance(op, CommitOperationAdd):
            continue
        info = op.upload_info
        files.append({"path": op.path_in_repo, "size": info.size, "sha256": info.sha256.hex()})
        if (
            op.path_in_repo.lower().endswith(IMAGE_EXT)
            and len(images) < MAX_SAMPLE_IMAGES
            and info.size <= MAX_IMAGE_BYTES
        ):
            with op.as_file() as fh:
                images.append(
                    {
                        "path": op.path_in_repo,
                        "content_base64": base64.b64encode(fh.read()).decode(),
                    }
                )
    digest = hashlib.sha256(
        "\n".join(
            f"{f['path']}\0{f['sha256']}" for f in sorted(files, key=lambda f: f["path"])
        ).encode()
    ).hexdigest()
    return files, images, f"content-{digest[:56]}"


def prompt_certifications(
    statements: list[dict], *, ask: Callable[[str], str], out: TextIO
) -> tuple[list[dict], str]:
    """Show each statement and ask for acceptance and its fields; returns answers and signed name."""
    answers = []
    for st in statements:
        print(
            f"\n== {st.get('title') or st['id']} (statement {st['id']}, version {st['version']}) ==",
            file=out,
        )
        print(st["text"], file=out)
        fields: dict = {}
        for field in st.get("fields", []):
            condition = field.get("required_if") or {}
            if any(str(fields.get(k, "")) not in v for k, v in condition.items()):
                continue
            options = field.get("options") or []
            hint = f" ({'/'.join(options)})" if options else ""
            while True:
                value = ask(f"{field['label']}{hint}: ").strip()
                if options and value not in options:
                    print(f"Please answer one of: {', '.join(options)}", file=out)
                    continue
                if not value and field.get("required", True):
                    print("This answer is required.", file=out)
                    continue
                break
            if value:
                fields[field["name"]] = value
        accepted = (
            ask("Do you certify this statement? Type 'yes' to accept: ").strip().lower() == "yes"
        )
        if not accepted:
            raise UploadRefused(
                {
                    "decision": "hold",
                    "reasons": [
                        {
                            "code": "certification_declined",
                            "message": f"statement {st['id']} was not accepted",
                        }
                    ],
                }
            )
        answers.append(
            {"id": st["id"], "version": st["version"], "accepted": True, "fields": fields}
        )
    name = ""
    while not name:
        name = ask("Type your full name to sign: ").strip()
    return answers, name


class CheckedHfApi(HfApi):
    """HfApi that certifies and checks every commit with hostguard before pushing it."""

    def __init__(
        self,
        *args,
        hostguard: HostguardClient,
        uploader_id: str | None = None,
        visibility: str = "public",
        ask: Callable[[str], str] = input,
        out: TextIO = sys.stderr,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.hostguard = hostguard
        self.uploader_id = uploader_id
        self.visibility = visibility
        self.ask = ask
        self.out = out
        self.last_answer: dict | None = None
        self.last_certification: dict | None = (
            None  # what was certified in this run, for the commit
        )
        self._folder_checked = False

    def _uploader(self) -> dict[str, Any]:
        if self.uploader_id:
            return {"id": self.uploader_id, "username": self.uploader_id}
        me = self.whoami()
        return {"id": me["name"], "username": me["name"]}  # the Hub username, as webhooks name it

    def check_operations(
        self, repo_id: str, operations: list, *, repo_type: str | None = None
    ) -> dict[str, Any]:
        """Certify (prompting) and check these operations; raises UploadRefused unless allowed."""
        files, images, revision = describe_operations(operations)
        uploader = self._uploader()
        body = {
            "uploader": uploader,
            "repo": {
                "id": repo_id,
                "type": repo_type or "model",
                "revision": revision,
                "visibility": self.visibility,
            },
            "files": files,
            "sample_images": images,
        }
        answer = self.hostguard.check(body)
        owed = [
            s
            for step in answer.get("required_steps", [])
            if step.get("type") == "certification"
            for s in step.get("statements", [])
        ]
        if owed and answer.get("decision") == "hold":
            statements, name = prompt_certifications(owed, ask=self.ask, out=self.out)
            certification = {
                "uploader_id": uploader["id"],
                "repo_id": repo_id,
                "revision": revision,
                "statements": statements,
                "signed_name": name,
            }
            result = self.hostguard.certify(certification)
            print(f"Certified (receipt {result.get('certification_id')}).", file=self.out)
            self.last_certification = certification
            answer = self.hostguard.check(body)
        self.last_answer = answer
        if answer.get("decision") != "allow":
            raise UploadRefused(answer)
        return answer

    def certify_pushed_commit(self, info) -> None:
        """Certify the commit the Hub made, with what the uploader certified for its content.

        The check above is about the content (`content-<digest>`): the commit id exists only
        once the Hub has it. The Hub webhook checks that commit id, so the same statements,
        signed with the same name, are submitted for it; if the webhook already held the
        commit, hostguard checks it again and lifts the quarantine.
        """
        oid = getattr(info, "oid", None)
        if not self.last_certification or not oid:
            return
        certification, self.last_certification = {**self.last_certification, "revision": oid}, None
        try:
            result = self.hostguard.certify(certification)
        except HostguardUnavailable as exc:
            print(
                f"warning: the commit {oid[:12]} was pushed but could not be certified ({exc}); "
                "certify it from the link in the repository's discussion",
                file=self.out,
            )
            return
        print(
            f"Certified commit {oid[:12]} (receipt {result.get('certification_id')}).",
            file=self.out,
        )

    def create_commit(self, repo_id: str, operations: Iterable, *args, **kwargs):
        operations = list(operations)
        if not self._folder_checked:
            self.check_operations(repo_id, operations, repo_type=kwargs.get("repo_type"))
        info = super().create_commit(repo_id, operations, *args, **kwargs)
        if not self._folder_checked:
            self.certify_pushed_commit(info)
        return info

    def upload_folder(
        self,
        *,
        repo_id: str,
        folder_path,
        path_in_repo: str | None = None,
        allow_patterns=None,
        ignore_patterns=None,
        repo_type: str | None = None,
        **kwargs,
    ):
        # With hf_xet installed, huggingface_hub 2.x uploads folders through a pipeline that
        # does not call create_commit, so the folder is checked here, before anything is sent.
        operations = self._prepare_upload_folder_additions(
            folder_path,
            path_in_repo or "",
            allow_patterns=allow_patterns,
            ignore_patterns=ignore_patterns,
            repo_type=repo_type,
            token=kwargs.get("token"),
        )
        self.check_operations(repo_id, operations, repo_type=repo_type)
        self._folder_checked = True
        try:
            info = super().upload_folder(
                repo_id=repo_id,
                folder_path=folder_path,
                path_in_repo=path_in_repo,
                allow_patterns=allow_patterns,
                ignore_patterns=ignore_patterns,
                repo_type=repo_type,
                **kwargs,
            )
        finally:
            self._folder_checked = False
        self.certify_pushed_commit(info)
        return info


@click.command(
    name="hostguard-upload",
    epilog="\b\nExit codes:\n"
    "  0 uploaded\n"
    f"  {EXIT_REFUSED} hostguard answered hold or block (the reasons and links are shown)\n"
    f"  {EXIT_HOSTGUARD_UNREACHABLE} hostguard could not be reached or refused the request\n"
    f"  {EXIT_HUB_UNREACHABLE} the Hub could not be reached\n"
    "Nothing is uploaded unless the exit code is 0.",
)
@click.argument("repo_id")
@click.argument("path", type=click.Path(exists=True))
@click.option("--path-in-repo", default=None, help="Where a single file goes in the repository.")
@click.option("--visibility", type=click.Choice(["public", "gated", "private"]), default="public")
@click.option("--message", "commit_message", default="Upload with hostguard checks")
@click.option(
    "--uploader-id", default=None, help="Your id on the platform (default: from the Hub token)."
)
@click.option(
    "--hub-endpoint",
    envvar="HF_ENDPOINT",
    default=None,
    help="The Hub's URL (default: huggingface.co).",
)
@click.option("--hostguard-url", envvar="HOSTGUARD_URL", required=True)
@click.option(
    "--upload-token",
    envvar="HOSTGUARD_UPLOAD_TOKEN",
    default=None,
    help="The upload token the platform gave you for this repo (hgu_...).",
)
@click.option(
    "--token-file",
    envvar="HOSTGUARD_TOKEN_FILE",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="File holding an upload token or an operator API key (platform side only).",
)
def main(
    repo_id,
    path,
    path_in_repo,
    visibility,
    commit_message,
    uploader_id,
    hub_endpoint,
    hostguard_url,
    upload_token,
    token_file,
):
    """Upload PATH (a file or a folder) to REPO_ID after hostguard's certifications and check."""
    if upload_token:
        token = upload_token.strip()
    elif token_file:
        with open(token_file, encoding="utf-8") as fh:
            token = fh.read().strip()
    else:
        click.echo(
            "error: give the upload token from the platform (--upload-token or "
            "HOSTGUARD_UPLOAD_TOKEN); nothing was uploaded",
            err=True,
        )
        sys.exit(EXIT_HOSTGUARD_UNREACHABLE)
    api = CheckedHfApi(
        endpoint=hub_endpoint,
        hostguard=HostguardClient(hostguard_url, token),
        uploader_id=uploader_id,
        visibility=visibility,
        ask=lambda q: click.prompt(q, default="", show_default=False, prompt_suffix=""),
    )
    try:
        if os.path.isdir(path):
            info = api.upload_folder(
                repo_id=repo_id, folder_path=path, commit_message=commit_message
            )
        else:
            info = api.upload_file(
                repo_id=repo_id,
                path_or_fileobj=path,
                commit_message=commit_message,
                path_in_repo=path_in_repo or os.path.basename(path),
            )
    except UploadRefused as exc:
        click.echo(str(exc), err=True)
        sys.exit(EXIT_REFUSED)
    except HostguardUnavailable as exc:
        click.echo(f"error: {exc}; nothing was uploaded", err=True)
        sys.exit(EXIT_HOSTGUARD_UNREACHABLE)
    except HUB_CONNECTION_ERRORS as exc:
        click.echo(
            f"error: the Hub at {api.endpoint} could not be reached ({exc}); nothing was uploaded",
            err=True,
        )
        sys.exit(EXIT_HUB_UNREACHABLE)
    click.echo(f"uploaded: {getattr(info, 'commit_url', info)}")
