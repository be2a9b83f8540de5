"""Settings for the test suite: the project settings with a throwaway secret."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-0123456789abcdefghijklmnop")

from .settings import *  # noqa: E402,F403

ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# The suite serves the bundled model; tests of the registry opt in with their own MLflow store.
NUTRILEARN_MODEL_SOURCE = "bundled"
NUTRILEARN_MODEL_POLL_SECONDS = 0.0

# The SQLite test database is a file (one per test process), not memory, so that the
# Celery worker processes started by the integration tests see the test's rows.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3" and not envbool("NUTRILEARN_TEST_DB_IN_MEMORY", "0"):  # noqa: F405
    import tempfile

    DATABASES["default"]["TEST"] = {"NAME": os.path.join(tempfile.gettempdir(), f"nutrilearn-test-{os.getpid()}.sqlite3")}  # noqa: F405

# Tests publish Celery messages to memory unless a broker is given; integration tests
# point the app at their own Redis.
if envstr("CELERY_BROKER_URL") is None and envstr("REDIS_URL") is None:  # noqa: F405
    CELERY_BROKER_URL = "memory://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {}

# One cache per test process; throttling tests set their own rate.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
NUTRILEARN_PREDICT_RATE = "100000/minute"

# The suite talks plain HTTP to its own servers (test client, live server, worker processes).
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
