import pytest

from tests.support.promotion import promoter_make, versions_register


@pytest.fixture
def versions(db, mlflow_client, tmp_path, nudged_state_dict) -> list[str]:
    """Version 1 champion (bundled), version 2 challenger (working, other weights), in this test's MLflow store."""
    return versions_register(tmp_path, nudged_state_dict)


@pytest.fixture
def promoter(db):
    return promoter_make()
