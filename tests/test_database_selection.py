"""bin/test's PostgreSQL pass collects with --database-tests-only: the tests that reach the database, and only those."""

import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PURE = "tests/predictions/test_images.py"  # photo decoding: no database
DATABASE = "tests/mlops/test_rollups.py"  # rollup tables: the db fixture throughout
MARKED = "tests/mlops/pages/test_access.py"  # the module's django_db mark
MIXED = "tests/mlops/test_percentiles.py"  # two tests marked django_db among histogram arithmetic


def collected(*arguments: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *arguments],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return {line for line in result.stdout.splitlines() if "::" in line}


def test_database_tests_only_leaves_out_the_tests_that_never_reach_the_database():
    kept = collected("--database-tests-only", PURE, DATABASE, MARKED, MIXED)

    assert {test_id.split("::")[0] for test_id in kept} == {DATABASE, MARKED, MIXED}  # none of PURE's 16 tests
    assert sorted(test_id.split("::")[1] for test_id in kept if test_id.startswith(MIXED)) == [
        "test_the_database_bins_latencies_as_python_does",
        "test_the_window_p95_logged_to_mlflow_is_the_p95_the_api_reports_for_the_same_predictions",
    ]
