"""What every process shares: settings, the database engine and the keyring."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import Engine

from hostguard.config import Settings, load_settings
from hostguard.db import make_engine, session_scope
from hostguard.keys import Keyring, load_keyring
from hostguard.policy import Policy, policy_in_force


@dataclass
class Runtime:
    settings: Settings = field(default_factory=load_settings)

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.effective_database_url)

    @cached_property
    def keys(self) -> Keyring:
        return load_keyring(self.settings)

    @property
    def policy(self) -> Policy:
        """The policy in force (`policy_file`, or the shipped default), re-read when the file changes."""
        return policy_in_force(self.settings.policy_file)

    def session(self):
        """A transaction scope: `with runtime.session() as s: ...` commits at the end."""
        return session_scope(self.engine)

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()
