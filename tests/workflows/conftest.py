"""Fixtures for workflow tests: the fake Hugging Face Hub of the integration tests."""

from tests.integrations.conftest import fake_hub  # noqa: F401  (re-exported as a fixture)
