"""The `hostguard` command line; each domain adds its commands in its own module."""

from hostguard.cli import accounts, audit, cases, core, hashing, ops, uploads  # noqa: E402,F401
from hostguard.cli.base import main

__all__ = ["main"]
