"""How much a label for a prediction is worth (uncertainty sampling), from what is stored about it. No Django."""

from __future__ import annotations

from dataclasses import dataclass, field

DISAGREEMENT_BONUS = 1.0  # a shadow disagreement: one of the two models is wrong, whatever their confidences
DRIFT_PHOTO_BONUS = 0.5  # a photo unlike the baseline's: the kind of input the model has seen least


@dataclass(frozen=True)
class LabelValue:
    score: float
    reasons: list[str] = field(default_factory=list)


def top1_margin(top_k: list[dict]) -> float:
    """Top-1 confidence minus top-2 (the top-1 confidence alone when there is no second answer)."""
    confidences = sorted((float(item.get("confidence") or 0.0) for item in top_k), reverse=True)
    if not confidences:
        return 0.0
    return confidences[0] - (confidences[1] if len(confidences) > 1 else 0.0)


def label_value(
    *, top_k: list[dict], no_food: bool, food_mass: float | None, food_mass_threshold: float, disagreement: bool, drift_photo: bool
) -> LabelValue:
    """Uncertainty (1 - top-1 margin; for "no food", how close the food mass came to the threshold) plus bonuses.

    Higher is worth labelling sooner. Scores lie in [0, 1 + DISAGREEMENT_BONUS + DRIFT_PHOTO_BONUS].
    """
    reasons = []
    if no_food:
        mass = food_mass or 0.0
        uncertainty = min(1.0, max(0.0, mass / food_mass_threshold)) if food_mass_threshold > 0 else 0.0
        reasons.append(f"no food, yet food mass {mass:.0%}")
    else:
        margin = top1_margin(top_k)
        uncertainty = 1.0 - margin
        reasons.append(f"top-1 margin {margin:.0%}")
    score = uncertainty
    if disagreement:
        score += DISAGREEMENT_BONUS
        reasons.append("shadow disagreement")
    if drift_photo:
        score += DRIFT_PHOTO_BONUS
        reasons.append("drift photo")
    return LabelValue(score=score, reasons=reasons)
