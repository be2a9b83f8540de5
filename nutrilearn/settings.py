"""NutriLearn settings.

Everything comes from environment variables read through the small typed helpers
below. The defaults need no server: SQLite, media and the MLflow store live under
``var/``, and Celery uses kombu's filesystem transport until ``REDIS_URL`` or
``CELERY_BROKER_URL`` is set.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def envstr(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value in (None, "") else value


def envbool(name: str, default: str) -> bool:
    value = os.environ.get(name, default).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {value!r}")


def envint(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None


def envfloat(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {value!r}") from None


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


VAR_DIR = Path(envstr("NUTRILEARN_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = envbool("DJANGO_DEBUG", "0")
SECRET_KEY = envstr("DJANGO_SECRET_KEY")
if SECRET_KEY is None:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it to a long random value "
            "(or DJANGO_DEBUG=1 for local development)."
        )
    SECRET_KEY = "insecure-development-key-never-use-in-production"
elif not DEBUG and (len(SECRET_KEY) < 32 or SECRET_KEY.startswith("insecure")):
    raise ImproperlyConfigured("DJANGO_SECRET_KEY is too weak for production (use 32+ random characters).")

ALLOWED_HOSTS = envlist("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = envlist("DJANGO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "axes",
    "drf_spectacular_sidecar",
    "predictions",
    "mlops",
]

MIDDLEWARE = [
    "mlops.prometheus.PrometheusMiddleware",  # first, so the latency it records covers the whole stack
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Its __call__ runs before every middleware's process_view, so before the CSRF check reads the body.
    "predictions.http.UploadGuardMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out login into the lockout answer
]

ROOT_URLCONF = "nutrilearn.urls"
WSGI_APPLICATION = "nutrilearn.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        envstr("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=envint("DATABASE_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while a worker writes; IMMEDIATE avoids
    # "database is locked" upgrades inside write transactions.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # SQLite creates its file, not the folder: a fresh NUTRILEARN_VAR_DIR works for every command, checks run or not.
    if DATABASES["default"]["NAME"] not in ("", ":memory:"):
        Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses logins of a locked-out user and address
    "django.contrib.auth.backends.ModelBackend",
]
# Failed logins (django-axes): after this many failures for one username from one address, that
# pair is locked out for the cool-off period; a success resets the count.
AXES_FAILURE_LIMIT = envint("NUTRILEARN_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = envfloat("NUTRILEARN_LOGIN_COOLOFF_MINUTES", 15.0) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
LOGIN_URL = "login"
NUTRILEARN_ADMIN_PASSWORD = envstr("NUTRILEARN_ADMIN_PASSWORD")
LOGIN_REDIRECT_URL = "predictions:upload"
LOGOUT_REDIRECT_URL = "predictions:upload"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = DEBUG  # serve static without collectstatic while developing
MEDIA_URL = "media/"
MEDIA_ROOT = Path(envstr("DJANGO_MEDIA_ROOT", str(VAR_DIR / "media")))
# Photos are personal data: /media/ answers only their owner and staff (predictions/media.py).
# Behind nginx set this to an internal location (e.g. "/protected-media/") that serves MEDIA_ROOT:
# the app checks access and hands the bytes to the web server with X-Accel-Redirect.
NUTRILEARN_MEDIA_ACCEL_REDIRECT = envstr("NUTRILEARN_MEDIA_ACCEL_REDIRECT", "")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Uploads: one image per request; larger bodies than the image limit are refused
# before decoding. Django's own cap on the number of files is kept above one so
# that the API can answer "send one image" instead of a bare 400.
NUTRILEARN_MAX_UPLOAD_BYTES = envint("NUTRILEARN_MAX_UPLOAD_BYTES", 10 * 1024 * 1024)
# The whole upload body must reach the app within this many seconds (408 after): gunicorn itself
# would wait forever for a client that trickles its body. Below GUNICORN_TIMEOUT (60), so that a sync
# worker answers rather than being killed. Behind a buffering proxy the body arrives at once.
NUTRILEARN_UPLOAD_BODY_TIMEOUT_SECONDS = envfloat("NUTRILEARN_UPLOAD_BODY_TIMEOUT_SECONDS", 30.0)
NUTRILEARN_MAX_PIXELS = envint("NUTRILEARN_MAX_PIXELS", 40_000_000)
NUTRILEARN_MIN_SIDE = envint("NUTRILEARN_MIN_SIDE", 32)
NUTRILEARN_MAX_SIDE = envint("NUTRILEARN_MAX_SIDE", 12_000)
NUTRILEARN_MAX_ASPECT_RATIO = envfloat("NUTRILEARN_MAX_ASPECT_RATIO", 8.0)
NUTRILEARN_STORED_IMAGE_MAX_SIDE = envint("NUTRILEARN_STORED_IMAGE_MAX_SIDE", 1024)
DATA_UPLOAD_MAX_NUMBER_FILES = 10
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# Recognition. A photo is "no food recognised" when the probability mass on food
# classes plus tableware classes (plate, bowl, pan, tray: ImageNet often puts a
# meal's mass there) is below this threshold. See README "How recognition decides".
NUTRILEARN_FOOD_MASS_THRESHOLD = envfloat("NUTRILEARN_FOOD_MASS_THRESHOLD", 0.1)
NUTRILEARN_TOP_K = envint("NUTRILEARN_TOP_K", 5)
# Threads per process for inference; processes x threads should not exceed the cores.
# Half the cores by default: the web process shares the machine with the Celery worker,
# and PyTorch threads that compete for a busy core slow inference down several-fold.
NUTRILEARN_TORCH_THREADS = envint("NUTRILEARN_TORCH_THREADS", max(1, (os.cpu_count() or 2) // 2))
NUTRILEARN_DARK_BRIGHTNESS = envfloat("NUTRILEARN_DARK_BRIGHTNESS", 0.12)
NUTRILEARN_BLUR_SHARPNESS = envfloat("NUTRILEARN_BLUR_SHARPNESS", 0.001)

# Celery. The filesystem transport is the embedded default so that the whole app
# runs with no broker installed; Redis is used as soon as REDIS_URL is given.
REDIS_URL = envstr("REDIS_URL")
CELERY_BROKER_URL = envstr("CELERY_BROKER_URL", REDIS_URL or "filesystem://")
BROKER_REDIS_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 1,
    "socket_timeout": 2,
    # Publishing tries the connection once instead of retrying for the connect
    # timeout (kombu's default would hold an upload for ~2 s while Redis is down).
    # The worker's consumer reconnects through its own loop (broker_connection_retry).
    "max_retries": 0,
}
CELERY_BROKER_TRANSPORT_OPTIONS = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # Its folders are created by `manage.py bootstrap` and by the worker and beat as they start
    # (nutrilearn/celery.py). The worker lists the queue folder every polling interval: kombu's
    # default of 1 s caps it at one message a second.
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        "polling_interval": envfloat("NUTRILEARN_BROKER_POLLING_SECONDS", 0.1),
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = BROKER_REDIS_TRANSPORT_OPTIONS
# The upload path must never wait on the broker: publishing gives up quickly and
# the periodic sweeper re-enqueues whatever was not published.
CELERY_BROKER_CONNECTION_TIMEOUT = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_PUBLISH_RETRY = False
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 600
CELERY_TASK_SOFT_TIME_LIMIT = 540
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", "0")
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Every MLflow write goes through the "mlflow" queue. With the embedded SQLite
# MLflow store (one writer at a time) consume it with exactly one process:
#   celery -A nutrilearn worker -Q mlflow -c 1     (and another worker for -Q celery)
# With an `mlflow server` the queue may have several consumers.
# Everything else (alert checks and webhook deliveries, rollups, the sweeper) goes to the default "celery" queue.
CELERY_TASK_ROUTES = {
    "mlops.tasks.mirror_pending_predictions": {"queue": "mlflow"},
    "mlops.tasks.drift_report_scheduled": {"queue": "mlflow"},
    # The challenger answering uploaded photos (shadow mode), and retraining: each on its own queue, so a model
    # loading or training never delays the mirror or the alert checks:
    #   celery -A nutrilearn worker -Q shadow -c 1      celery -A nutrilearn worker -Q training -c 1
    "mlops.shadow.tasks.shadow_predict": {"queue": "shadow"},
    "mlops.shadow.tasks.shadow_sweep": {"queue": "shadow"},
    "mlops.retraining.tasks.retrain_run": {"queue": "training"},
}
CELERY_BEAT_SCHEDULE: dict = {
    "mirror-sweep": {"task": "mlops.tasks.mirror_sweep", "schedule": envfloat("NUTRILEARN_MIRROR_SWEEP_SECONDS", 30.0)},
    "drift-report": {"task": "mlops.tasks.drift_report_scheduled", "schedule": 60.0 * envfloat("NUTRILEARN_DRIFT_REPORT_MINUTES", 360.0)},
    "alerts-evaluate": {"task": "mlops.tasks.alerts_evaluate", "schedule": envfloat("NUTRILEARN_ALERT_EVALUATE_SECONDS", 60.0)},
    # Daily rollups that the all-data monitoring reads (mlops/rollups.py); also the worker's heartbeat.
    "monitoring-rollups": {"task": "mlops.tasks.monitoring_rollups_refresh", "schedule": envfloat("NUTRILEARN_ROLLUP_SECONDS", 300.0)},
    # Photo files left without a row by an upload that failed between writing the file and the row.
    "orphaned-photos": {"task": "predictions.tasks.orphaned_photos_clean", "schedule": 3600.0},
    # Expired sessions: a client that keeps no cookies leaves one per upload.
    "expired-sessions": {"task": "predictions.tasks.expired_sessions_clear", "schedule": 3600.0},
    "shadow-sweep": {"task": "mlops.shadow.tasks.shadow_sweep", "schedule": envfloat("NUTRILEARN_SHADOW_SWEEP_SECONDS", 60.0)},
    "retrain-check": {
        "task": "mlops.retraining.tasks.retrain_check", "schedule": 60.0 * envfloat("NUTRILEARN_RETRAIN_CHECK_MINUTES", 60.0)
    },
}

# Shadow mode (mlops/shadow): after each upload the challenger (registry alias `challenger`) answers the same
# stored photo in a worker of the "shadow" queue. Photos still unanswered GRACE_SECONDS after upload (a lost task)
# are answered by the sweeper, as long as they are younger than LOOKBACK_HOURS.
NUTRILEARN_SHADOW_ENABLED = envbool("NUTRILEARN_SHADOW_ENABLED", "0")
NUTRILEARN_SHADOW_GRACE_SECONDS = envfloat("NUTRILEARN_SHADOW_GRACE_SECONDS", 120.0)
NUTRILEARN_SHADOW_LOOKBACK_HOURS = envfloat("NUTRILEARN_SHADOW_LOOKBACK_HOURS", 24.0)

# Retraining (mlops/retraining): the periodic check starts one when a trigger holds (drift in the latest scheduled
# report, feedback accuracy down significantly, or the label-free estimate down by ESTIMATE_DROP), at least
# MIN_NEW_LABELS labels arrived since the last retraining, and the last one started more than COOLDOWN_HOURS ago.
# It trains on BASE_DATASET (an ImageFolder; empty: the labelled photos only) plus the labelled photos, within
# TIME_BUDGET_MINUTES, on the "training" queue. AUTO_PROMOTE lets it promote a challenger through the promotion guardrail.
NUTRILEARN_RETRAIN_MIN_NEW_LABELS = envint("NUTRILEARN_RETRAIN_MIN_NEW_LABELS", 200)
NUTRILEARN_RETRAIN_COOLDOWN_HOURS = envfloat("NUTRILEARN_RETRAIN_COOLDOWN_HOURS", 24.0)
NUTRILEARN_RETRAIN_BASE_DATASET = envstr("NUTRILEARN_RETRAIN_BASE_DATASET", "")
NUTRILEARN_RETRAIN_TIME_BUDGET_MINUTES = envfloat("NUTRILEARN_RETRAIN_TIME_BUDGET_MINUTES", 30.0)
NUTRILEARN_RETRAIN_ESTIMATE_DROP = envfloat("NUTRILEARN_RETRAIN_ESTIMATE_DROP", 0.05)
NUTRILEARN_RETRAIN_SIGNIFICANCE = envfloat("NUTRILEARN_RETRAIN_SIGNIFICANCE", 0.05)
NUTRILEARN_RETRAIN_AUTO_PROMOTE = envbool("NUTRILEARN_RETRAIN_AUTO_PROMOTE", "0")

# Drift (mlops/drift.py, mlops/drift_reports.py). The periodic report compares the last
# RECENT_DAYS with the BASELINE_DAYS before them. A check says drift when its test is
# significant at ALPHA / number of checks and its effect size exceeds its threshold.
NUTRILEARN_DRIFT_BASELINE_DAYS = envfloat("NUTRILEARN_DRIFT_BASELINE_DAYS", 28.0)
NUTRILEARN_DRIFT_RECENT_DAYS = envfloat("NUTRILEARN_DRIFT_RECENT_DAYS", 7.0)
NUTRILEARN_DRIFT_ALPHA = envfloat("NUTRILEARN_DRIFT_ALPHA", 0.05)
NUTRILEARN_DRIFT_THRESHOLD = envfloat("NUTRILEARN_DRIFT_THRESHOLD", 0.15)  # drift_score: chance-corrected food JS distance
NUTRILEARN_DRIFT_DISTANCE_THRESHOLD = envfloat("NUTRILEARN_DRIFT_DISTANCE_THRESHOLD", 0.1)  # Wasserstein / baseline std
NUTRILEARN_DRIFT_PSI_THRESHOLD = envfloat("NUTRILEARN_DRIFT_PSI_THRESHOLD", 0.2)
NUTRILEARN_DRIFT_MIN_SAMPLES = envint("NUTRILEARN_DRIFT_MIN_SAMPLES", 30)
NUTRILEARN_DRIFT_SAMPLE_SIZE = envint("NUTRILEARN_DRIFT_SAMPLE_SIZE", 5000)  # rows per window read for KS / MMD
NUTRILEARN_DRIFT_MMD_SAMPLE_SIZE = envint("NUTRILEARN_DRIFT_MMD_SAMPLE_SIZE", 500)
NUTRILEARN_DRIFT_MMD_PERMUTATIONS = envint("NUTRILEARN_DRIFT_MMD_PERMUTATIONS", 500)
NUTRILEARN_DRIFT_FOOD_PERMUTATIONS = envint("NUTRILEARN_DRIFT_FOOD_PERMUTATIONS", 2000)  # food test; smallest p = 1/2001
NUTRILEARN_DRIFT_SEED = envint("NUTRILEARN_DRIFT_SEED", 0)
# Stored reports are kept this long: those computed on demand (API, pages) and the scheduled ones.
NUTRILEARN_DRIFT_ON_DEMAND_RETENTION_DAYS = envfloat("NUTRILEARN_DRIFT_ON_DEMAND_RETENTION_DAYS", 7.0)
NUTRILEARN_DRIFT_REPORT_RETENTION_DAYS = envfloat("NUTRILEARN_DRIFT_REPORT_RETENTION_DAYS", 365.0)
# New drift reports one staff user may have computed by GET /api/v1/mlops/monitoring/drift (DRF rate syntax);
# a request that a stored report answers does not count.
NUTRILEARN_DRIFT_COMPUTE_RATE = envstr("NUTRILEARN_DRIFT_COMPUTE_RATE", "30/hour")

# Records of successful background jobs (mlops/jobs.py: mirror batches, rollup refreshes, alert checks,
# drift reports) are kept this long; failed ones stay. NUTRILEARN_MIRROR_JOB_RETENTION_DAYS is the
# earlier name of this variable, still read when the new one is not set.
NUTRILEARN_JOB_RETENTION_DAYS = envint("NUTRILEARN_JOB_RETENTION_DAYS", envint("NUTRILEARN_MIRROR_JOB_RETENTION_DAYS", 7))

# Alerts (mlops/alerts.py): a rule with fewer requests or predictions than this in its window does not fire.
NUTRILEARN_ALERT_MIN_SAMPLES = envint("NUTRILEARN_ALERT_MIN_SAMPLES", 20)
NUTRILEARN_ALERT_EMAIL_TO = envstr("NUTRILEARN_ALERT_EMAIL_TO", "")  # default recipients of the default rules
NUTRILEARN_ALERT_WEBHOOK_URL = envstr("NUTRILEARN_ALERT_WEBHOOK_URL", "")
# Webhooks are delivered by the task mlops.tasks.alert_webhook_deliver: up to MAX_ATTEMPTS attempts, the
# n-th retry after a random wait of up to BACKOFF_SECONDS x 2^(n-1) (whole seconds, at least 1; read at worker start).
NUTRILEARN_WEBHOOK_TIMEOUT_SECONDS = envfloat("NUTRILEARN_WEBHOOK_TIMEOUT_SECONDS", 5.0)
NUTRILEARN_WEBHOOK_MAX_ATTEMPTS = envint("NUTRILEARN_WEBHOOK_MAX_ATTEMPTS", 3)
NUTRILEARN_WEBHOOK_BACKOFF_SECONDS = envfloat("NUTRILEARN_WEBHOOK_BACKOFF_SECONDS", 1.0)
EMAIL_BACKEND = envstr(
    "DJANGO_EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = envstr("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = envint("DJANGO_EMAIL_PORT", 25)
EMAIL_HOST_USER = envstr("DJANGO_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = envstr("DJANGO_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("DJANGO_EMAIL_USE_TLS", "0")
EMAIL_TIMEOUT = envint("DJANGO_EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = envstr("DJANGO_DEFAULT_FROM_EMAIL", "nutrilearn@localhost")

# Mirroring predictions into MLflow (mlops/mirror.py).
NUTRILEARN_MIRROR_BATCH_SIZE = envint("NUTRILEARN_MIRROR_BATCH_SIZE", 2000)
# A prediction not mirrored this long after it was stored is re-enqueued by the sweeper.
NUTRILEARN_MIRROR_GRACE_SECONDS = envfloat("NUTRILEARN_MIRROR_GRACE_SECONDS", 30.0)
# A claim older than this belongs to a worker that died; its rows are claimed again.
NUTRILEARN_MIRROR_CLAIM_TIMEOUT_SECONDS = envfloat("NUTRILEARN_MIRROR_CLAIM_TIMEOUT_SECONDS", 120.0)
# After this many rejected attempts a prediction is "poison": kept, shown, no longer retried.
NUTRILEARN_MIRROR_MAX_ATTEMPTS = envint("NUTRILEARN_MIRROR_MAX_ATTEMPTS", 5)
# An upload's mirror task starts this much later, so that the uploads of that time share its batch
# (one task, one MLflow request per batch rather than per upload under load; adds at most this to the lag).
NUTRILEARN_MIRROR_COLLECT_SECONDS = envfloat("NUTRILEARN_MIRROR_COLLECT_SECONDS", 2.0)
# How long one mirror task keeps taking batches before handing over to a fresh task.
NUTRILEARN_MIRROR_TASK_SECONDS = envfloat("NUTRILEARN_MIRROR_TASK_SECONDS", 20.0)
# Width of the windows whose aggregates (count, mean confidence, latency p50/p95, ...) are logged.
NUTRILEARN_MIRROR_WINDOW_SECONDS = envint("NUTRILEARN_MIRROR_WINDOW_SECONDS", 60)
# A published mirror task not started after this long is taken as lost, and the next upload or the
# sweeper publishes another (at most one mirror task waits in the queue otherwise).
NUTRILEARN_MIRROR_SCHEDULE_TTL_SECONDS = envfloat("NUTRILEARN_MIRROR_SCHEDULE_TTL_SECONDS", 60.0)
# After MLflow could not be reached, a worker process leaves pending predictions alone for this long
# (later mirror tasks return at once; the sweeper or the next upload brings the next attempt).
NUTRILEARN_MIRROR_BACKOFF_SECONDS = envfloat("NUTRILEARN_MIRROR_BACKOFF_SECONDS", 30.0)
# After the broker fails to take a message, uploads skip publishing for this long (the sweeper catches up).
NUTRILEARN_ENQUEUE_BACKOFF_SECONDS = envfloat("NUTRILEARN_ENQUEUE_BACKOFF_SECONDS", 30.0)

# MLflow: the embedded default is a SQLite-backed store with an artefact folder.
MLFLOW_TRACKING_URI = envstr("MLFLOW_TRACKING_URI", f"sqlite:///{VAR_DIR / 'mlflow' / 'mlflow.db'}")
MLFLOW_ARTIFACT_ROOT = envstr("MLFLOW_ARTIFACT_ROOT", (VAR_DIR / "mlflow" / "artifacts").as_uri())
MLFLOW_EXPERIMENT_NAME = envstr("MLFLOW_EXPERIMENT_NAME", "nutrilearn-food-recognition")
MLFLOW_REGISTERED_MODEL_NAME = envstr("MLFLOW_REGISTERED_MODEL_NAME", "food-classifier")
# Where the served model comes from: "registry" (the version behind alias `champion`,
# falling back to the bundled weights with the reason recorded) or "bundled" only
# (any other value fails the system check nutrilearn.E004).
NUTRILEARN_MODEL_SOURCE = envstr("NUTRILEARN_MODEL_SOURCE", "registry")
# How often each serving process checks the champion alias (0 = never after the first load).
NUTRILEARN_MODEL_POLL_SECONDS = envfloat("NUTRILEARN_MODEL_POLL_SECONDS", 30.0)
# Promotion guardrail: a challenger is refused when its accuracy on the images both versions were
# evaluated on is lower than the champion's by more than this many percentage points AND McNemar's
# test finds the difference significant (p < 0.05); see mlops/lifecycle/guardrail.py.
NUTRILEARN_PROMOTION_TOLERANCE = envfloat("NUTRILEARN_PROMOTION_TOLERANCE", 1.0)
# A/B tests: the smallest difference in accuracy (0-1) the "how many more labels" estimate plans to detect
# when the observed difference is smaller (nutrilearn.E012 when not strictly between 0 and 1).
NUTRILEARN_AB_MIN_DETECTABLE_EFFECT = envfloat("NUTRILEARN_AB_MIN_DETECTABLE_EFFECT", 0.05)
# Downloaded model artefacts, one folder per weights sha256.
NUTRILEARN_MODEL_CACHE_DIR = Path(envstr("NUTRILEARN_MODEL_CACHE_DIR", str(VAR_DIR / "models")))
# MLflow's own defaults (120 s timeout, 7 retries with backoff) can block a call for
# minutes; workers fail fast and Celery's retry with backoff does the waiting.
# Where people open the MLflow UI (links from the MLOps pages to a prediction's run); empty: no links.
NUTRILEARN_MLFLOW_UI_URL = envstr("NUTRILEARN_MLFLOW_UI_URL", "http://127.0.0.1:5000")
MLFLOW_HTTP_TIMEOUT_SECONDS = envint("MLFLOW_HTTP_TIMEOUT_SECONDS", 5)
MLFLOW_HTTP_MAX_RETRIES = envint("MLFLOW_HTTP_MAX_RETRIES", 1)

# Who may scrape /metrics: these addresses (the scraper on the same host or network), or anyone
# presenting this bearer token (Prometheus: authorization { credentials: ... }).
NUTRILEARN_METRICS_ALLOWED_IPS = envlist("NUTRILEARN_METRICS_ALLOWED_IPS", "127.0.0.1,::1")
NUTRILEARN_METRICS_TOKEN = envstr("NUTRILEARN_METRICS_TOKEN", "")

# A stored photo without a prediction row is removed once it is this old (uploads write the file first).
NUTRILEARN_ORPHAN_GRACE_MINUTES = envfloat("NUTRILEARN_ORPHAN_GRACE_MINUTES", 60.0)

# Caches: shared by every process, since upload throttling counts per client across web workers.
# Redis when configured; otherwise a folder under var/ (one machine).
NUTRILEARN_CACHE_URL = envstr("NUTRILEARN_CACHE_URL", REDIS_URL)
if NUTRILEARN_CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": NUTRILEARN_CACHE_URL,
            "KEY_PREFIX": "nutrilearn",
            # A Redis outage must not hold requests: give up quickly (throttles then let requests through).
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(VAR_DIR / "cache")}}

# Uploads per client (DRF rate syntax: N/second, N/minute, N/hour, N/day): anonymous clients are
# counted per IP address, logged-in users per account, on the API and the upload form alike.
NUTRILEARN_PREDICT_RATE = envstr("NUTRILEARN_PREDICT_RATE", "30/minute")
# After the cache failed to answer, uploads skip throttling for this long (per process).
NUTRILEARN_CACHE_BACKOFF_SECONDS = envfloat("NUTRILEARN_CACHE_BACKOFF_SECONDS", 30.0)
# The MLOps pages re-read their figures every this many seconds while open (0: never).
NUTRILEARN_PAGE_REFRESH_SECONDS = envint("NUTRILEARN_PAGE_REFRESH_SECONDS", 30)

REST_FRAMEWORK = {
    # Token first: DRF answers an unauthenticated request with the first class's challenge,
    # so a missing or bad token is a 401 with "WWW-Authenticate: Token" (session has none: 403).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "nutrilearn.api_errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "NutriLearn API",
    "DESCRIPTION": "Meal-photo recognition, feedback and the MLOps monitoring API.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and ReDoc from the drf-spectacular-sidecar package: served from static, no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Error codes a single error response can carry; named here so that generated clients get readable enum names.
    "ENUM_NAME_OVERRIDES": {
        "PermissionDeniedCodeEnum": ["permission_denied"],
        "UnsupportedMediaTypeCodeEnum": ["unsupported_media_type"],
        "InvalidParameterCodeEnum": ["invalid"],
        # Shared by the A/B test API: named as they were before it reused these sets.
        "NotFoundErrorDetailCodeEnum": ["not_found"],
        "MlopsTrackingUnavailableErrorDetailCodeEnum": ["tracking_unavailable"],
        "RegisterModelBadRequestErrorDetailCodeEnum": ["invalid", "parse_error", "mlflow_rejected"],
        "StatusEnum": ["error"],
        "ExperimentStatusEnum": "mlops.experiments.models.Experiment.Status",
        "MlflowNotFoundCodeEnum": ["mlflow_not_found"],
        "ThrottledCodeEnum": ["throttled"],
    },
}

# HTTPS hardening: on by default outside debug, so that `manage.py check --deploy` is clean.
# Behind a TLS-terminating proxy set DJANGO_BEHIND_PROXY=1 (Django then trusts X-Forwarded-Proto).
_production = "0" if DEBUG else "1"
SESSION_COOKIE_SECURE = envbool("DJANGO_SECURE_COOKIES", _production)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
# Database sessions that write an anonymous uploader's new session once (nutrilearn/sessions.py).
SESSION_ENGINE = "nutrilearn.sessions"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if envbool("DJANGO_BEHIND_PROXY", "0") else None
SECURE_SSL_REDIRECT = envbool("DJANGO_SSL_REDIRECT", _production)
# Probes and scrapers talk plain HTTP to the process itself.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = envint("DJANGO_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", _production)
SECURE_HSTS_PRELOAD = envbool("DJANGO_HSTS_PRELOAD", _production)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}
