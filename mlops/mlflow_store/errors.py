"""The one translation of MLflow's errors, for tracking and registry calls alike.

Two outcomes matter to callers, and they mean the same everywhere:

* ``MlflowUnavailable``: the store could not answer (network, timeout, its database, a 5xx,
  rate limiting). Sending the same request later may work: Celery tasks retry it, the API
  answers 503.
* ``MlflowRejected``: MLflow answered and refused the request itself (bad parameter, unknown
  or deleted run, no such version, already exists, no permission). Sending it again will not
  help: tasks do not retry it, the API answers 4xx (``MlflowNotFound`` 404, ``MlflowConflict``
  409, any other refusal 400).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import requests
import sqlalchemy.exc
from mlflow.exceptions import MlflowException


class MlflowUnavailable(Exception):
    """The MLflow store could not answer; the same request may work later."""


class MlflowRejected(Exception):
    """MLflow answered and refused the request itself; sending it again will not help."""


class MlflowNotFound(MlflowRejected, LookupError):
    """No such run, experiment, registered model, version or alias."""


class MlflowConflict(MlflowRejected):
    """What the request would create already exists."""


# MLflow maps these 4xx codes to "try again later" rather than "the request is wrong".
_RETRY_LATER_CODES = frozenset({"REQUEST_LIMIT_EXCEEDED", "RESOURCE_EXHAUSTED", "ABORTED", "CANCELLED"})
# MLflow reports a write to a deleted run as INVALID_STATE (HTTP 500), yet repeating it cannot succeed.
_REFUSED_SERVER_CODES = frozenset({"INVALID_STATE"})
_NOT_FOUND_CODES = frozenset({"RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "ENDPOINT_NOT_FOUND"})
_CONFLICT_CODES = frozenset({"RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS", "RESOURCE_CONFLICT"})


def translate(exc: MlflowException, action: str) -> MlflowUnavailable | MlflowRejected:
    """The named error for an MlflowException raised while doing ``action``."""
    message = f"{action}: {exc.error_code}: {exc.message}"[:2000]
    code = exc.error_code
    if code in _NOT_FOUND_CODES:
        return MlflowNotFound(message)
    if code in _CONFLICT_CODES:
        return MlflowConflict(message)
    if code in _REFUSED_SERVER_CODES:
        return MlflowRejected(message)
    if 400 <= exc.get_http_status_code() < 500 and code not in _RETRY_LATER_CODES:
        return MlflowRejected(message)
    return MlflowUnavailable(message)


@contextmanager
def mlflow_errors(action: str) -> Iterator[None]:
    """Raise MLflow's, its HTTP transport's and its store's errors as MlflowUnavailable / MlflowRejected."""
    try:
        yield
    except MlflowException as exc:
        raise translate(exc, action) from exc
    except (requests.RequestException, sqlalchemy.exc.SQLAlchemyError, OSError) as exc:
        raise MlflowUnavailable(f"{action}: {exc}"[:2000]) from exc
