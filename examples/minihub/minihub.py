"""minihub: a small model-hosting site that uses hostguard only through hostguard_client and webhooks.

An upload is checked before it is published: allowed ones go live, held ones send the uploader
to hostguard's portal and wait for the decision event, blocked ones say why. A moderator's
take-down (a signed `action.take_down` webhook) takes the model off the site.

Run it with examples/minihub/run (see README.md there), or:
    MINIHUB_HOSTGUARD_URL=... MINIHUB_HOSTGUARD_KEY=... MINIHUB_WEBHOOK_SECRET=... python minihub.py
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
from typing import Any

from flask import Flask, abort, g, redirect, render_template_string, request, url_for
from hostguard_client import HostguardClient, HostguardError
from hostguard_client.webhooks import SeenDeliveries, WebhookVerificationError, verify

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
STEP_LABELS = {"kyu": "Confirm who you are", "certification": "Sign the upload statements"}
STATUS_FOR_DECISION = {"allow": "published", "hold": "held", "block": "blocked"}
TAKEN_DOWN_BY = {"take_down", "quarantine"}  # platform actions that take a model off the site

SCHEMA = """
CREATE TABLE IF NOT EXISTS models (
    repo_id TEXT PRIMARY KEY, owner TEXT NOT NULL, name TEXT NOT NULL, filename TEXT NOT NULL,
    size INTEGER NOT NULL, revision TEXT NOT NULL, check_id TEXT, status TEXT NOT NULL,
    steps TEXT NOT NULL DEFAULT '[]', reasons TEXT NOT NULL DEFAULT '[]', note TEXT NOT NULL DEFAULT ''
)
"""

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }} · minihub</title>
{% if refresh %}<meta http-equiv="refresh" content="2">{% endif %}
<style>body{font-family:sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem}
.status{font-weight:bold}.errors{color:#a00}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}label{display:block;margin:.6rem 0}</style>
</head><body><p><a href="{{ url_for('index') }}">minihub</a> · <a href="{{ url_for('upload') }}">Upload a model</a></p>
<main id="main"><h1>{{ title }}</h1>{{ body|safe }}</main></body></html>"""


