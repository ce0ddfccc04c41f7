"""Settings for every hostguard process, read from a config file and HOSTGUARD_* variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

WEAK_SECRETS = {"", "dev", "changeme", "secret", "development", "test"}


class ConfigError(Exception):
    """A setting is missing or unusable; the message says which and what to do."""


class Settings(BaseSettings):
    """Layered configuration: defaults < TOML file named by HOSTGUARD_CONFIG < HOSTGUARD_* env vars."""

    model_config = SettingsConfigDict(env_prefix="HOSTGUARD_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("./var")
    database_url: str | None = None
    secret_key: str | None = Field(default=None, repr=False)
    base_url: str = "http://127.0.0.1:8080"
    cookie_secure: bool | None = None
    policy_file: Path | None = None
    ratelimit_storage_uri: str = "memory://"
    ratelimit_enabled: bool = True
    login_rate_limit: str = "10 per minute"
    log_level: str = "INFO"
    log_json: bool = True
    # Which platform actioner carries out quarantines and take-downs: log, webhook, huggingface.
    actioner: str = "log"
    # Outbound signed webhook for platform actions and notifications.
    webhook_url: str | None = None
    webhook_secret: str | None = Field(default=None, repr=False)
    # E-mail through SMTP when configured; otherwise e-mails are written to the outbox log only.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "hostguard@localhost"
    # Hugging Face Hub integration.
    hf_endpoint: str | None = None
    hf_token: str | None = Field(default=None, repr=False)
    hf_webhook_secret: str | None = Field(default=None, repr=False)
    hf_quarantine: Literal["private", "gated"] = "private"
    # Hosts whose model URLs notices and orders may name (comma separated); the host of
    # hf_endpoint is always accepted as well.
    notice_hosts: str = "huggingface.co,hf.co"
    # Limits on untrusted input.
    max_upload_bytes: int = 64 * 1024 * 1024
    max_image_bytes: int = 32 * 1024 * 1024
    max_image_pixels: int = 50_000_000
    # Process roles (comma separated): api, matcher, worker.
    roles: str = "api,matcher,worker"
    # Reverse proxies in front of hostguard whose X-Forwarded-For/-Proto to trust (0: none).
    proxy_hops: int = Field(default=0, ge=0, le=5)
    # Operations: worker, job leases, metrics, index snapshots.
    # How long a claimed job stays leased to its worker; after a crash it runs again then.
    job_lease_seconds: int = Field(default=300, ge=1)
    # How often an idle worker looks for due jobs.
    worker_poll_seconds: float = Field(default=1.0, gt=0)
    # Worker threads per `hostguard worker` process.
    worker_concurrency: int = Field(default=2, ge=1, le=64)
    # Extra modules a worker imports to register job handlers (comma separated).
    worker_imports: str = ""
    # Finished jobs are deleted after this many days (dead jobs are kept).
    job_retention_days: int = Field(default=30, ge=1)
    # An exchange fetch applies its pages in groups of up to this many records, each group
    # with its checkpoint in one transaction (and one new version of the list).
    exchange_group_records: int = Field(default=50_000, ge=1)
    # When set, /metrics answers only requests with `Authorization: Bearer <token>`.
    metrics_token: str | None = Field(default=None, repr=False)
    # Directory shared by all processes for prometheus-client's multi-process files.
    prometheus_multiproc_dir: str | None = None
    # Where match-index snapshots are written for sharing between processes.
    index_dir: str | None = None
    # A gunicorn configuration file read by `hostguard serve`.
    gunicorn_config: str | None = None
    # DSA Transparency Database submission.
    tdb_puid_prefix: str = Field(default="hostguard", pattern=r"^[A-Za-z0-9_-]{1,100}$")
    tdb_token: str | None = Field(default=None, repr=False)
    # API base URL (ending in /api/v1); with tdb_token set, the worker submits new statements.
    tdb_url: str | None = None
    # How often, in seconds, the worker sends the statements not yet accepted.
    tdb_submit_interval: int = Field(default=300, ge=1)
    # Root certificates (a PEM file) whose C2PA signers the upload check trusts; without it no
    # C2PA manifest counts as verified (a self-made CA validates but proves nothing).
    c2pa_trust_anchors: Path | None = None
    # Upload tokens (issue 17): how long a minted token lives unless the platform asks for less,
    # and the longest a platform may ask for, in seconds.
    upload_token_ttl: int = Field(default=3600, ge=60)
    upload_token_max_ttl: int = Field(default=86400, ge=60)
    # The sandbox policy file sandbox keys' checks run against (default: the shipped
    # policies/sandbox.yaml).
    sandbox_policy_file: Path | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("HOSTGUARD_CONFIG")
        if config_file:
            if not Path(config_file).is_file():
                raise ConfigError(f"HOSTGUARD_CONFIG names {config_file}, which is not a file")
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)

    @field_validator("data_dir")
    @classmethod
    def _absolute_data_dir(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("tdb_url")
    @classmethod
    def _tdb_api_base(cls, value: str | None) -> str | None:
        if not value:
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("https://", "http://")) or not value.endswith("/api/v1"):
            raise ValueError(
                "HOSTGUARD_TDB_URL must be the API base URL ending in /api/v1, "
                "e.g. https://transparency.dsa.ec.europa.eu/api/v1"
            )
        return value

    @field_validator("c2pa_trust_anchors")
    @classmethod
    def _anchors_file_exists(cls, value: Path | None) -> Path | None:
        # refused at start, not on the first upload check that declares C2PA
        if value is not None and not value.expanduser().is_file():
            raise ValueError(f"{value} is not a file (a PEM file of root certificates)")
        return value

    @property
    def role_set(self) -> frozenset[str]:
        return parse_roles(self.roles)

    @property
    def notice_host_set(self) -> frozenset[str]:
        """The hosts a notice's URL may point at: `notice_hosts` plus the Hub endpoint's host."""
        hosts = {h.strip().lower() for h in self.notice_hosts.split(",") if h.strip()}
        if self.hf_endpoint and (endpoint_host := urlsplit(self.hf_endpoint).hostname):
            hosts.add(endpoint_host.lower())
        return frozenset(hosts)

    @property
    def c2pa_trust_anchor_pem(self) -> str | None:
        """The configured C2PA trust anchors as PEM text (None when not configured)."""
        if self.c2pa_trust_anchors is None:
            return None
        try:
            text = self.c2pa_trust_anchors.expanduser().read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"HOSTGUARD_C2PA_TRUST_ANCHORS names {self.c2pa_trust_anchors}, which is not a "
                f"readable PEM file ({exc.__class__.__name__})"
            ) from exc
        if "-----BEGIN CERTIFICATE-----" not in text:
            raise ConfigError(
                f"HOSTGUARD_C2PA_TRUST_ANCHORS names {self.c2pa_trust_anchors}, which holds no "
                "PEM certificate"
            )
        return text

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'hostguard.db'}"

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def documents_dir(self) -> Path:
        return self.data_dir / "documents"

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.env == "production" or self.base_url.startswith("https://")

    def require_production_secrets(self) -> None:
        """Refuse to run in production with a missing or placeholder secret key."""
        if self.env != "production":
            return
        if not self.metrics_token:
            raise ConfigError(
                "HOSTGUARD_METRICS_TOKEN must be set when HOSTGUARD_ENV=production: /metrics shows "
                "list names, sizes and queue depth, so it is not left open"
            )
        key = (self.secret_key or "").strip()
        if key.lower() in WEAK_SECRETS or len(key) < 32:
            raise ConfigError(
                "HOSTGUARD_SECRET_KEY must be set to a random value of at least 32 characters "
                "when HOSTGUARD_ENV=production (try: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )


ROLES = ("api", "matcher", "worker")


def parse_roles(value: str) -> frozenset[str]:
    """The roles in a HOSTGUARD_ROLES value; unknown names are an error."""
    roles = frozenset(r.strip().lower() for r in value.split(",") if r.strip())
    unknown = roles - set(ROLES)
    if unknown:
        raise ConfigError(
            f"HOSTGUARD_ROLES names unknown role(s) {', '.join(sorted(unknown))}; "
            f"use a comma-separated subset of {', '.join(ROLES)}"
        )
    return roles


def load_settings(**overrides: object) -> Settings:
    """Read settings; keyword overrides win over the file and the environment."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ConfigError:
        raise
    except Exception as exc:  # pydantic's ValidationError carries every bad field
        raise ConfigError(f"invalid configuration: {exc}") from exc
