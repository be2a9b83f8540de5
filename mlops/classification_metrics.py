"""Classification metrics: accuracy, macro precision / recall / F1, per-class figures and the confusion matrix.

Pure Python and numpy, no Django; the one definition of these figures for training,
``evaluate`` (dataset or feedback) and the monitoring API's feedback performance.
Macro averages are taken over the classes of the ground truth (the labelled set's
classes), so that a prediction outside those classes counts as a miss and as a
false positive of no class in the set; a true class never predicted has precision 0
(scikit-learn's zero_division=0).
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


def class_scores(*, true_positive: int, predicted: int, actual: int) -> tuple[float, float, float]:
    """Precision, recall and F1 of one class from its counts (0 where a ratio has no denominator)."""
    precision = _ratio(true_positive, predicted)
    recall = _ratio(true_positive, actual)
    return precision, recall, _ratio(2 * precision * recall, precision + recall)


def macro_scores(*, true_positive: dict, predicted: dict, actual: dict) -> dict:
    """Accuracy and macro precision, recall and F1 from per-class counts, averaged over the true classes.

    ``predicted`` may name classes that are never true: they are misses, not classes of their own.
    All None (and sample_count 0) when there is no sample.
    """
    total = sum(actual.values())
    if total == 0:
        return {"accuracy": None, "precision": None, "recall": None, "f1_score": None, "sample_count": 0}
    scores = [
        class_scores(true_positive=true_positive.get(label, 0), predicted=predicted.get(label, 0), actual=count)
        for label, count in actual.items()
        if count
    ]
    precisions, recalls, f1s = zip(*scores, strict=True)
    return {
        "accuracy": sum(true_positive.values()) / total,
        "precision": float(np.mean(precisions)),
        "recall": float(np.mean(recalls)),
        "f1_score": float(np.mean(f1s)),
        "sample_count": int(total),
    }


def classification_report(y_true: Sequence[str], y_pred: Sequence[str | None], labels: Sequence[str] | None = None) -> ClassificationReport:
    """Accuracy, macro precision/recall/F1 (``macro_scores``, rounded to 6 places), per-class figures and the confusion matrix.

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
    true_positive = {label: int(confusion[i, i]) for i, label in enumerate(labels)}
    predicted_counts = {label: int(count) for label, count in zip(labels, confusion[:, : len(labels)].sum(axis=0), strict=True)}
    support = {label: int(count) for label, count in zip(labels, confusion.sum(axis=1), strict=True)}
    per_class = {}
    for label in labels:
        precision, recall, f1 = class_scores(true_positive=true_positive[label], predicted=predicted_counts[label], actual=support[label])
        per_class[label] = ClassMetrics(round(precision, 6), round(recall, 6), round(f1, 6), support[label])
    scores = macro_scores(true_positive=true_positive, predicted=predicted_counts, actual=support)
    return ClassificationReport(
        labels=labels,
        accuracy=round(scores["accuracy"], 6),
        precision=round(scores["precision"], 6),
        recall=round(scores["recall"], 6),
        f1_score=round(scores["f1_score"], 6),
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
