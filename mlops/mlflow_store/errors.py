"""The one translation of MLflow's errors, for tracking and registry calls alike.

Two outcomes matter to callers, and they mean the same everywhere:

* ``MlflowUnavailable``: the store could not answer (network, timeout, its database, a 5xx,
  rate limiting). Sending the same request later may work: Celery tasks retry it, the API
  answers 503.
* ``MlflowRejected``: MLflow answered and refused the request itself (bad parameter, unknown
  or deleted run, no such version, already exists, no permission). Sending it again will not
  help: tasks do not retry it, the API answers 4xx (``MlflowNotFound`` 404, ``MlflowConflict``
  409, any other refusal 400).

This module does not import MLflow (nor SQLAlchemy): a web worker that only serves predictions
never loads them (``client.mlflow_module``), and an MLflow or SQLAlchemy error can only be
raised once their package is loaded, so they are recognised through ``sys.modules``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import requests


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


def error_for(*, code: str, http_status: int, message: str, action: str) -> MlflowUnavailable | MlflowRejected:
    """The named error for MLflow's answer ``code`` (its ``error_code``) with ``http_status`` to ``action``.

    The same for the MLflow client's exceptions and for the REST answers of ``rest``.
    """
    text = f"{action}: {code}: {message}"[:2000]
    if code in _NOT_FOUND_CODES:
        return MlflowNotFound(text)
    if code in _CONFLICT_CODES:
        return MlflowConflict(text)
    if code in _REFUSED_SERVER_CODES:
        return MlflowRejected(text)
    if 400 <= http_status < 500 and code not in _RETRY_LATER_CODES:
        return MlflowRejected(text)
    return MlflowUnavailable(text)


def translate(exc, action: str) -> MlflowUnavailable | MlflowRejected:
    """The named error for an ``mlflow.exceptions.MlflowException`` raised while doing ``action``."""
    return error_for(code=exc.error_code, http_status=exc.get_http_status_code(), message=exc.message, action=action)


def _loaded_class(module: str, name: str) -> type | None:
    """``module.name`` when that module is loaded already, else None (then nothing can raise it)."""
    return getattr(sys.modules.get(module), name, None)


@contextmanager
def mlflow_errors(action: str) -> Iterator[None]:
    """Raise MLflow's, its HTTP transport's and its store's errors as MlflowUnavailable / MlflowRejected."""
    try:
        yield
    except (MlflowUnavailable, MlflowRejected):
        raise
    except Exception as exc:
        mlflow_exception = _loaded_class("mlflow.exceptions", "MlflowException")
        if mlflow_exception is not None and isinstance(exc, mlflow_exception):
            raise translate(exc, action) from exc
        store_error = _loaded_class("sqlalchemy.exc", "SQLAlchemyError")
        if isinstance(exc, (requests.RequestException, OSError)) or (store_error is not None and isinstance(exc, store_error)):
            raise MlflowUnavailable(f"{action}: {exc}"[:2000]) from exc
        raise
