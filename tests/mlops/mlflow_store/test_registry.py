"""Registering versions, fetching their artefacts by sha256, promoting and rolling back, against a real MLflow store."""

import io
from pathlib import Path

import pytest
import torch

from mlops.mlflow_store import MlflowNotFound, MlflowRejected, MlflowUnavailable, registry
from mlops.models import ModelEvent
from mlops.services import PromotionRefused, bundled_model_register, model_promote, model_rollback
from predictions.inference import FoodClassifier, WeightsCorrupt, bundled_weights_path, imagenet_manifest, sha256_file
from tests.support.registry import register_variant

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def test_a_request_the_registry_refuses_is_rejected_not_unavailable(mlflow_client):
    bundled_model_register()

    with pytest.raises(MlflowRejected) as refused:
        registry.version_get("first")  # MLflow answers: the version must be an integer
    with pytest.raises(MlflowNotFound):
        registry.version_get("99")

    assert not isinstance(refused.value, MlflowUnavailable | MlflowNotFound)
    assert "INVALID_PARAMETER_VALUE" in str(refused.value)


def test_artefact_folder_round_trip_keeps_the_weights_digest(tmp_path):
    manifest = registry.artefact_write(tmp_path, manifest=imagenet_manifest(""), weights_file=bundled_weights_path())

    read, weights = registry.artefact_read(tmp_path)

    assert read == manifest
    assert manifest.weights_sha256 == sha256_file(bundled_weights_path())
    assert FoodClassifier.load(read, weights).manifest.num_classes == 1000


def test_bundled_model_becomes_version_1_champion_once(mlflow_client):
    first, created = bundled_model_register()
    again, created_again = bundled_model_register()

    assert (first.version, created) == ("1", True)
    assert (again.version, created_again) == ("1", False)
    assert registry.aliases_get() == {"champion": "1"}
    assert len(registry.versions_list()) == 1
    version = mlflow_client.get_model_version("food-classifier", "1")
    assert version.tags["sha256"] == sha256_file(bundled_weights_path())
    assert ModelEvent.objects.filter(kind="promoted", model_version="1").count() == 1


def test_registered_version_is_fetched_into_the_cache_by_sha256_and_loads(mlflow_client, settings):
    ref, _ = bundled_model_register()

    classifier = registry.classifier_load(ref)

    assert (settings.NUTRILEARN_MODEL_CACHE_DIR / ref.sha256 / "manifest.json").is_file()
    classifier.smoke_test()


def test_download_whose_weights_do_not_match_the_registered_sha256_is_refused(mlflow_client, tmp_path, settings, nudged_state_dict):
    ref = register_variant(tmp_path / "variant", nudged_state_dict)
    artifact_root = Path(settings.MLFLOW_ARTIFACT_ROOT.removeprefix("file://"))
    stored_weights = next(artifact_root.rglob("weights.safetensors"))
    stored_weights.write_bytes(stored_weights.read_bytes()[:-8] + b"\x00" * 8)

    with pytest.raises(WeightsCorrupt, match="sha256"):
        registry.classifier_load(ref)
    assert not (settings.NUTRILEARN_MODEL_CACHE_DIR / ref.sha256).exists()


def test_damaged_cached_copy_is_replaced_by_a_fresh_download(mlflow_client, settings):
    ref, _ = bundled_model_register()
    _, cached_weights = registry.artefact_read(registry.artefact_fetch(ref))
    torch.save({"not": torch.zeros(1)}, cached_weights)

    classifier = registry.classifier_load(ref)

    assert classifier.manifest.weights_sha256 == ref.sha256
    assert sha256_file(cached_weights) == ref.sha256


def test_promote_moves_champion_and_rollback_moves_it_back(mlflow_client, tmp_path, nudged_state_dict):
    bundled_model_register()
    second = register_variant(tmp_path / "v2", nudged_state_dict, aliases=("challenger",))

    promoted = model_promote(version=second.version)

    assert registry.aliases_get() == {"champion": "2"}  # the challenger alias left with the promotion
    assert (promoted.kind, promoted.message) == ("promoted", "champion moved from version 1 to 2")
    rolled_back = model_rollback()
    assert registry.aliases_get()["champion"] == "1"
    assert rolled_back.kind == "rolled_back"
    model_rollback()
    assert registry.aliases_get()["champion"] == "2"


def test_promoting_a_version_that_fails_its_smoke_test_is_refused(mlflow_client, tmp_path, broken_state_dict):
    bundled_model_register()
    broken = register_variant(tmp_path / "broken", broken_state_dict)

    with pytest.raises(PromotionRefused, match="non-finite"):
        model_promote(version=broken.version)
    assert registry.aliases_get()["champion"] == "1"


def test_rollback_without_an_earlier_champion_is_refused(mlflow_client):
    bundled_model_register()

    with pytest.raises(PromotionRefused):
        model_rollback()


def test_staff_see_model_events_and_evaluations_in_admin(admin_client):
    ModelEvent.objects.create(kind="refused", model_name="food-classifier", model_version="4", message="smoke test failed: non-finite")

    events = admin_client.get("/admin/mlops/modelevent/")
    evaluations = admin_client.get("/admin/mlops/evaluation/")

    assert events.status_code == 200 and b"smoke test failed: non-finite" in events.content
    assert evaluations.status_code == 200


def test_bootstrap_twice_leaves_one_champion_and_the_catalogue(mlflow_client):
    from django.core.management import call_command

    from predictions.models import Food

    call_command("bootstrap", stdout=io.StringIO())
    output = io.StringIO()
    call_command("bootstrap", stdout=output)

    assert "nothing to do" in output.getvalue()
    assert registry.aliases_get() == {"champion": "1"}
    assert len(registry.versions_list()) == 1
    assert Food.objects.filter(key="espresso").exists()
