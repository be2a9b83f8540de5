"""What a web worker imports: the WSGI application and every view module, and nothing that only training needs."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# torchvision brings sympy, torch._dynamo and the ONNX exporter: about 160 MiB of every worker's memory.
TRAINING_ONLY = ("torchvision", "sympy", "torch._dynamo", "torch.onnx", "mlops.training", "mlops.feature_cache")


def test_a_web_worker_imports_no_module_that_only_training_needs(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE_URL", "NUTRILEARN_"))}
    env.update(DJANGO_SETTINGS_MODULE="nutrilearn.settings", DJANGO_DEBUG="1", NUTRILEARN_VAR_DIR=str(tmp_path / "var"))
    code = (
        "import json, sys; import nutrilearn.wsgi; "
        f"print(json.dumps({{'urlconf': 'predictions.views' in sys.modules, "
        f"'loaded': [name for name in {TRAINING_ONLY!r} if name in sys.modules]}}))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)

    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"urlconf": True, "loaded": []}, result.stderr
