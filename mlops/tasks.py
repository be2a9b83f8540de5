"""Celery tasks: thin wrappers that take ids, re-fetch and call a service."""
