"""The API does what its OpenAPI schema says: Schemathesis drives every operation in-process, as staff and anonymously.

Generated requests (valid and invalid) go through the whole WSGI stack; every answer must be
something other than a server error and must match the schema (status code, content type,
headers, body). The number of examples per operation is bounded so the run stays short.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from rest_framework.authtoken.models import Token
from schemathesis.specs.openapi.checks import positive_data_acceptance

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

EXAMPLES_PER_OPERATION = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "15"))


def load_schema():
    """The schema the app serves, fetched through the app itself (generating it needs no database)."""
    from nutrilearn.wsgi import application

    loaded = schemathesis.openapi.from_wsgi("/api/v1/schema?format=json", application)
    loaded.config.generation.update(modes=["positive", "negative"], max_examples=EXAMPLES_PER_OPERATION, deterministic=True)
    return loaded


schema = load_schema()


def is_positive(case) -> bool:
    return case.meta is not None and case.meta.generation.mode.is_positive


def moment(value) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@schema.hook
def filter_case(context, case) -> bool:
    """Valid requests keep the rules between parameters that no schema can state and that are documented as 400s:
    ``end`` after ``start``, and for drift a ``start`` at least ``window_days`` before the end (a baseline window)."""
    query = case.query or {}
    if not is_positive(case) or not query.get("start"):
        return True
    start, end = moment(query["start"]), moment(query["end"]) if query.get("end") else datetime.now(UTC)
    if start is None or end is None:
        return True
    if case.operation.path.endswith("/monitoring/drift"):
        end -= timedelta(days=int(query.get("window_days", 7)))
    return start < end


@pytest.fixture(autouse=True)
def running_app(transactional_db, mlflow_client, catalogue, settings):
    """The catalogue, a registered model with version 1 (champion) in the app's MLflow store, cheap on-request drift windows."""
    settings.NUTRILEARN_DRIFT_MMD_PERMUTATIONS = 20
    name = settings.MLFLOW_REGISTERED_MODEL_NAME
    mlflow_client.create_registered_model(name)
    mlflow_client.create_model_version(name, source="file:///nowhere", tags={"sha256": "ab" * 32})
    mlflow_client.set_registered_model_alias(name, "champion", "1")


@pytest.fixture
def staff_token(transactional_db) -> str:
    user = get_user_model().objects.create_user("ops", is_staff=True)
    return Token.objects.create(user=user).key


def excluded_checks(case) -> list:
    """A schema cannot say "a decodable photo of at least 32 pixels a side": Schemathesis's valid upload is a
    1x1 PNG, rightly refused (400 bad_dimensions, documented). Valid photos are tested in tests/predictions."""
    return [positive_data_acceptance] if case.operation.path == "/api/v1/predict" else []


@schema.parametrize()
@hypothesis_settings(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_staff_get_what_the_schema_promises(case, staff_token):
    case.call_and_validate(headers={"Authorization": f"Token {staff_token}"}, excluded_checks=excluded_checks(case))


@schema.parametrize()
@hypothesis_settings(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_anonymous_callers_get_what_the_schema_promises(case):
    case.call_and_validate(excluded_checks=excluded_checks(case))
