"""One translation of MLflow's errors: "unavailable" means try again later, "rejected" means do not."""

import pytest
import requests
import sqlalchemy.exc
from mlflow.exceptions import MlflowException
from mlflow.protos import databricks_pb2

from mlops.mlflow_store import MlflowConflict, MlflowNotFound, MlflowRejected, MlflowUnavailable, mlflow_errors


def raised_for(error: Exception) -> Exception:
    with pytest.raises((MlflowUnavailable, MlflowRejected)) as caught:
        with mlflow_errors("read something"):
            raise error
    return caught.value


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("INVALID_PARAMETER_VALUE", MlflowRejected),
        ("BAD_REQUEST", MlflowRejected),
        ("PERMISSION_DENIED", MlflowRejected),
        ("INVALID_STATE", MlflowRejected),  # a write to a deleted run
        ("RESOURCE_DOES_NOT_EXIST", MlflowNotFound),
        ("RESOURCE_ALREADY_EXISTS", MlflowConflict),
        ("INTERNAL_ERROR", MlflowUnavailable),
        ("TEMPORARILY_UNAVAILABLE", MlflowUnavailable),
        ("REQUEST_LIMIT_EXCEEDED", MlflowUnavailable),
    ],
)
def test_an_mlflow_error_code_becomes_rejected_or_unavailable(code, expected):
    error = raised_for(MlflowException("refused", error_code=getattr(databricks_pb2, code)))

    assert type(error) is expected
    assert str(error).startswith(f"read something: {code}")


def test_not_found_and_conflict_are_refusals_too():
    assert issubclass(MlflowNotFound, MlflowRejected)
    assert issubclass(MlflowConflict, MlflowRejected)
    assert not issubclass(MlflowRejected, MlflowUnavailable)


@pytest.mark.parametrize(
    "error",
    [
        requests.ConnectionError("connection refused"),
        requests.Timeout("read timed out"),
        sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("database is locked")),
        OSError("no space left on device"),
    ],
)
def test_a_store_that_cannot_answer_is_unavailable(error):
    assert type(raised_for(error)) is MlflowUnavailable
