import os
import sys

from django.conf import settings
from django.core.management.base import BaseCommand

from mlops.mlflow_store import experiment_id


class Command(BaseCommand):
    help = "Run the MLflow UI on the project's tracking store and artefact root (the same ones the app writes)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=5000)

    def handle(self, *args, host, port, **options):
        experiment_id()  # creates the local store and the experiment before the UI opens it
        command = [
            "mlflow", "ui",
            "--backend-store-uri", settings.MLFLOW_TRACKING_URI,
            "--default-artifact-root", settings.MLFLOW_ARTIFACT_ROOT,
            "--host", host, "--port", str(port),
        ]
        self.stdout.write(f"MLflow UI on http://{host}:{port}/ ({settings.MLFLOW_TRACKING_URI})")
        # The UI needs none of MLflow's server-side job executors (a pool of extra processes).
        os.environ.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
        mlflow = os.path.join(os.path.dirname(sys.executable), "mlflow")
        os.execv(mlflow, command)
