"""Structured JSON logs with request ids; personal data never goes into a log record.

Every request gets one `request` line with the method, the route *rule* (never the path or
query string, which may carry e-mail addresses or tokens), the status and the duration.
Client addresses, headers and bodies are not logged. Other code adds structured fields
with `log.info("...", extra={"fields": {...}})`; only ids, kinds and counts belong there.
"""

from __future__ import annotations

import json
import logging
import os
import sys

from hostguard.context import current_request_id


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or current_request_id(),
            "pid": os.getpid(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update({k: v for k, v in fields.items() if k not in entry})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(settings) -> None:
    root = logging.getLogger()
    if getattr(root, "_hostguard_configured", False):
        return
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_json:
        handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    # Alembic announces its dialect on every schema look-up (e.g. each /readyz); keep it quiet.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    root._hostguard_configured = True  # type: ignore[attr-defined]
