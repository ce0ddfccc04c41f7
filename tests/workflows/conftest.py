"""Fixtures for workflow tests: the fake Hugging Face Hub of the integration tests, and the
platform's webhook receiver of the decision events' tests."""

from tests.datasets.conftest import dataset_hub  # noqa: F401  (the Hub with dataset repos)
from tests.integrations.conftest import fake_hub  # noqa: F401  (re-exported as a fixture)
from tests.uploads.test_decision_events import late_receiver  # noqa: F401  (a fixture)
