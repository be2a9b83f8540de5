"""Classification metrics shared by training and evaluation. Pure Python and numpy, no Django.

Macro averages are taken over the classes of the ground truth (the labelled set's
classes), so that a prediction outside those classes counts as a miss and as a
false positive of no class in the set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

OTHER_LABEL = "(other)"


@dataclass(frozen=True)
class ClassMetrics:
    precision: float
    recall: float
    f1_score: float
    support: int


@dataclass(frozen=True)
class ClassificationReport:
    labels: list[str]
    accuracy: float
    precision: float
    recall: float
    f1_score: float
    sample_count: int
    per_class: dict[str, ClassMetrics]
    # rows: true label (labels order); columns: predicted label, plus OTHER_LABEL last.
    confusion: np.ndarray = field(repr=False)

    def summary(self) -> dict[str, float]:
        return {"accuracy": self.accuracy, "precision": self.precision, "recall": self.recall, "f1_score": self.f1_score}

    def details(self) -> dict:
        """JSON-ready per-class figures and the confusion matrix."""
        return {
            "labels": self.labels,
            "per_class": {label: vars(metrics) for label, metrics in self.per_class.items()},
            "confusion_matrix": {"labels": [*self.labels, OTHER_LABEL], "rows": self.confusion.tolist()},
        }


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator else 0.0


def classification_report(y_true: Sequence[str], y_pred: Sequence[str | None], labels: Sequence[str] | None = None) -> ClassificationReport:
    """Accuracy, macro precision/recall/F1, per-class figures and the confusion matrix.

    ``None`` in ``y_pred`` means "the model named nothing" (e.g. no food recognised).
    """
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} true labels but {len(y_pred)} predictions")
    if not y_true:
        raise ValueError("no samples to evaluate")
    labels = sorted(set(y_true)) if labels is None else list(labels)
    index = {label: i for i, label in enumerate(labels)}
    other = len(labels)
    confusion = np.zeros((len(labels), len(labels) + 1), dtype=np.int64)
    for truth, predicted in zip(y_true, y_pred, strict=True):
        if truth not in index:
            raise ValueError(f"true label {truth!r} is not among the labels")
        confusion[index[truth], index.get(predicted, other)] += 1
    true_positives = np.diag(confusion[:, : len(labels)])
    predicted_counts = confusion[:, : len(labels)].sum(axis=0)
    support = confusion.sum(axis=1)
    per_class = {}
    for i, label in enumerate(labels):
        precision = _ratio(true_positives[i], predicted_counts[i])
        recall = _ratio(true_positives[i], support[i])
        f1 = _ratio(2 * precision * recall, precision + recall)
        per_class[label] = ClassMetrics(round(precision, 6), round(recall, 6), round(f1, 6), int(support[i]))
    present = [metrics for metrics in per_class.values() if metrics.support > 0]
    return ClassificationReport(
        labels=labels,
        accuracy=round(_ratio(true_positives.sum(), len(y_true)), 6),
        precision=round(float(np.mean([m.precision for m in present])), 6),
        recall=round(float(np.mean([m.recall for m in present])), 6),
        f1_score=round(float(np.mean([m.f1_score for m in present])), 6),
        sample_count=len(y_true),
        per_class=per_class,
        confusion=confusion,
    )


def confusion_matrix_figure(report: ClassificationReport, *, title: str = "Confusion matrix"):
    """A matplotlib figure of the confusion matrix (rows: true, columns: predicted)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    labels = report.labels
    columns = [*labels, OTHER_LABEL] if report.confusion[:, -1].any() else labels
    matrix = report.confusion[:, : len(columns)]
    size = max(4.0, 0.45 * len(columns) + 2)
    figure = Figure(figsize=(size + 1, size))
    axes = figure.add_subplot()
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04)
    axes.set_xticks(range(len(columns)), columns, rotation=90, fontsize=7)
    axes.set_yticks(range(len(labels)), labels, fontsize=7)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(f"{title} (accuracy {report.accuracy:.3f})")
    if len(columns) <= 30:
        threshold = matrix.max() / 2 if matrix.size else 0
        for row in range(matrix.shape[0]):
            for column in range(matrix.shape[1]):
                value = int(matrix[row, column])
                if value:
                    colour = "white" if value > threshold else "black"
                    axes.text(column, row, str(value), ha="center", va="center", fontsize=6, color=colour)
    figure.tight_layout()
    return figure


def dataset_predictions(
    classifier, paths: Sequence, *, food_mass_threshold: float, batch_size: int = 16, progress: bool = False, mirrored: bool = False,
) -> list[str | None]:
    """The food key a classifier names for each photo (None for "no food recognised"), in batches.

    ``mirrored``: average each photo's probabilities with its mirror image's (test-time augmentation).
    """
    import torch
    from PIL import Image
    from tqdm import tqdm

    predicted: list[str | None] = []
    with tqdm(total=len(paths), desc="evaluating", unit="img", disable=not progress) as bar:
        for start in range(0, len(paths), batch_size):
            chunk = paths[start : start + batch_size]
            images = []
            for path in chunk:
                with Image.open(path) as image:
                    images.append(classifier.preprocess(image.convert("RGB")))
            probabilities, pooled = classifier.forward(torch.stack(images), mirrored=mirrored)
            for row in range(len(chunk)):
                recognition = classifier.interpret(probabilities[row], pooled[row], food_mass_threshold=food_mass_threshold, top_k=1)
                predicted.append(recognition.food_key)
            bar.update(len(chunk))
    return predicted
