"""Schemathesis hooks for tests/web/test_schemathesis.py: each operation is called with the
credential that may call it (operation id -> credential, JSON in HOSTGUARD_SCHEMATHESIS_KEYS)."""

from __future__ import annotations

import json
import os

import schemathesis

CREDENTIALS: dict[str, str] = json.loads(os.environ.get("HOSTGUARD_SCHEMATHESIS_KEYS", "{}"))


@schemathesis.auth(refresh_interval=None)
class PerOperationCredential:
    def get(self, case, ctx):
        return CREDENTIALS.get(case.operation.definition.raw.get("operationId", ""))

    def set(self, case, data, ctx):
        if data:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}
