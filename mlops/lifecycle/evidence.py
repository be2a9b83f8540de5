"""What the guardrail says about promoting a version: the evaluations it pairs and its verdict (a read; nothing is written).

The pages and the API show this before anyone confirms; the promotion service recomputes it when
the promotion is made and stores it with the audit row.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from django.conf import settings

from ..models import Evaluation
from .guardrail import comparison_summary, is_worse, paired_comparison


@dataclass(frozen=True)
class PromotionEvidence:
    """The guardrail's verdict on making ``version`` the champion; ``promotable`` False means refused (overridable)."""

    version: str
    champion: str | None
    promotable: bool
    message: str
    tolerance_points: float
    comparison: dict | None = None
    champion_evaluation: dict | None = None
    challenger_evaluation: dict | None = None

    def snapshot(self) -> dict:
        """JSON-ready, as stored with the audit row and answered by the API."""
        return asdict(self)


def _evaluation_summary(evaluation: Evaluation) -> dict:
    return {
        "id": evaluation.pk,
        "model_version": evaluation.model_version,
        "created_at": evaluation.created_at.isoformat(),
        "dataset": evaluation.details.get("dataset", ""),
        "tta": evaluation.details.get("tta"),
        "evaluation_set": evaluation.details.get("evaluation_set", ""),
        "sample_count": evaluation.sample_count,
        "accuracy": evaluation.accuracy,
        "f1_score": evaluation.f1_score,
        "mlflow_run_id": evaluation.mlflow_run_id,
    }


def _paired_evaluations(*, champion: str, challenger: str) -> tuple[list[dict], tuple[int, int] | None]:
    """(the challenger's per-image evaluations, newest first; the ids of the newest pair made on the same images with the same TTA)."""
    fields = ("id", "details__evaluation_set", "details__tta", "details__dataset")

    def keyed(version: str) -> list[dict]:
        rows = Evaluation.objects.filter(model_version=version, source=Evaluation.Source.DATASET, details__has_key="per_image")
        return list(rows.order_by("-created_at", "-id").values(*fields))

    challenger_rows, champion_rows = keyed(challenger), keyed(champion)
    champion_by_set = {}
    for row in reversed(champion_rows):  # newest last, so the newest wins
        champion_by_set[(row["details__evaluation_set"], row["details__tta"])] = row["id"]
    for row in challenger_rows:
        match = champion_by_set.get((row["details__evaluation_set"], row["details__tta"]))
        if match is not None:
            return challenger_rows, (row["id"], match)
    return challenger_rows, None


def _evaluate_hint(version: str, dataset: str = "DIR", tta: bool | None = True) -> str:
    return f"manage.py evaluate --version {version} --dataset {dataset}" + (" --no-tta" if tta is False else "")


def promotion_evidence(*, version: str, champion: str | None) -> PromotionEvidence:
    """The guardrail on the newest pair of evaluations of ``version`` and ``champion`` made on the same images.

    No champion: promotable (there is nothing to be worse than). No such pair: refused, and the
    message says which ``manage.py evaluate`` to run. Loading and smoke-testing happen at promotion.
    """
    tolerance = settings.NUTRILEARN_PROMOTION_TOLERANCE
    base = {"version": version, "champion": champion, "tolerance_points": tolerance}
    if champion is None:
        return PromotionEvidence(promotable=True, message="There is no champion yet: this version becomes the first.", **base)
    challenger_rows, pair = _paired_evaluations(champion=champion, challenger=version)
    if pair is None:
        if not challenger_rows:
            message = (
                f"No evaluation of version {version} on a labelled folder with per-image results: run "
                f"`{_evaluate_hint(version)}` and `{_evaluate_hint(champion)}` on the same held-out folder."
            )
        else:
            newest = challenger_rows[0]
            dataset, tta = newest["details__dataset"] or "DIR", newest["details__tta"]
            message = (
                f"The champion (version {champion}) has no evaluation on the photos version {version} was evaluated on "
                f"({dataset}): run `{_evaluate_hint(champion, dataset, tta)}` with the same folder."
            )
        return PromotionEvidence(promotable=False, message=message, **base)
    challenger_evaluation, champion_evaluation = (Evaluation.objects.get(pk=pk) for pk in pair)
    comparison = paired_comparison(champion=champion_evaluation.details["per_image"], challenger=challenger_evaluation.details["per_image"])
    return PromotionEvidence(
        promotable=not is_worse(comparison, tolerance_points=tolerance),
        message=comparison_summary(comparison, tolerance_points=tolerance),
        comparison=comparison.as_dict(),
        champion_evaluation=_evaluation_summary(champion_evaluation),
        challenger_evaluation=_evaluation_summary(challenger_evaluation),
        **base,
    )
