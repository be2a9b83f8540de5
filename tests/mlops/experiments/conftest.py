"""Fixtures of the A/B test tests: registered versions to compare, and a challenger slot emptied after each test."""

import pytest

from mlops.experiments.serving import challenger
from tests.support.registry import broken_state_dict, bundled_state_dict, nudged_state_dict, served_from_registry  # noqa: F401


@pytest.fixture(autouse=True)
def challenger_released():
    """The process-wide challenger slot holds nothing from one test into the next."""
    challenger.release()
    yield challenger
    challenger.release()


@pytest.fixture
def registered_versions(mlflow_client, settings) -> list[str]:
    """Versions 1, 2 and 3 in the test's registry (entries only: nothing is loaded from them)."""
    name = settings.MLFLOW_REGISTERED_MODEL_NAME
    mlflow_client.create_registered_model(name)
    return [mlflow_client.create_model_version(name, source="file:///nowhere", tags={"sha256": "ab" * 32}).version for _ in range(3)]
