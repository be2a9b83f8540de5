"""Temperature scaling: one number T > 0 that divides a classifier's logits so that its confidence matches its accuracy.

Pure PyTorch, no Django. T is fitted on held-out logits by minimising the negative
log-likelihood with LBFGS over log T (so T stays positive); T > 1 softens an over-confident
model, T < 1 sharpens an under-confident one, and the ranking of the classes never changes.
A weak prior on log T (standard normal, its weight falling as 1 / samples) keeps a small held-out
split that the model gets entirely right from driving T towards 0, which would make every
answer look certain; with a few hundred photos the likelihood alone decides.
The expected calibration error (ECE) is the monitoring's (``calibration``), over equal-width bins.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.nn import functional

from .calibration import bin_confidences, expected_calibration_error, reliability_table

ECE_BINS = 10  # as the API's reliability tables by default
LOG_TEMPERATURE_PRIOR_SCALE = 1.0  # log T ~ N(0, 1): T between 0.14 and 7.4 before the data say otherwise
# Perfectly separated logits drive the likelihood's optimum to T -> 0 (or T -> infinity for hopeless ones):
# the fitted value is kept in a range where confidences still mean something.
TEMPERATURE_RANGE = (0.05, 20.0)
MINIMUM_SAMPLES = 2


class TooFewSamples(ValueError):
    """Not enough labelled held-out samples to fit or judge a temperature."""


@dataclass(frozen=True)
class TemperatureFit:
    """The fitted temperature and what it does to the held-out split.

    ``ece_before`` is at the temperature the model had (1.0 for a new model). ``ece_after`` is measured
    out of fold (each half of the samples scaled by the temperature fitted on the other half), so it is
    not flattered by fitting and judging on the same photos; ``temperature`` itself is fitted on all of them.
    """

    temperature: float
    ece_before: float
    ece_after: float
    nll_before: float
    nll_after: float
    sample_count: int

    def metrics(self) -> dict[str, float]:
        """Flat figures for MLflow and the evaluation's details."""
        return {
            "temperature": self.temperature,
            "ece_before_temperature": self.ece_before,
            "ece_after_temperature": self.ece_after,
            "nll_before_temperature": self.nll_before,
            "nll_after_temperature": self.nll_after,
            "temperature_samples": self.sample_count,
        }


def _checked(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    # Copies: a tensor made under inference_mode cannot take part in the fit's autograd.
    logits, labels = torch.as_tensor(logits).detach().double().clone(), torch.as_tensor(labels).detach().long().clone()
    if logits.ndim != 2 or labels.shape != (len(logits),):
        raise ValueError(f"logits must be (samples, classes) and labels (samples,), got {tuple(logits.shape)} and {tuple(labels.shape)}")
    if len(labels) < MINIMUM_SAMPLES:
        raise TooFewSamples(f"a temperature needs at least {MINIMUM_SAMPLES} labelled held-out samples, got {len(labels)}")
    return logits, labels


def temperature_fit(logits: torch.Tensor, labels: torch.Tensor, *, max_iter: int = 100) -> float:
    """The temperature minimising the negative log-likelihood of ``labels`` under softmax(logits / T) (with the weak prior)."""
    logits, labels = _checked(logits, labels)
    log_temperature = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.LBFGS([log_temperature], lr=1.0, max_iter=max_iter, line_search_fn="strong_wolfe")
    prior_weight = 1.0 / (2 * LOG_TEMPERATURE_PRIOR_SCALE**2 * len(labels))  # the prior's share of the mean NLL

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = functional.cross_entropy(logits / log_temperature.exp(), labels) + prior_weight * log_temperature.square().sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        optimiser.step(closure)
    temperature = float(log_temperature.detach().exp())
    if not math.isfinite(temperature):
        temperature = TEMPERATURE_RANGE[1]
    return min(max(temperature, TEMPERATURE_RANGE[0]), TEMPERATURE_RANGE[1])


def calibration_error(logits: torch.Tensor, labels: torch.Tensor, *, temperature: float = 1.0, bins: int = ECE_BINS) -> float:
    """ECE of the top-class confidence of softmax(logits / temperature)."""
    logits, labels = _checked(logits, labels)
    confidence, predicted = (logits / temperature).softmax(dim=1).max(dim=1)
    counts, sums, correct = bin_confidences(confidence.numpy(), (predicted == labels).numpy(), bins=bins)
    return float(expected_calibration_error(reliability_table(counts, sums, correct)))


def _nll(logits: torch.Tensor, labels: torch.Tensor, temperature: float) -> float:
    return float(functional.cross_entropy(logits / temperature, labels))


def temperature_calibrate(
    logits: torch.Tensor, labels: torch.Tensor, *, current_temperature: float = 1.0, bins: int = ECE_BINS, seed: int = 0
) -> TemperatureFit:
    """Fit the temperature on held-out ``logits`` (before any temperature) and measure ECE before and after.

    Raises TooFewSamples with fewer than two samples per fold.
    """
    logits, labels = _checked(logits, labels)
    if len(labels) < 2 * MINIMUM_SAMPLES:
        raise TooFewSamples(f"judging a temperature needs at least {2 * MINIMUM_SAMPLES} labelled held-out samples, got {len(labels)}")
    folds = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed)).chunk(2)
    scaled = torch.empty_like(logits)
    for fitted_on, applied_to in (folds, folds[::-1]):
        scaled[applied_to] = logits[applied_to] / temperature_fit(logits[fitted_on], labels[fitted_on])
    temperature = temperature_fit(logits, labels)
    return TemperatureFit(
        temperature=round(temperature, 6),
        ece_before=round(calibration_error(logits, labels, temperature=current_temperature, bins=bins), 6),
        ece_after=round(calibration_error(scaled, labels, bins=bins), 6),
        nll_before=round(_nll(logits, labels, current_temperature), 6),
        nll_after=round(_nll(scaled, labels, 1.0), 6),
        sample_count=len(labels),
    )


def temperature_summary(metrics: dict, *, fitted_on: str) -> str:
    """One line for a person, from ``TemperatureFit.metrics()`` (as stored in an evaluation's details)."""
    return (
        f"Temperature {metrics['temperature']:.3f} fitted on {fitted_on} ({metrics['temperature_samples']} photos): "
        f"calibration error (ECE) {metrics['ece_before_temperature']:.3f} before, {metrics['ece_after_temperature']:.3f} after."
    )
