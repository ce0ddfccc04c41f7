"""Running the WSGI app under gunicorn from `hostguard serve`, and the hooks it needs.

The hooks are plain functions so `deploy/gunicorn.conf.py` can reuse them when operators
run gunicorn directly:

- `on_starting`: gives this server a fresh directory for prometheus-client's
  multi-process files (PROMETHEUS_MULTIPROC_DIR), inherited by every worker it forks;
- `child_exit`: tells prometheus-client a worker is gone;
- `when_ready` / `on_exit`: with the `worker` role (the single-node default) the server
  starts one `hostguard worker` process beside itself and stops it on the way out.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

from gunicorn.app.base import Application

from hostguard.config import ConfigError, Settings

log = logging.getLogger(__name__)
WORKER_COMMAND = [sys.executable, "-c", "from hostguard.cli import main; main()", "worker"]


def _ops():
    return Settings()


def on_starting(server) -> None:
    ops = _ops()
    base = Path(ops.prometheus_multiproc_dir or ops.data_dir / "metrics")
    # One directory per server (several may share a data dir): a scrape adds up this
    # server's workers only, and stale files of an earlier run are never counted.
    folder = base / f"{socket.gethostname()}-{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    server._hostguard_metrics_dir = folder


def child_exit(server, worker) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def when_ready(server) -> None:
    ops = _ops()
    if "worker" not in ops.role_set:
        return
    env = {**os.environ, "HOSTGUARD_ROLES": "worker"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    server._hostguard_worker = subprocess.Popen(WORKER_COMMAND, env=env)
    server.log.info(
        "started hostguard worker process %s (HOSTGUARD_ROLES has 'worker')",
        server._hostguard_worker.pid,
    )


def on_exit(server) -> None:
    worker = getattr(server, "_hostguard_worker", None)
    if worker is not None and worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    folder = getattr(server, "_hostguard_metrics_dir", None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


HOOKS = {
    "on_starting": on_starting,
    "child_exit": child_exit,
    "when_ready": when_ready,
    "on_exit": on_exit,
}


# What `hostguard serve` runs with when neither the command line nor a config file says.
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8080
DEFAULTS = {
    "bind": f"{DEFAULT_HOST}:{DEFAULT_PORT}",
    "workers": 1,
    "threads": 8,
    "timeout": 60,
    "graceful_timeout": 30,
}
# Set before the config file, which may change them.
# keepalive 0: each request on its own connection. A gthread worker keeps every keep-alive
# connection it accepted, so a client (or a proxy) holding a few connections open can pin all
# the load on one worker process while the others idle; without keep-alive the next request
# goes to whichever worker accepts it first. hostguard's requests are CPU-heavy (hashing),
# so a new local TCP connection per request costs little by comparison.
BASE = {
    "worker_class": "gthread",
    "keepalive": 0,
    "accesslog": None,
}  # hostguard logs one JSON line per request itself
# worker_connections (set in load_config, without keep-alive): a worker process accepts only
# as many connections as it has threads, not gunicorn's default of 1000. A process that
# accepted more would queue them behind its busy threads while another process idles;
# instead they wait in the kernel's listen queue for whichever process frees a thread first.
# In the load benchmark this halved p99 latency (about 120 instead of 200-260 ms) and raised
# throughput a little.


class HostguardServer(Application):
    """gunicorn with hostguard's hooks, an optional config file, and options from the CLI.

    Weakest first: BASE, then DEFAULTS (only without a config file, so the file's bind,
    workers, threads and timeouts apply), the config file, then `options` (what the command
    line gave explicitly); worker_connections last, from the threads (see above).
    """

    def __init__(self, options: dict, config_file: str | None = None):
        self.options = options
        self.config_file = config_file
        super().__init__()

    def init(self, parser, opts, args):
        return None

    def load_config(self) -> None:
        for key, value in {**HOOKS, **BASE}.items():
            self.cfg.set(key, value)
        from_file = {}
        if self.config_file:
            from_file = self.load_config_from_file(self.config_file)
        else:
            for key, value in DEFAULTS.items():
                self.cfg.set(key, value)
        for key, value in self.options.items():
            self.cfg.set(key, value)
        # At least one connection per thread, also when --threads raised the file's threads.
        # A file that turns keep-alive on keeps gunicorn's own limit (or its own): idle
        # kept-alive connections need room beyond the threads.
        if not self.cfg.keepalive:
            self.cfg.set(
                "worker_connections", max(self.cfg.threads, from_file.get("worker_connections", 0))
            )

    def load(self):
        # in the worker process after the fork, not in the master, which never serves requests
        from hostguard.web import create_app

        return create_app()


def command_line_options(
    *,
    host: str | None = None,
    port: int | None = None,
    workers: int | None = None,
    threads: int | None = None,
) -> dict:
    """gunicorn options for what `hostguard serve` was given; None means "not given"."""
    options: dict = {}
    if host is not None or port is not None:
        options["bind"] = f"{host or DEFAULT_HOST}:{DEFAULT_PORT if port is None else port}"
    if workers is not None:
        options["workers"] = workers
    if threads is not None:
        options["threads"] = threads
    return options


def build_server(
    *,
    host: str | None = None,
    port: int | None = None,
    workers: int | None = None,
    threads: int | None = None,
) -> HostguardServer:
    """The server `hostguard serve` runs: HOSTGUARD_GUNICORN_CONFIG's file (if set) under the
    options given on the command line."""
    ops = _ops()
    if not ops.role_set & {"api", "matcher"}:
        raise ConfigError(
            f"HOSTGUARD_ROLES is '{ops.roles}': a web server needs the 'api' or "
            "'matcher' role; run 'hostguard worker' for the worker role"
        )
    if ops.gunicorn_config and not Path(ops.gunicorn_config).is_file():
        raise ConfigError(
            f"HOSTGUARD_GUNICORN_CONFIG names {ops.gunicorn_config}, which is not a file"
        )
    options = command_line_options(host=host, port=port, workers=workers, threads=threads)
    return HostguardServer(options, config_file=ops.gunicorn_config)
