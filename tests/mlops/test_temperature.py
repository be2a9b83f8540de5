"""Temperature scaling on constructed logits whose miscalibration is known."""

import math

import pytest
import torch

from mlops.temperature import TEMPERATURE_RANGE, TooFewSamples, calibration_error, temperature_calibrate, temperature_fit


def logits_with_labels(*, samples: int, classes: int, scale: float, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Labels drawn from softmax(z), logits reported as scale * z: over-confident by ``scale`` > 1 (true temperature = scale)."""
    generator = torch.Generator().manual_seed(seed)
    honest = torch.randn(samples, classes, generator=generator) * 2.0
    labels = torch.multinomial(honest.softmax(dim=1), 1, generator=generator).squeeze(1)
    return honest * scale, labels


def test_an_over_confident_model_gets_a_temperature_above_one_and_its_calibration_error_drops():
    logits, labels = logits_with_labels(samples=4000, classes=10, scale=3.0)

    fit = temperature_calibrate(logits, labels)

    assert fit.temperature == pytest.approx(3.0, rel=0.1)
    assert fit.ece_before > 0.1
    assert fit.ece_after < fit.ece_before / 3
    assert fit.nll_after < fit.nll_before
    assert fit.sample_count == 4000


def test_an_under_confident_model_gets_a_temperature_below_one():
    logits, labels = logits_with_labels(samples=4000, classes=10, scale=0.5, seed=1)

    fit = temperature_calibrate(logits, labels)

    assert fit.temperature == pytest.approx(0.5, rel=0.1)
    assert fit.ece_after < fit.ece_before


def test_a_calibrated_model_keeps_a_temperature_near_one():
    logits, labels = logits_with_labels(samples=4000, classes=10, scale=1.0, seed=2)

    assert temperature_fit(logits, labels) == pytest.approx(1.0, abs=0.1)


def test_ece_before_is_measured_at_the_temperature_the_model_already_has():
    logits, labels = logits_with_labels(samples=2000, classes=5, scale=3.0, seed=3)

    fit = temperature_calibrate(logits, labels, current_temperature=3.0)

    assert fit.ece_before == pytest.approx(calibration_error(logits / 3.0, labels), abs=1e-6)
    assert fit.ece_before < calibration_error(logits, labels)


def test_temperature_never_changes_which_class_is_ranked_first():
    logits, labels = logits_with_labels(samples=500, classes=10, scale=4.0, seed=4)

    temperature = temperature_fit(logits, labels)

    assert torch.equal((logits / temperature).argmax(dim=1), logits.argmax(dim=1))


def test_a_small_split_the_model_gets_all_right_sharpens_it_without_making_every_answer_certain():
    labels = torch.arange(20) % 4
    logits = torch.nn.functional.one_hot(labels, 4).float() * 2.0  # right every time, with a confidence of 0.71

    temperature = temperature_fit(logits, labels)

    assert 0.2 < temperature < 1.0
    assert (logits / temperature).softmax(dim=1).max() < 0.999


def test_perfectly_separated_logits_keep_a_finite_temperature_in_range():
    labels = torch.arange(6) % 3
    logits = torch.nn.functional.one_hot(labels, 3).float() * 50.0

    temperature = temperature_fit(logits, labels)

    assert math.isfinite(temperature) and TEMPERATURE_RANGE[0] <= temperature <= TEMPERATURE_RANGE[1]


def test_too_few_held_out_samples_are_refused_with_the_reason():
    with pytest.raises(TooFewSamples, match="at least 4"):
        temperature_calibrate(torch.zeros(3, 2), torch.tensor([0, 1, 0]))
    with pytest.raises(ValueError, match="samples, classes"):
        temperature_fit(torch.zeros(4), torch.zeros(4))
