"""Fixtures for integration tests: a fake Hugging Face Hub on 127.0.0.1."""

from __future__ import annotations

import pytest

from tests.integrations.fakehub import FakeHub


@pytest.fixture
def fake_hub(monkeypatch):
    hub = FakeHub()
    url = hub.start()
    hub.url = url
    monkeypatch.setenv("HF_ENDPOINT", url)
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    yield hub
    hub.stop()
