import argparse
from pathlib import Path

from django.core.management.base import CommandError

from mlops.datasets import DatasetInvalid
from mlops.management.base import VersionOptionCommand
from mlops.mlflow_store import MlflowRejected, MlflowUnavailable
from mlops.services import NothingToEvaluate, model_evaluate_dataset, model_evaluate_feedback
from mlops.temperature import temperature_summary
from predictions.inference import ModelUnavailable


class Command(VersionOptionCommand):
    help = (
        "Evaluate a registered version (default: the champion) on a labelled folder (<class>/<photo>; its test/ split if it has one) "
        "or on the feedback users gave in production, and log accuracy, precision, recall and F1 as an MLflow evaluation run."
    )

    def add_arguments(self, parser):
        parser.add_argument("--version", help="Registered version number (default: the champion).")
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--dataset", type=Path, help="Labelled folder of photos.")
        source.add_argument("--feedback", action="store_true", help="Use predictions of the version that users confirmed or corrected.")
        parser.add_argument(
            "--tta", action=argparse.BooleanOptionalAction, default=True,
            help="With --dataset: average each photo's probabilities with its mirror image's, as training does (default: on).",
        )

    def handle(self, *args, version, dataset, feedback, tta, **options):
        try:
            if feedback:
                evaluation = model_evaluate_feedback(version=version)
            else:
                evaluation = model_evaluate_dataset(dataset_dir=dataset, version=version, progress=options["verbosity"] > 0, tta=tta)
        except (MlflowUnavailable, MlflowRejected, NothingToEvaluate, DatasetInvalid, ModelUnavailable) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Version {evaluation.model_version} on {evaluation.get_source_display().lower()} ({evaluation.sample_count} samples): "
                f"accuracy {evaluation.accuracy:.3f}, precision {evaluation.precision:.3f}, recall {evaluation.recall:.3f}, "
                f"F1 {evaluation.f1_score:.3f}. MLflow run {evaluation.mlflow_run_id}."
            )
        )
        temperature = evaluation.details.get("temperature") or {}
        if "temperature" in temperature:
            # Reported, not applied: a registered version's artefact does not change; training fits the one it serves with.
            self.stdout.write(temperature_summary(temperature, fitted_on="these photos"))
        elif "skipped" in temperature:
            self.stdout.write(f"No temperature fitted: {temperature['skipped']}")
