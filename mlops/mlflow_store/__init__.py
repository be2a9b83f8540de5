"""The one package that talks to MLflow (tracking store and Model Registry).

* ``client``: the process's MlflowClient, the project's experiment, ``ping``.
* ``runs``: serving runs and metric batches of the prediction mirror, training, evaluation
  and drift runs, run search, model comparison, metric history.
* ``registry``: registered versions of the food classifier, aliases, artefacts.
* ``errors``: the one translation of MLflow's errors into ``MlflowUnavailable`` (retry
  later; HTTP 503) and ``MlflowRejected`` (do not retry; HTTP 4xx).
* ``rest``: the registry reads of a web worker over an MLflow server's REST API.

Callers write ``from mlops import mlflow_store`` and use the names below, or
``from mlops.mlflow_store import registry``.

Importing this package does not import MLflow (about 200 MiB: pandas, pyarrow, scipy, SQLAlchemy,
FastAPI...). MLflow's package does not survive two threads importing it for the first time at once
(one of them sees a partially initialised ``mlflow.tracking``, and every later import in the process
fails), and the first use may come from request or watcher threads: every module here reaches MLflow
through ``client.mlflow_module()``, which imports it once under a process-wide lock; no other app module
imports ``mlflow``. A web worker that serves predictions from an MLflow server (http or
https tracking URI) never loads it: ``registry`` resolves aliases, reads versions and downloads
artefacts through ``rest`` there.
"""

from . import registry
from .client import experiment_ensure, experiment_id, experiments_list, get_client, ping, reset_client, run_ui_url
from .errors import MlflowConflict, MlflowNotFound, MlflowRejected, MlflowUnavailable, mlflow_errors
from .runs import (
    RUN_TYPE_TAG,
    MetricPoint,
    compare_models,
    drift_run_log,
    metric_history_get,
    metrics_log_batch,
    run_as_dict,
    run_delete,
    run_finish,
    run_lifecycle_stage,
    run_log_dict,
    run_log_figure,
    run_log_metrics,
    run_log_params,
    run_restore,
    run_set_tags,
    run_start,
    runs_search,
    serving_run_create,
)

__all__ = [
    "RUN_TYPE_TAG",
    "MetricPoint",
    "MlflowConflict",
    "MlflowNotFound",
    "MlflowRejected",
    "MlflowUnavailable",
    "compare_models",
    "drift_run_log",
    "experiment_ensure",
    "experiment_id",
    "experiments_list",
    "get_client",
    "metric_history_get",
    "metrics_log_batch",
    "mlflow_errors",
    "ping",
    "registry",
    "reset_client",
    "run_as_dict",
    "run_delete",
    "run_finish",
    "run_lifecycle_stage",
    "run_log_dict",
    "run_log_figure",
    "run_log_metrics",
    "run_log_params",
    "run_restore",
    "run_set_tags",
    "run_start",
    "run_ui_url",
    "runs_search",
    "serving_run_create",
]
