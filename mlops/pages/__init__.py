"""The server-rendered MLOps pages under /mlops/: one module per page builds its context from selectors and stored results.

No page calls the JSON API over HTTP or loops over MLflow runs; views (``views.py``) only translate HTTP.
"""
