"""The monitoring API's routes as viewsets: the paths, operation ids and envelopes its clients were generated from."""

import pytest
from drf_spectacular.generators import SchemaGenerator

# (path, method) -> operation id, as the schema named them before the views became viewsets on a router.
OPERATION_IDS = {
    ("/api/v1/mlops/experiments", "get"): "mlops_experiments_retrieve",
    ("/api/v1/mlops/runs", "get"): "mlops_runs_retrieve",
    ("/api/v1/mlops/metrics", "get"): "mlops_metrics_retrieve",
    ("/api/v1/mlops/metrics/history", "get"): "mlops_metrics_history_retrieve",
    ("/api/v1/mlops/model-versions", "get"): "mlops_model_versions_retrieve",
    ("/api/v1/mlops/register-model", "post"): "mlops_register_model_create",
    ("/api/v1/mlops/monitoring/predictions", "get"): "mlops_monitoring_predictions_retrieve",
    ("/api/v1/mlops/monitoring/confidence", "get"): "mlops_monitoring_confidence_retrieve",
    ("/api/v1/mlops/monitoring/performance", "get"): "mlops_monitoring_performance_retrieve",
    ("/api/v1/mlops/monitoring/drift", "get"): "mlops_monitoring_drift_retrieve",
    ("/api/v1/mlops/monitoring/health", "get"): "mlops_monitoring_health_retrieve",
}


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def test_every_path_keeps_its_method_and_operation_id(schema):
    served = {
        (path, method): operation["operationId"] for path, operations in schema["paths"].items() for method, operation in operations.items()
    }

    assert OPERATION_IDS.items() <= served.items()


@pytest.mark.parametrize(
    "path", ["/api/v1/mlops/experiments", "/api/v1/mlops/runs", "/api/v1/mlops/metrics", "/api/v1/mlops/model-versions"]
)
def test_a_list_action_answers_one_envelope_not_an_array(schema, path):
    answer = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]

    assert set(answer) == {"$ref"}


def test_each_operation_is_described_by_its_own_docstring(schema):
    descriptions = [schema["paths"][path][method].get("description", "") for path, method in OPERATION_IDS]

    assert all(descriptions)
    assert len(set(descriptions)) == len(descriptions)
