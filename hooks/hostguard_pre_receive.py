#!/usr/bin/env python3
"""Git pre-receive hook: ask hostguard before pushed model revisions are accepted.

Install it as `hooks/pre-receive` of the repositories (or as a server-wide hook) on GitHub
Enterprise Server, GitLab or Gitea. Standard library only, so it runs with the server's python3.

For every updated ref it sends the pusher, the repository, the new revision, the list of
files (path, size, sha256 — taken from Git LFS pointers where present) and a few sample
images to `POST {HOSTGUARD_URL}/api/v1/uploads/check`, prints hostguard's reasons and the
portal links to the pusher, and rejects the push on `hold` or `block`.

Configuration (environment variables, or KEY=VALUE lines in the file named by
HOSTGUARD_HOOK_CONFIG, default: hostguard-hook.conf beside this script):
  HOSTGUARD_URL              base URL of hostguard, e.g. https://hostguard.example.org
  HOSTGUARD_TOKEN_FILE       file holding an operator API key (read at every push)
  HOSTGUARD_HOOK_TIMEOUT     seconds for the whole check, default 4 (GitHub Enterprise allows ~5)
  HOSTGUARD_HOOK_FAIL_OPEN   1 = accept the push when hostguard cannot be reached or answers
                             with an error. Default 0 (fail closed: such pushes are rejected).
                             Fail-open keeps pushes working during an outage but lets
                             unchecked revisions through; the server-side webhook check
                             (where available) remains the enforcement point.
  HOSTGUARD_HOOK_DRY_RUN     1 = ask and print the answer, but always accept (for rollout)
  HOSTGUARD_HOOK_VISIBILITY  visibility to check against when the platform does not say
                             (public, gated, private); default public, the strictest.
                             GitHub Enterprise says: GITHUB_REPO_PUBLIC=true is checked as
                             public, false (private or internal) as private.
  HOSTGUARD_HOOK_MAX_IMAGES  sample images sent per push, default 8 (each at most 4 MB)
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

ZERO = "0" * 40
IMAGE_EXT = (".png", ".jpg", ".jpeg", ".webp")
MAX_IMAGE_BYTES = 4 * 1024 * 1024
MAX_HASHED_BLOB = 32 * 1024 * 1024
LFS_POINTER = re.compile(
    rb"^version https://git-lfs.github.com/spec/v1\noid sha256:([0-9a-f]{64})\nsize (\d+)\n"
)


def load_config(environ: dict) -> dict:
    conf = {}
    path = environ.get("HOSTGUARD_HOOK_CONFIG") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "hostguard-hook.conf"
    )
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if line and not line.startswith("#") and "=" in line:
                    key, value = line.split("=", 1)
                    conf[key.strip()] = value.strip()
    conf.update({k: v for k, v in environ.items() if k.startswith("HOSTGUARD_")})
    return conf


def identify(environ: dict) -> dict | None:
    """Pusher and repository from the hosting software's environment variables."""
    if environ.get("GITHUB_USER_LOGIN"):
        public = environ.get("GITHUB_REPO_PUBLIC", "").strip().lower()
        return {
            "platform": "github",
            "uploader_id": environ["GITHUB_USER_LOGIN"],
            "username": environ["GITHUB_USER_LOGIN"],
            "email": None,
            "repo": environ.get("GITHUB_REPO_NAME", ""),
            "visibility": {"true": "public", "false": "private"}.get(public),
        }
    if environ.get("GL_USERNAME"):
        return {
            "platform": "gitlab",
            "uploader_id": environ.get("GL_ID") or environ["GL_USERNAME"],
            "username": environ["GL_USERNAME"],
            "email": None,
            "repo": environ.get("GL_PROJECT_PATH", ""),
            "visibility": None,
        }
    if environ.get("GITEA_PUSHER_NAME"):
        owner, name = environ.get("GITEA_REPO_USER_NAME", ""), environ.get("GITEA_REPO_NAME", "")
        return {
            "platform": "gitea",
            "uploader_id": environ["GITEA_PUSHER_NAME"],
            "username": environ["GITEA_PUSHER_NAME"],
            "email": environ.get("GITEA_PUSHER_EMAIL"),
            "repo": f"{owner}/{name}",
            "visibility": None,
        }
    return None


def git(*args: str) -> bytes:
    return subprocess.run(["git", *args], check=True, capture_output=True).stdout


def describe_revision(sha: str, *, max_images: int, deadline: float) -> tuple[list, list]:
    """Files (path, size, sha256) and sample images of a revision, bounded by the deadline."""
    files, images = [], []
    for line in git("ls-tree", "-r", "-l", "-z", sha).split(b"\0"):
        if not line:
            continue
        meta, path = line.split(b"\t", 1)
        _mode, kind, blob, size = meta.split()
        if kind != b"blob":
            continue
        path_s, size_i = path.decode("utf-8", "replace"), int(size)
        entry = {"path": path_s, "size": size_i}
        if time.monotonic() < deadline and size_i <= MAX_HASHED_BLOB:
            data = git("cat-file", "blob", blob.decode())
            pointer = LFS_POINTER.match(data)
            if pointer:  # a Git LFS pointer names the real file's sha256 and size
                entry.update(sha256=pointer.group(1).decode(), size=int(pointer.group(2)))
            else:
                entry["sha256"] = hashlib.sha256(data).hexdigest()
                if (
                    path_s.lower().endswith(IMAGE_EXT)
                    and len(images) < max_images
                    and size_i <= MAX_IMAGE_BYTES
                ):
                    images.append(
                        {"path": path_s, "content_base64": base64.b64encode(data).decode()}
                    )
        files.append(entry)
    return files, images


