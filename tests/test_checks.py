import pytest
from django.core.checks import run_checks


def check_ids() -> set[str]:
    return {message.id for message in run_checks()}


def test_a_threshold_outside_zero_to_one_is_an_error(settings):
    settings.NUTRILEARN_FOOD_MASS_THRESHOLD = 1.5

    assert "nutrilearn.E001" in check_ids()


def test_an_unknown_model_source_is_an_error_that_names_the_choices(settings):
    settings.NUTRILEARN_MODEL_SOURCE = "huggingface"

    [problem] = [message for message in run_checks() if message.id == "nutrilearn.E004"]
    assert "'huggingface'" in problem.msg
    assert "'registry'" in problem.hint and "'bundled'" in problem.hint


@pytest.mark.parametrize("effect", [0.0, 1.0, -0.05])
def test_an_ab_minimum_detectable_effect_outside_zero_to_one_is_an_error(settings, effect):
    settings.NUTRILEARN_AB_MIN_DETECTABLE_EFFECT = effect

    assert "nutrilearn.E012" in check_ids()


@pytest.mark.parametrize("collect", [-1.0, 60.0, 90.0])
def test_a_mirror_collect_wait_below_zero_or_not_below_the_schedule_ttl_is_an_error(settings, collect):
    settings.NUTRILEARN_MIRROR_SCHEDULE_TTL_SECONDS = 60.0
    settings.NUTRILEARN_MIRROR_COLLECT_SECONDS = collect

    assert "nutrilearn.E013" in check_ids()


def test_the_default_mirror_collect_wait_passes_the_checks():
    assert "nutrilearn.E013" not in check_ids()


def test_production_on_embedded_defaults_warns(settings):
    settings.DEBUG = False
    settings.CELERY_BROKER_URL = "filesystem://"

    assert {"nutrilearn.W001", "nutrilearn.W003"} <= check_ids()


def test_default_test_configuration_has_no_errors():
    assert not {i for i in check_ids() if i.startswith("nutrilearn.E")}


def test_a_throttle_rate_drf_cannot_parse_is_an_error_that_names_the_setting(settings):
    settings.NUTRILEARN_DRIFT_COMPUTE_RATE = "30 per hour"

    [problem] = [message for message in run_checks() if message.id == "nutrilearn.E005"]
    assert "NUTRILEARN_DRIFT_COMPUTE_RATE" in problem.msg
    assert "'30 per hour'" in problem.msg


def test_a_retraining_base_dataset_that_is_not_a_folder_warns(settings, tmp_path):
    settings.NUTRILEARN_RETRAIN_BASE_DATASET = str(tmp_path / "missing")
    assert "nutrilearn.W010" in check_ids()

    settings.NUTRILEARN_RETRAIN_BASE_DATASET = str(tmp_path)
    assert "nutrilearn.W010" not in check_ids()


def test_shadow_mode_without_the_registry_warns(settings):
    settings.NUTRILEARN_SHADOW_ENABLED = True
    settings.NUTRILEARN_MODEL_SOURCE = "bundled"

    assert "nutrilearn.W011" in check_ids()
