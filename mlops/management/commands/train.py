import argparse
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from mlops.datasets import DatasetInvalid
from mlops.mlflow_store import MlflowRejected, MlflowUnavailable
from mlops.services import model_train
from mlops.temperature import temperature_summary
from mlops.training import TrainingConfig

DEFAULTS = TrainingConfig()


class Command(BaseCommand):
    help = (
        "Fine-tune EfficientNet-Lite0 on a labelled folder (Food-101 layout <class>/<photo>, optional train/ and test/ folders "
        "or Food-101's meta/train.txt and meta/test.txt, otherwise a seeded stratified split), log the run to MLflow and "
        "register the result with alias challenger. The defaults are sized for 10 Food-101 classes (3,750 training and "
        "1,250 test photos) within the default 30-minute budget on 2 CPU cores: the frozen part is computed once per "
        "photo view and cached, a new head is fitted on it, then the last blocks and the head are fine-tuned. The "
        "budget shrinks views and epochs when the measured speed says they would not fit."
    )

    def add_arguments(self, parser):
        parser.add_argument("dataset_dir", type=Path)
        recipe = parser.add_argument_group("recipe")
        recipe.add_argument("--epochs", type=int, default=DEFAULTS.epochs, help="Fine-tuning epochs over the cached views (%(default)s).")
        recipe.add_argument(
            "--head-epochs", type=int, default=DEFAULTS.head_epochs, help="Epochs of the linear head warm-up (%(default)s)."
        )
        recipe.add_argument(
            "--unfreeze-blocks", type=int, default=DEFAULTS.unfreeze_blocks,
            help="Last MBConv blocks (of 16) fine-tuned with the head; 0 = linear probe only (%(default)s).",
        )
        recipe.add_argument(
            "--views", type=int, default=DEFAULTS.views,
            help="Cached views per training photo: one centre crop plus augmented crops (%(default)s). Each costs one frozen forward pass.",
        )
        recipe.add_argument("--image-size", type=int, default=DEFAULTS.image_size, help="Input crop size in pixels (%(default)s).")
        recipe.add_argument("--batch-size", type=int, default=DEFAULTS.batch_size)
        recipe.add_argument("--learning-rate", type=float, default=DEFAULTS.learning_rate, help="Peak rate of the head (%(default)s).")
        recipe.add_argument("--backbone-lr-factor", type=float, default=DEFAULTS.backbone_lr_factor)
        recipe.add_argument("--weight-decay", type=float, default=DEFAULTS.weight_decay)
        recipe.add_argument("--label-smoothing", type=float, default=DEFAULTS.label_smoothing)
        recipe.add_argument("--dropout", type=float, default=DEFAULTS.dropout)
        recipe.add_argument(
            "--ema-decay", type=float, default=DEFAULTS.ema_decay,
            help="Register an exponential moving average of the fine-tuned weights, this decay per step; 0 = off (%(default)s).",
        )
        recipe.add_argument(
            "--tta", action=argparse.BooleanOptionalAction, default=DEFAULTS.tta,
            help="Report test accuracy over each photo and its mirror image, averaged, as evaluate does (default: on).",
        )
        recipe.add_argument("--seed", type=int, default=DEFAULTS.seed, help="Same seed, same data and --threads: the same weights.")
        budget = parser.add_argument_group("time budget and machine")
        budget.add_argument(
            "--time-budget-minutes", type=float, default=DEFAULTS.time_budget_minutes,
            help="Whole run; fewer views and epochs are used when the measured speed says they would not fit (%(default)s).",
        )
        budget.add_argument(
            "--cache-share", type=float, default=DEFAULTS.cache_share, help="Share of the budget the caching pass may use (%(default)s)."
        )
        budget.add_argument(
            "--threads", type=int, default=None,
            help="Torch threads for fine-tuning (default: timed each epoch, one or one per core, whichever is faster right now).",
        )
        budget.add_argument(
            "--workers", type=int, default=None,
            help="Processes of the caching pass, one torch thread each (default: one per core; 0 = in this process).",
        )
        budget.add_argument(
            "--cache-memory-gb", type=float, default=None,
            help="Keep the feature cache in memory up to this size, else stream it from disk (default: half the available memory).",
        )
        budget.add_argument("--cache-dir", default=None, help="Folder for an on-disk feature cache (default: the temporary folder).")
        data = parser.add_argument_group("dataset")
        data.add_argument("--test-fraction", type=float, default=0.25, help="Test share for the stratified split (%(default)s).")
        data.add_argument("--max-classes", type=int, default=None, help="Keep the first N classes (sorted by name).")
        data.add_argument("--max-train-per-class", type=int, default=None)
        data.add_argument("--max-test-per-class", type=int, default=None)

    def handle(self, *args, dataset_dir, **options):
        try:
            config = self.config_from(options)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        scan = {
            "test_fraction": options["test_fraction"], "max_classes": options["max_classes"],
            "max_train_per_class": options["max_train_per_class"], "max_test_per_class": options["max_test_per_class"],
        }
        try:
            result, ref, run_id = model_train(
                dataset_dir=dataset_dir, config=config, scan_options=scan, progress=options["verbosity"] > 0,
                log=lambda line: self.stdout.write(line),
            )
        except (DatasetInvalid, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        except (MlflowUnavailable, MlflowRejected) as exc:
            raise CommandError(f"MLflow refused or is unreachable: {exc}") from exc
        report, timings = result.report, result.timings
        self.stdout.write(
            self.style.SUCCESS(
                f"Test accuracy {report.accuracy:.3f} (linear probe {result.probe_report.accuracy:.3f}), macro precision "
                f"{report.precision:.3f}, recall {report.recall:.3f}, F1 {report.f1_score:.3f} on {report.sample_count} photos; "
                f"{result.params['views_used']} views, {result.params['epochs_run']} epochs, {timings['total_seconds']:.0f} s "
                f"({timings['seconds_per_1000_images']:.0f} s per 1,000 photos)."
            )
        )
        if result.calibration is not None:
            summary = temperature_summary(result.calibration.metrics(), fitted_on="the test split")
            self.stdout.write(f"{summary} The served model applies it.")
        self.stdout.write(f"Registered {ref.name} version {ref.version} with alias challenger (MLflow run {run_id}).")
        self.stdout.write(f"Promote it with: manage.py promote --version {ref.version}")

    @staticmethod
    def config_from(options) -> TrainingConfig:
        return TrainingConfig(
            seed=options["seed"], image_size=options["image_size"], views=options["views"], unfreeze_blocks=options["unfreeze_blocks"],
            head_epochs=options["head_epochs"], epochs=options["epochs"], batch_size=options["batch_size"],
            learning_rate=options["learning_rate"], backbone_lr_factor=options["backbone_lr_factor"],
            weight_decay=options["weight_decay"], label_smoothing=options["label_smoothing"], dropout=options["dropout"],
            time_budget_minutes=options["time_budget_minutes"], cache_share=options["cache_share"],
            threads=options["threads"], workers=options["workers"], ema_decay=options["ema_decay"], tta=options["tta"],
            cache_memory_gb=options["cache_memory_gb"], cache_dir=options["cache_dir"],
        )
