"""Operational settings (worker, leases, metrics, index snapshots) on top of `Settings`.

They follow the same layering as every other setting (defaults < TOML file named by
HOSTGUARD_CONFIG < HOSTGUARD_* variables) and are kept in a subclass so the operations
part can add settings without editing the shared `hostguard.config`.
"""

from __future__ import annotations

from pydantic import Field

from hostguard.config import Settings

ROLES = ("api", "matcher", "worker")


class OpsSettings(Settings):
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
    # When set, /metrics answers only requests with `Authorization: Bearer <token>`.
    metrics_token: str | None = Field(default=None, repr=False)
    # Directory shared by all processes for prometheus-client's multi-process files;
    # `hostguard serve` sets it under the data dir when unset.
    prometheus_multiproc_dir: str | None = None
    # Where match-index snapshots are written for sharing between processes (default
    # <data_dir>/index).
    index_dir: str | None = None
    # A gunicorn configuration file read by `hostguard serve` (e.g. deploy/gunicorn.conf.py);
    # the command line's --host/--port/--workers/--threads still win.
    gunicorn_config: str | None = None

    @property
    def role_set(self) -> frozenset[str]:
        return parse_roles(self.roles)


def parse_roles(value: str) -> frozenset[str]:
    """The roles in a HOSTGUARD_ROLES value; unknown names are an error."""
    from hostguard.config import ConfigError

    roles = frozenset(r.strip().lower() for r in value.split(",") if r.strip())
    unknown = roles - set(ROLES)
    if unknown:
        raise ConfigError(f"HOSTGUARD_ROLES names unknown role(s) {', '.join(sorted(unknown))}; "
                          f"use a comma-separated subset of {', '.join(ROLES)}")
    return roles


def ops_settings(settings: Settings) -> OpsSettings:
    """The operational settings for a process configured with `settings`."""
    if isinstance(settings, OpsSettings):
        return settings
    values = {k: v for k, v in settings.model_dump().items() if k in Settings.model_fields}
    return OpsSettings(**values)
