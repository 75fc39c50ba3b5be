"""Settings, read from environment variables.

Every production component has an embedded default so that the main job runs on a
fresh machine with no servers:

| variable                  | set                        | unset (embedded default)        |
|---------------------------|----------------------------|---------------------------------|
| DATABASE_URL              | that database (dj-database-url: postgresql://, sqlite:///) | SQLite file ``SQLITE_PATH`` or ``var/flywheel.sqlite3`` |
| KAFKA_BOOTSTRAP_SERVERS   | Apache Kafka               | in-process bus, same handler    |
| CELERY_BROKER_URL         | Celery on that broker      | tasks run eagerly in-process    |
| REDIS_URL                 | Redis cache (rate limits)  | local-memory cache              |
| RAY_ADDRESS               | that Ray cluster           | local Ray started in-process    |
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("FLYWHEEL_VAR_DIR", BASE_DIR / "var"))


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


SUPPORTED_DATABASE_ENGINES = ("django.db.backends.postgresql", "django.db.backends.sqlite3")


def database_settings(environ: Mapping[str, str]) -> dict:
    """The ``default`` DATABASES entry for an environment.

    ``DATABASE_URL`` in any form dj-database-url reads (``postgres://``, ``postgresql://``,
    ``sqlite:///relative/path``, ``sqlite:////absolute/path``); unset, the embedded default:
    SQLite at ``SQLITE_PATH`` (default ``var/flywheel.sqlite3``).
    """
    import dj_database_url

    url = environ.get("DATABASE_URL", "").strip()
    if not url:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": environ.get("SQLITE_PATH", str(VAR_DIR / "flywheel.sqlite3")),
            "OPTIONS": {"timeout": 30},
        }
    try:
        config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    except ValueError as exc:
        raise ValueError(f"DATABASE_URL is not a database URL Flywheel can use ({exc}); "
                         "use postgresql://user:pass@host:port/name or sqlite:///path") from exc
    if config["ENGINE"] not in SUPPORTED_DATABASE_ENGINES:
        raise ValueError(f"DATABASE_URL selects {config['ENGINE']}; Flywheel runs on PostgreSQL "
                         "(postgresql://...) or SQLite (sqlite:///path)")
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config.setdefault("OPTIONS", {}).setdefault("timeout", 30)  # wait for a writer instead of failing at once
    return config


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "flywheel-dev-only-secret-key-change-me")
DEBUG = _env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "telemetry",
    "rewards",
    "training",
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {"default": database_settings(os.environ)}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/dashboard/"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "config.cache.ReusingRedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: eager and in-process unless a broker is configured.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", CELERY_BROKER_URL or None)
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ACKS_LATE = True
CELERY_BEAT_SCHEDULE = {
    "rollups-compact": {"task": "dashboard.rollups_compact", "schedule": 60.0},
}

RAY_ADDRESS = os.environ.get("RAY_ADDRESS", "")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "telemetry.auth.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["telemetry.auth.HasApiKeyOrLogin"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "telemetry.api_errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Flywheel API",
    "DESCRIPTION": "Telemetry ingestion, metrics, rewards and training for AI coding agents.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# Telemetry ingestion.
KAFKA_BOOTSTRAP_SERVERS = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
TELEMETRY_TOPIC = os.environ.get("TELEMETRY_TOPIC", "telemetry.events")
TELEMETRY_DLQ_TOPIC = os.environ.get("TELEMETRY_DLQ_TOPIC", f"{TELEMETRY_TOPIC}.dlq")
TELEMETRY_CONSUMER_GROUP = os.environ.get("TELEMETRY_CONSUMER_GROUP", "flywheel-telemetry")
TELEMETRY_COMPRESSION = os.environ.get("TELEMETRY_COMPRESSION", "gzip")
TELEMETRY_MAX_BATCH_EVENTS = 1000
TELEMETRY_MAX_BODY_BYTES = 5 * 1024 * 1024
# Requests per API key; DRF rate syntax ("<n>/<second|minute|hour>").
TELEMETRY_INGEST_RATE = os.environ.get("TELEMETRY_INGEST_RATE", "1200/minute")
# OTLP receivers (/v1/logs, /v1/metrics). Claude Code, Gemini CLI and Qwen Code report
# decisions in both logs and metrics; logs are the source unless this is on.
TELEMETRY_OTLP_FACTS_FROM_METRICS = _env_bool("TELEMETRY_OTLP_FACTS_FROM_METRICS", False)
# Diff statistics describe the moment of acceptance; raise this to count them at a checkpoint.
TELEMETRY_OTLP_RETENTION_ELAPSED_S = float(os.environ.get("TELEMETRY_OTLP_RETENTION_ELAPSED_S", "0"))
TELEMETRY_OTLP_MAX_EVENTS = 5000
# Guards against gzip bombs: the decompressed body may not exceed this.
DATA_UPLOAD_MAX_MEMORY_SIZE = TELEMETRY_MAX_BODY_BYTES + 1024 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    "loggers": {
        "flywheel": {"handlers": ["console"], "level": os.environ.get("FLYWHEEL_LOG_LEVEL", "INFO"), "propagate": False},
        "kafka": {"level": os.environ.get("KAFKA_LOG_LEVEL", "ERROR")},
    },
}

# Model releases: clients re-ask GET /api/v1/assignment this often, so a promotion or a
# rollback reaches every client within this many seconds.
FLYWHEEL_ASSIGNMENT_POLL_S = int(os.environ.get("FLYWHEEL_ASSIGNMENT_POLL_S", "30"))
# Training runs (training/): RL jobs on Ray.
TRAINING_RUNS_DIR = Path(os.environ.get("TRAINING_RUNS_DIR", VAR_DIR / "rl" / "runs"))
# Where a Ray job reports progress to (this Flywheel's base URL as the cluster sees it).
FLYWHEEL_PUBLIC_URL = os.environ.get("FLYWHEEL_PUBLIC_URL", "http://127.0.0.1:8000")
# Job runtime_env: the project is the working dir (minus these), plus the job's pip requirements
# so a bare cluster can run it (an empty list relies on the cluster's own environment).
TRAINING_RAY_EXCLUDES = ["var/", ".venv/", "node_modules/", ".git/", "*.sqlite3", "benchmarks/", "tests/"]
TRAINING_RAY_PIP = [
    p for p in os.environ.get(
        "TRAINING_RAY_PIP", "torch>=2.4 transformers>=4.45 safetensors>=0.4 tokenizers>=0.20 peft>=0.13 requests>=2.32 tqdm>=4.66"
    ).split() if p
]
# Scheduled retraining: beat runs `training.retrain_if_due` every TRAINING_RETRAIN_CHECK_S;
# per-org thresholds live in training.RetrainSchedule rows (editable at run time; these are
# the values a new schedule starts with).
TRAINING_RETRAIN_CHECK_S = float(os.environ.get("TRAINING_RETRAIN_CHECK_S", "300"))
TRAINING_RETRAIN_DEFAULTS = {
    "interval_s": int(os.environ.get("TRAINING_RETRAIN_INTERVAL_S", "3600")),
    "min_new_events": int(os.environ.get("TRAINING_RETRAIN_MIN_NEW_EVENTS", "1000")),
    "min_new_pairs": int(os.environ.get("TRAINING_RETRAIN_MIN_NEW_PAIRS", "0")),
    "reward_model_min_pairs": int(os.environ.get("TRAINING_RETRAIN_REWARD_MODEL_MIN_PAIRS", "50")),
    "reward_model_kind": os.environ.get("TRAINING_RETRAIN_REWARD_MODEL_KIND", "bradley_terry"),
    "rl_config": {},
}
CELERY_BEAT_SCHEDULE["training-retrain-if-due"] = {"task": "training.retrain_if_due", "schedule": TRAINING_RETRAIN_CHECK_S}
