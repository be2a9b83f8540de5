"""The monitoring JSON API under /api/v1/mlops/, staff only: viewsets registered in ``mlops.api_urls``.

Compatibility contract: the paths, query parameters and {"status": "success", ...} envelopes
of the first NutriLearn dashboard's API are kept, so its clients keep working; fields may be
added, none removed (the contract tests in tests/mlops/test_api*.py and
tests/mlops/test_original_dashboard_contract.py hold it). Where a path's name no longer says
what it does (``register-model`` records an evaluation; ``runs?run_type=prediction|serving``
reads database rows), the path stays for those clients and the code is named for what it does.
The schema's operation ids are kept as well, so generated clients keep their method names.

Modules: ``tracking`` (experiments, runs, model versions and their evaluations: MLflow),
``monitoring`` (prediction traffic, confidence, performance, drift, health, metric history:
the database), ``base`` (query validation and the envelope), ``errors`` (error answers).
"""