def ask(conf: dict, body: dict, timeout: float) -> dict:
    token_file = conf.get("HOSTGUARD_TOKEN_FILE", "")
    with open(token_file, encoding="utf-8") as fh:
        token = fh.read().strip()
    request = urllib.request.Request(
        conf["HOSTGUARD_URL"].rstrip("/") + "/api/v1/uploads/check",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {token}",
            "User-Agent": "hostguard-pre-receive/1",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=max(timeout, 0.5)) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            error = json.loads(exc.read())["error"]
            message = str(error["message"])
        except Exception:  # an error page that is not hostguard's JSON error
            message = exc.reason
        raise RuntimeError(f"hostguard answered {exc.code}: {message}") from exc
    if not isinstance(answer, dict):
        raise RuntimeError(f"hostguard answered a JSON {type(answer).__name__}, not an object")
    return answer


def report_lines(ref: str, new: str, answer: dict) -> tuple[str, list[str]]:
    """The decision and the lines shown to the pusher; ValueError when the answer is malformed."""
    decision = answer.get("decision")
    reasons, steps = answer.get("reasons") or [], answer.get("required_steps") or []
    if (
        not isinstance(decision, str)
        or not isinstance(reasons, list)
        or not isinstance(steps, list)
        or not all(isinstance(item, dict) for item in reasons + steps)
    ):
        raise ValueError("hostguard's answer is not a check result")
    lines = [f"hostguard: {ref} at {new[:12]}: {decision}"]
    lines += [f"  - {reason.get('message')} [{reason.get('code')}]" for reason in reasons]
    lines += [f"  -> {step.get('type')}: {step.get('url')}" for step in steps]
    return decision, lines


def main(stdin=sys.stdin, environ=os.environ, out=sys.stdout) -> int:
    conf = load_config(dict(environ))
    prefix = "GL-HOOK-ERR: " if environ.get("GL_USERNAME") else ""
    dry_run = conf.get("HOSTGUARD_HOOK_DRY_RUN", "0") == "1"
    fail_open = conf.get("HOSTGUARD_HOOK_FAIL_OPEN", "0") == "1"
    timeout = float(conf.get("HOSTGUARD_HOOK_TIMEOUT", "4"))
    deadline = time.monotonic() + timeout

    def say(line: str) -> None:
        print(f"{prefix}{line}", file=out)

    def unavailable(why: str) -> int:
        if fail_open or dry_run:
            say(
                f"hostguard: could not check this push ({why}); accepted "
                + ("(dry run)" if dry_run else "(fail-open)")
            )
            return 0
        say(f"hostguard: could not check this push ({why}); rejected. Try again later.")
        return 1

    identity = identify(environ)
    if identity is None:
        return unavailable(
            "no pusher identity in the environment (GitHub Enterprise, GitLab or Gitea)"
        )
    if not conf.get("HOSTGUARD_URL") or not conf.get("HOSTGUARD_TOKEN_FILE"):
        return unavailable("HOSTGUARD_URL and HOSTGUARD_TOKEN_FILE must be configured")

    rejected = False
    seen = set()
    for line in stdin.read().splitlines():
        parts = line.split()
        if len(parts) != 3:
            continue
        _old, new, ref = parts
        if new == ZERO or new in seen:  # a deleted ref needs no check
            continue
        seen.add(new)
        try:
            files, images = describe_revision(
                new, max_images=int(conf.get("HOSTGUARD_HOOK_MAX_IMAGES", "8")), deadline=deadline
            )
            body = {
                "uploader": {
                    "id": identity["uploader_id"],
                    "username": identity["username"],
                    "email": identity["email"],
                },
                "repo": {
                    "id": identity["repo"],
                    "type": "model",
                    "revision": new,
                    "visibility": identity["visibility"]
                    or conf.get("HOSTGUARD_HOOK_VISIBILITY", "public"),
                },
                "files": files,
                "sample_images": images,
            }
            decision, lines = report_lines(ref, new, ask(conf, body, deadline - time.monotonic()))
        except Exception as exc:  # anything short of an answer is "unavailable", never a traceback
            reason = str(exc) if isinstance(exc, RuntimeError) else f"{type(exc).__name__}: {exc}"
            if unavailable(reason) != 0:
                rejected = True
            continue
        for line in lines:
            say(line)
        if decision != "allow":
            rejected = True
    if rejected and dry_run:
        say("hostguard: dry run, push accepted anyway")
        return 0
    return 1 if rejected else 0


if __name__ == "__main__":
    sys.exit(main())
