"""Schemathesis hooks for tests/web/test_schemathesis.py: each operation is called with the
credentials that may call it, in turn (operation id -> credentials, JSON in
HOSTGUARD_SCHEMATHESIS_KEYS), so one run covers every kind of key."""

from __future__ import annotations

import itertools
import json
import os

import schemathesis

CREDENTIALS = {
    operation: itertools.cycle(keys)
    for operation, keys in json.loads(os.environ.get("HOSTGUARD_SCHEMATHESIS_KEYS", "{}")).items()
}


@schemathesis.auth(refresh_interval=None)
class CredentialsInTurn:
    def get(self, case, ctx):
        keys = CREDENTIALS.get(case.operation.definition.raw.get("operationId", ""))
        return next(keys) if keys else None

    def set(self, case, data, ctx):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}