def create_app(*, hostguard_url: str, api_key: str, webhook_secret: str, database: str) -> Flask:
    app = Flask(__name__)
    hostguard = HostguardClient(hostguard_url, api_key=api_key)
    seen = SeenDeliveries()
    with sqlite3.connect(database) as conn:
        conn.execute(SCHEMA)

    def db() -> sqlite3.Connection:
        if "db" not in g:
            g.db = sqlite3.connect(database, timeout=10)
            g.db.row_factory = sqlite3.Row
        return g.db

    @app.teardown_appcontext
    def close(_exc: BaseException | None) -> None:
        conn = g.pop("db", None)
        if conn is not None:
            conn.close()

    def page(title: str, template: str, *, refresh: bool = False, status: int = 200, **ctx: Any):
        body = render_template_string(template, **ctx)
        return render_template_string(PAGE, title=title, body=body, refresh=refresh), status

    @app.get("/")
    def index():
        rows = (
            db()
            .execute("SELECT * FROM models WHERE status = 'published' ORDER BY repo_id")
            .fetchall()
        )
        return page(
            "Models",
            """{% if rows %}<table><tr><th>Model</th><th>File</th></tr>{% for m in rows %}
            <tr><td><a href="{{ url_for('model', owner=m.owner, name=m.name) }}">{{ m.repo_id }}</a></td>
            <td>{{ m.filename }}</td></tr>{% endfor %}</table>{% else %}<p>No models yet.</p>{% endif %}""",
            rows=rows,
        )

    @app.route("/upload", methods=["GET", "POST"])
    def upload():
        errors: list[str] = []
        form = request.form
        if request.method == "POST":
            owner, name = form.get("owner", "").strip(), form.get("name", "").strip()
            file = request.files.get("file")
            if not NAME.match(owner):
                errors.append("Your user name: letters, digits, '.', '_' or '-' (up to 64).")
            if not NAME.match(name):
                errors.append("Model name: letters, digits, '.', '_' or '-' (up to 64).")
            content = file.read() if file else b""
            if not file or not file.filename or not content:
                errors.append("Model file: choose the file to upload.")
            if not errors:
                assert file is not None and file.filename
                digest = hashlib.sha256(content).hexdigest()
                repo_id = f"{owner}/{name}"
                try:
                    result = hostguard.check_upload(
                        uploader_id=owner,
                        username=owner,
                        repo_id=repo_id,
                        revision=digest[:40],
                        files=[{"path": file.filename, "size": len(content), "sha256": digest}],
                    )
                except HostguardError as exc:
                    errors.append(f"The upload could not be checked now ({exc}); try again.")
                else:
                    db().execute(
                        "INSERT OR REPLACE INTO models VALUES (?,?,?,?,?,?,?,?,?,?,'')",
                        (
                            repo_id,
                            owner,
                            name,
                            file.filename,
                            len(content),
                            digest[:40],
                            result.check_id,
                            STATUS_FOR_DECISION.get(result.decision, "held"),
                            json.dumps([s.__dict__ for s in result.required_steps]),
                            json.dumps([r.__dict__ for r in result.reasons]),
                        ),
                    )
                    db().commit()
                    return redirect(url_for("model", owner=owner, name=name))
        return page(
            "Upload a model",
            """{% if errors %}<div class="errors" role="alert" id="form-errors"><p>Please fix:</p>
            <ul>{% for e in errors %}<li>{{ e }}</li>{% endfor %}</ul></div>{% endif %}
            <form method="post" enctype="multipart/form-data">
            <label>Your user name <input name="owner" value="{{ form.get('owner', '') }}"></label>
            <label>Model name <input name="name" value="{{ form.get('name', '') }}"></label>
            <label>Model file <input type="file" name="file"></label>
            <button>Upload</button></form>""",
            status=422 if errors else 200,
            errors=errors,
            form=form,
        )

    @app.get("/models/<owner>/<name>")
    def model(owner: str, name: str):
        m = db().execute("SELECT * FROM models WHERE repo_id = ?", (f"{owner}/{name}",)).fetchone()
        if m is None:
            abort(404)
        return page(
            m["repo_id"],
            """<p>File: {{ m.filename }} ({{ m.size }} bytes), revision <code>{{ m.revision[:12] }}</code></p>
            <p>Status: <span class="status" id="model-status">{{ labels[m.status] }}</span></p>
            {% if m.status == 'held' %}
              <p>Before this model is published, finish these steps on hostguard. This page
              updates by itself when hostguard has decided.</p>
              <ol id="steps">{% for s in steps %}<li><a href="{{ s.url }}">{{ step_labels.get(s.type, s.type) }}</a></li>{% endfor %}</ol>
            {% endif %}
            {% if reasons and m.status != 'published' %}<ul id="reasons">{% for r in reasons %}<li>{{ r.message }}</li>{% endfor %}</ul>{% endif %}
            {% if m.note %}<p id="note">{{ m.note }}</p>{% endif %}""",
            refresh=m["status"] == "held",
            m=m,
            steps=json.loads(m["steps"]),
            reasons=json.loads(m["reasons"]),
            step_labels=STEP_LABELS,
            labels={
                "published": "Published",
                "held": "Waiting for hostguard",
                "blocked": "Blocked",
                "taken_down": "Taken down",
            },
        )

    @app.post("/hostguard/webhook")
    def hostguard_webhook():
        try:
            event = verify(webhook_secret, body=request.get_data(), headers=request.headers)
        except WebhookVerificationError as exc:
            return {"error": str(exc)}, 400
        if not seen.first_time(event.delivery_id):
            return "", 204  # a retry of a delivery already handled
        data = event.data
        if event.event in ("upload.decision", "upload.decision_changed"):
            # Decision events (issue 17): the model goes live when hostguard says allow.
            status = STATUS_FOR_DECISION.get(str(data.get("decision")), "held")
            db().execute(
                "UPDATE models SET status = ?, steps = ?, reasons = ? "
                "WHERE check_id = ? AND status != 'taken_down'",
                (
                    status,
                    json.dumps(data.get("required_steps", [])),
                    json.dumps(data.get("reasons", [])),
                    data.get("check_id"),
                ),
            )
        elif event.event.startswith("action."):
            kind = event.event.removeprefix("action.")
            if kind in TAKEN_DOWN_BY:
                db().execute(
                    "UPDATE models SET status = 'taken_down', note = ? WHERE repo_id = ?",
                    (
                        f"A moderator took this model down: {data.get('message', '')}",
                        data.get("repo_id"),
                    ),
                )
            elif kind == "restore":
                db().execute(
                    "UPDATE models SET status = 'published', note = '' WHERE repo_id = ?",
                    (data.get("repo_id"),),
                )
        db().commit()
        return "", 204

    return app


if __name__ == "__main__":
    env = os.environ
    create_app(
        hostguard_url=env.get("MINIHUB_HOSTGUARD_URL", "http://127.0.0.1:8080"),
        api_key=env["MINIHUB_HOSTGUARD_KEY"],
        webhook_secret=env["MINIHUB_WEBHOOK_SECRET"],
        database=env.get("MINIHUB_DATABASE", "minihub.db"),
    ).run(host="127.0.0.1", port=int(env.get("MINIHUB_PORT", "5050")))
