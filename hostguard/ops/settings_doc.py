"""The configuration reference, generated from the settings models so it cannot drift."""

from __future__ import annotations

import json

from pydantic.fields import FieldInfo

from hostguard.config import Settings

SECRET = "secret: keep it out of files checked into version control"

DESCRIPTIONS: dict[str, str] = {
    "env": "`development`, `test` or `production`; production refuses weak secrets and sets secure cookies",
    "data_dir": "where keys, documents, the SQLite database, metrics files and index snapshots live",
    "database_url": "SQLAlchemy URL, e.g. `postgresql+psycopg://user:pw@db/hostguard`; default SQLite in the data dir",
    "secret_key": f"signs sessions and portal links; at least 32 random characters in production ({SECRET})",
    "base_url": "the public URL of the console and portal, used in links sent to uploaders",
    "cookie_secure": "force the Secure flag on cookies (default: on in production or with an https base URL)",
    "policy_file": "upload policy file (default: the bundled policy)",
    "ratelimit_storage_uri": "where rate-limit counters live; use `redis://...` with several web processes",
    "ratelimit_enabled": "turn rate limiting off (tests only)",
    "login_rate_limit": "console sign-in attempts allowed per client",
    "log_level": "DEBUG, INFO, WARNING or ERROR",
    "log_json": "one JSON object per log line (request id, no personal data)",
    "actioner": "who carries out quarantines and take-downs: `log`, `webhook` or `huggingface`",
    "webhook_url": "outbound signed webhook for platform actions and notifications; it receives every event, beside the endpoints added with `hostguard webhook add`",
    "webhook_secret": f"HMAC secret for the `HOSTGUARD_WEBHOOK_URL` endpoint ({SECRET})",
    "smtp_host": "SMTP server for e-mail; unset keeps e-mails in the outbox only",
    "smtp_port": "SMTP port",
    "smtp_from": "sender address of e-mails",
    "hf_endpoint": "Hugging Face Hub API endpoint",
    "hf_token": f"Hub token used for quarantines ({SECRET})",
    "hf_webhook_secret": f"secret the Hub sends with webhooks ({SECRET})",
    "hf_quarantine": "how a repo is quarantined on the Hub: `private` or `gated`",
    "notice_hosts": "comma-separated hosts whose model URLs notices and orders may name (e.g. `https://huggingface.co/owner/name/blob/main/README.md`); the host of `HOSTGUARD_HF_ENDPOINT` is always accepted too. A URL on any other host is refused (422 `unsupported_host`); plain `owner/name` items are always accepted",
    "max_upload_bytes": "largest request body accepted",
    "max_image_bytes": "largest sample image accepted",
    "max_image_pixels": "largest sample image in pixels (decompression-bomb guard)",
    "roles": "comma-separated roles of this process: `api`, `matcher`, `worker`",
    "job_lease_seconds": "how long a claimed job stays with its worker; after a crash the job runs again then",
    "worker_poll_seconds": "how often an idle worker looks for due jobs",
    "worker_concurrency": "worker threads per `hostguard worker` process",
    "worker_imports": "extra modules (comma separated) a worker imports to register job handlers",
    "job_retention_days": "finished jobs are deleted after this many days (dead jobs are kept)",
    "exchange_group_records": "an exchange fetch applies its pages in groups of up to this many records, each group with its checkpoint in one transaction and one new version of the list (a fetch killed mid-way fetches at most one group again)",
    "metrics_token": f"when set, /metrics needs `Authorization: Bearer <token>`; required in production ({SECRET})",
    "prometheus_multiproc_dir": "shared directory for Prometheus multi-process files (default `<data_dir>/metrics` under `hostguard serve`)",
    "gunicorn_config": "a gunicorn configuration file `hostguard serve` reads (e.g. `deploy/gunicorn.conf.py`); options given on the `hostguard serve` command line override it",
    "proxy_hops": "how many reverse proxies in front of hostguard to trust for the client address and scheme (X-Forwarded-For/-Proto); 0 trusts none. Rate limits and notice flood control count clients by this address",
    "tdb_puid_prefix": "prefix of the stable `puid` of statements exported to the DSA Transparency Database",
    "tdb_token": f"bearer token for submitting statements to the Transparency Database ({SECRET})",
    "tdb_url": "API base URL of the DSA Transparency Database, ending in `/api/v1`: production `https://transparency.dsa.ec.europa.eu/api/v1`; for the tests the Commission asks for first, its sandbox (`https://sandbox.sor.dsa.ec.europa.eu/api/v1`, or the address given at onboarding). With `HOSTGUARD_TDB_TOKEN` also set, the worker submits every new statement of reasons (see the operators' page on the Transparency Database)",
    "tdb_submit_interval": "seconds between the worker's submission runs to the Transparency Database; retries after a failure wait this long, doubling up to an hour",
    "index_dir": "where match-index snapshots are written for sharing between processes (default `<data_dir>/index`)",
    "c2pa_trust_anchors": "a PEM file of the root certificates whose C2PA signers the upload check trusts; unset, no C2PA manifest counts as verified (see the upload checks' watermark evidence)",
    "upload_token_ttl": "seconds an upload token lives when the platform does not ask for less (`POST /api/v1/upload-tokens`)",
    "upload_token_max_ttl": "the longest lifetime, in seconds, a platform may ask for an upload token",
    "sandbox_policy_file": "the sandbox policy sandbox API keys' checks run against (default: the shipped `policies/sandbox.yaml`; its `sandbox:` section names the test uploader ids and test images)",
}


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "(required)"
    value = info.get_default(call_default_factory=True)
    if value is None:
        return "(unset)"
    return json.dumps(value, default=str)


def reference_rows() -> list[dict[str, str]]:
    """One row per setting: name, environment variable, default, description."""
    rows = []
    for name, info in Settings.model_fields.items():
        rows.append(
            {
                "name": name,
                "env": f"HOSTGUARD_{name.upper()}",
                "default": "(hidden)" if info.repr is False and info.default else _default(info),
                "description": DESCRIPTIONS.get(
                    name, "(undocumented: describe it in hostguard/ops/settings_doc.py)"
                ),
            }
        )
    return rows


def reference_markdown() -> str:
    lines = ["| environment variable | TOML key | default | meaning |", "| --- | --- | --- | --- |"]
    for row in reference_rows():
        lines.append(
            f"| `{row['env']}` | `{row['name']}` | `{row['default']}` | {row['description']} |"
        )
    return "\n".join(lines)
