"""Serving processes load the champion from the registry, follow the alias and refuse versions that do not work."""

import time

import pytest

from mlops.mlflow_store import registry
from mlops.models import ModelEvent
from mlops.services import bundled_model_register
from predictions.inference import bundled_weights_path, sha256_file
from predictions.serving import ModelHolder
from tests.support.registry import register_variant

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def test_process_serves_the_champion_version_from_the_registry(served_from_registry):
    bundled_model_register()

    model = served_from_registry.get()

    assert (model.name, model.version, model.sha256) == ("food-classifier", "1", sha256_file(bundled_weights_path()))
    assert served_from_registry.fallback_reason is None
    assert ModelEvent.objects.get(kind="loaded").model_version == "1"


def test_empty_registry_falls_back_to_the_bundled_model_with_the_reason(served_from_registry):
    model = served_from_registry.get()

    assert model.version == "bundled"
    assert "champion" in served_from_registry.fallback_reason
    assert "bundled model serving" in ModelEvent.objects.get(kind="loaded").message


def test_unreachable_registry_falls_back_to_the_bundled_model(served_from_registry, settings):
    from mlops import mlflow_store

    settings.MLFLOW_TRACKING_URI = "http://127.0.0.1:9"  # nothing listens on the discard port
    mlflow_store.reset_client()
    started = time.perf_counter()

    model = served_from_registry.get()

    assert model.version == "bundled"
    assert "127.0.0.1:9" in served_from_registry.fallback_reason
    assert time.perf_counter() - started < 30


def test_alias_move_switches_the_served_model_after_its_smoke_test(served_from_registry, tmp_path, nudged_state_dict):
    bundled_model_register()
    served_from_registry.get()
    second = register_variant(tmp_path / "v2", nudged_state_dict)
    registry.alias_set("champion", second.version)

    outcome = served_from_registry.refresh()

    assert outcome == "switched"
    assert (served_from_registry.get().version, served_from_registry.get().sha256) == ("2", second.sha256)
    assert ModelEvent.objects.get(kind="switched").message.startswith("switched from version 1")
    assert served_from_registry.refresh() == "unchanged"


def test_version_failing_its_smoke_test_is_refused_once_and_the_old_one_keeps_serving(
    served_from_registry, tmp_path, broken_state_dict
):
    bundled_model_register()
    served_from_registry.get()
    broken = register_variant(tmp_path / "broken", broken_state_dict)
    registry.alias_set("champion", broken.version)

    first, second = served_from_registry.refresh(), served_from_registry.refresh()

    assert (first, second) == ("refused", "refused")
    assert served_from_registry.get().version == "1"
    refused = ModelEvent.objects.get(kind="refused")
    assert refused.model_version == "2"
    assert "non-finite" in refused.message and "still serving version 1" in refused.message


def test_version_whose_weights_do_not_fit_the_architecture_is_refused(served_from_registry, tmp_path, bundled_state_dict):
    bundled_model_register()
    served_from_registry.get()
    incomplete = {key: value for key, value in bundled_state_dict.items() if key != "_fc.bias"}
    registry.alias_set("champion", register_variant(tmp_path / "incomplete", incomplete).version)

    assert served_from_registry.refresh() == "refused"
    assert served_from_registry.get().version == "1"
    assert "do not fit" in ModelEvent.objects.get(kind="refused").message


def test_registry_recovering_after_a_fallback_brings_the_champion_in(served_from_registry):
    assert served_from_registry.get().version == "bundled"
    bundled_model_register()

    assert served_from_registry.refresh() == "switched"
    assert served_from_registry.get().version == "1"
    assert served_from_registry.fallback_reason is None


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_watcher_thread_notices_the_alias_move_without_a_request(settings, mlflow_client, tmp_path, nudged_state_dict):
    settings.NUTRILEARN_MODEL_SOURCE = "registry"
    settings.NUTRILEARN_MODEL_POLL_SECONDS = 0.2
    bundled_model_register()
    watched = ModelHolder()
    assert watched.get().version == "1"
    second = register_variant(tmp_path / "v2", nudged_state_dict)

    registry.alias_set("champion", second.version)
    deadline = time.monotonic() + 20
    while watched.loaded().version != "2" and time.monotonic() < deadline:
        time.sleep(0.1)

    assert watched.loaded().version == "2"
    watched.reset()


def test_readiness_reports_ready_on_the_fallback_with_its_reason(served_from_registry, client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert "fallback" in response.json()["checks"]["model"]["detail"]
