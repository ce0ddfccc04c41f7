"""Prometheus metrics at /metrics."""

from __future__ import annotations


def init_metrics(app) -> None:
    """Register metrics collection on the app (filled in by the operations domain)."""
