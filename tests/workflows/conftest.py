"""Fixtures for workflow tests: the fake Hugging Face Hub of the integration tests."""

from tests.datasets.conftest import dataset_hub  # noqa: F401  (the Hub with dataset repos)
from tests.integrations.conftest import fake_hub  # noqa: F401  (re-exported as a fixture)
