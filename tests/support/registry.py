"""Serving that follows a real, throwaway MLflow store (``mlflow_client``), and weights to register in it.

The fixtures are made available to every test by tests/conftest.py."""

from pathlib import Path

import pytest
import torch

from mlops.mlflow_store import registry
from predictions.inference import bundled_weights_path, imagenet_manifest, load_state_dict
from predictions.serving import holder


@pytest.fixture
def served_from_registry(settings, mlflow_client):
    """The process's model holder following the registry; the alias is checked only when a test calls refresh()."""
    settings.NUTRILEARN_MODEL_SOURCE = "registry"
    settings.NUTRILEARN_MODEL_POLL_SECONDS = 0
    holder.reset()
    yield holder
    holder.reset()


@pytest.fixture(scope="session")
def bundled_state_dict() -> dict[str, torch.Tensor]:
    return load_state_dict(bundled_weights_path(), expected_sha256=None)


def register_variant(folder: Path, state_dict: dict, *, aliases=()) -> registry.VersionRef:
    """Register ImageNet-shaped weights (e.g. the bundled ones, altered) as a new version."""
    registry.artefact_write(folder, manifest=imagenet_manifest(""), state_dict=state_dict)
    return registry.version_register(artefact_dir=folder, description="test variant", aliases=aliases)


@pytest.fixture
def nudged_state_dict(bundled_state_dict) -> dict[str, torch.Tensor]:
    """Working weights that differ from the bundled ones (so: another sha256)."""
    return {**bundled_state_dict, "_fc.bias": bundled_state_dict["_fc.bias"] + 0.01}


@pytest.fixture
def broken_state_dict(bundled_state_dict) -> dict[str, torch.Tensor]:
    """Weights that load but produce non-finite outputs: the smoke test must catch them."""
    return {**bundled_state_dict, "_fc.weight": torch.full_like(bundled_state_dict["_fc.weight"], float("nan"))}
