"""Process roles; the operational settings themselves live in `hostguard.config.Settings`."""

from __future__ import annotations

from hostguard.config import ROLES, Settings, parse_roles

__all__ = ["ROLES", "parse_roles", "ops_settings"]


def ops_settings(settings: Settings) -> Settings:
    """Kept for callers written when operational settings were a subclass: the same object."""
    return settings
