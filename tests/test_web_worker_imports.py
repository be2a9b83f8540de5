"""What a web worker imports: the WSGI application and every view module, and nothing that only training needs;
serving uploads from an MLflow server, nothing of MLflow's client either."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SKIMAGE_DATA
from tests.images import png_to_jpeg
from tests.mlops.processes import MlflowServer

ROOT = Path(__file__).resolve().parent.parent
# torchvision brings sympy, torch._dynamo and the ONNX exporter: about 160 MiB of every worker's memory.
TRAINING_ONLY = ("torchvision", "sympy", "torch._dynamo", "torch.onnx", "mlops.training", "mlops.feature_cache")
# MLflow's client and what it pulls in (about 200 MiB), and plotly (about 80 MiB): ops pages and background work only.
OPS_ONLY = ("mlflow", "pandas", "pyarrow", "plotly", "scipy.stats", "sqlalchemy")

UPLOAD_FROM_THE_REGISTRY = """
import json, sys
import nutrilearn.wsgi
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

photo = SimpleUploadedFile("meal.jpg", open(sys.argv[1], "rb").read(), content_type="image/jpeg")
response = Client().post("/api/v1/predict", {"image": photo})
print(json.dumps({
    "status": response.status_code,
    "model_version": response.json()["prediction"]["model"]["version"],
    "loaded": [name for name in json.loads(sys.argv[2]) if name in sys.modules],
}))
"""


def worker_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE_URL", "NUTRILEARN_", "MLFLOW_"))}
    env.update(DJANGO_SETTINGS_MODULE="nutrilearn.settings", DJANGO_DEBUG="1", NUTRILEARN_VAR_DIR=str(tmp_path / "var"), **extra)
    return env


def test_a_web_worker_imports_no_module_that_only_training_needs(tmp_path):
    code = (
        "import json, sys; import nutrilearn.wsgi; "
        f"print(json.dumps({{'urlconf': 'predictions.views' in sys.modules, "
        f"'loaded': [name for name in {TRAINING_ONLY!r} if name in sys.modules]}}))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=worker_env(tmp_path), capture_output=True, text=True, timeout=180)

    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"urlconf": True, "loaded": []}, result.stderr


@pytest.mark.integration
@pytest.mark.slow  # an MLflow server and a fresh interpreter on SQLite: the PostgreSQL pass would repeat it unchanged
def test_a_web_worker_serving_an_upload_from_an_mlflow_server_imports_neither_mlflow_nor_plotly(tmp_path, mlflow_sqlite_uri):
    server = MlflowServer(tmp_path, backend_uri=mlflow_sqlite_uri, artifacts_uri=(tmp_path / "artifacts").as_uri()).start(timeout=180)
    try:
        env = worker_env(
            tmp_path, MLFLOW_TRACKING_URI=server.url, MLFLOW_ARTIFACT_ROOT=(tmp_path / "artifacts").as_uri(),
            NUTRILEARN_MODEL_SOURCE="registry", NUTRILEARN_MODEL_POLL_SECONDS="0", CELERY_BROKER_URL="memory://",
        )  # fmt: skip
        # What a deployment does before its web workers start: migrate, and register the champion (bootstrap).
        for command in (["migrate", "--noinput"], ["bootstrap"]):
            done = subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, f"manage.py {' '.join(command)} failed:\n{done.stdout}\n{done.stderr}"
        photo = tmp_path / "meal.jpg"
        photo.write_bytes(png_to_jpeg((SKIMAGE_DATA / "coffee.png").read_bytes()))

        result = subprocess.run(
            [sys.executable, "-c", UPLOAD_FROM_THE_REGISTRY, str(photo), json.dumps(OPS_ONLY)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
    finally:
        server.stop()

    assert json.loads((result.stdout.strip().splitlines() or ["null"])[-1]) == {"status": 201, "model_version": "1", "loaded": []}, (
        result.stderr
    )
