"""The `hostguard` command line; each domain adds its commands in its own module.

`main` imports a command module only when one of its commands runs (see `base.COMMANDS`).
"""

from hostguard.cli.base import main

__all__ = ["main"]
