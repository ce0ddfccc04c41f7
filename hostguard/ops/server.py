"""Running the WSGI app under gunicorn from `hostguard serve`."""

from __future__ import annotations

from gunicorn.app.base import BaseApplication


class HostguardServer(BaseApplication):
    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from hostguard.web import create_app

        return create_app()


def run_gunicorn(*, host: str, port: int, workers: int = 1, threads: int = 8) -> None:
    HostguardServer({
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "accesslog": None,
        "timeout": 60,
    }).run()
