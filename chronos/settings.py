"""Settings for Chronos, read from the environment.

A fresh clone runs with no environment at all: SQLite in the project folder,
DEBUG on and a development secret. Production (DEBUG off) refuses to start
until its secrets are given. Every variable is listed in the README.
"""

import base64
import hashlib
import os
import tempfile
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)

DEVELOPMENT_SECRET_KEY = "chronos-development-secret-do-not-use-in-production"
REQUIRED_IN_PRODUCTION = ("SECRET_KEY", "ALLOWED_HOSTS", "TOKEN_ENCRYPTION_KEYS")


def _missing_production_variables() -> list[str]:
    return [name for name in REQUIRED_IN_PRODUCTION if not env.str(name, default="")]


if not DEBUG and (missing := _missing_production_variables()):
    raise ImproperlyConfigured(
        "Chronos refuses to start with DEBUG off until these environment "
        f"variables are set: {', '.join(missing)}. See the configuration "
        "table in README.md."
    )

SECRET_KEY = env.str("SECRET_KEY", default=DEVELOPMENT_SECRET_KEY)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])


def _development_fernet_key(secret: str) -> str:
    digest = hashlib.sha256(f"chronos-token-key:{secret}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


# The first key encrypts; every key decrypts, so keys can be rotated.
TOKEN_ENCRYPTION_KEYS = env.list(
    "TOKEN_ENCRYPTION_KEYS", default=[_development_fernet_key(SECRET_KEY)]
)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "calendars",
    "syncengine",
    "webhooks",
    "emulator",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "chronos.urls"
ASGI_APPLICATION = "chronos.asgi.application"
WSGI_APPLICATION = None

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
    "default": env.db_url(
        "DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
    ),
}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
DATABASE_POOL_MAX_SIZE = env.int("DATABASE_POOL_MAX_SIZE", default=16)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and (
    DATABASE_POOL_MAX_SIZE > 0
):
    # Under ASGI each request of a synchronous view runs on a thread of its
    # own, so without a pool every page view and webhook would open a new
    # connection. The pool hands them warm ones.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": min(2, DATABASE_POOL_MAX_SIZE),
        "max_size": DATABASE_POOL_MAX_SIZE,
        "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the worker thread write while pages read, in embedded mode.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault(
        "init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    )
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)
    # A file, not shared-cache memory: threads then wait for each other's
    # writes instead of failing with "database table is locked".
    # One file per process, so that two test runs never share it.
    DATABASES["default"].setdefault(
        "TEST",
        {"NAME": str(Path(tempfile.gettempdir()) / f"chronos-test-{os.getpid()}.db")},
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Distributed mode when Redis is configured; otherwise everything runs in one
# process (embedded mode), which is what `make demo` and unit tests use.
REDIS_URL = env.str("REDIS_URL", default="")
DISTRIBUTED = bool(REDIS_URL)

if DISTRIBUTED:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "chronos",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not DISTRIBUTED
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# A task is acknowledged only when it finished, and given back when its
# worker dies, so a killed sync is redelivered rather than lost.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=600)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=660)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # A task whose worker died unacknowledged is redelivered after this long.
    # Longer than the hard time limit, so a running task is not handed to a
    # second worker; the sync lease keeps that harmless anyway.
    "visibility_timeout": env.int(
        "CELERY_VISIBILITY_TIMEOUT", default=CELERY_TASK_TIME_LIMIT + 60
    ),
    # Look for such tasks this often (kombu's default is every 100 s).
    "unacked_restore_interval": env.int("CELERY_RESTORE_INTERVAL", default=30),
    "unacked_restore_throttle": 1,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"

GOOGLE_CLIENT_ID = env.str("GOOGLE_CLIENT_ID", default="chronos-local-client")
GOOGLE_CLIENT_SECRET = env.str("GOOGLE_CLIENT_SECRET", default="chronos-local-secret")
GOOGLE_API_URL = env.str(
    "GOOGLE_API_URL", default="https://www.googleapis.com/calendar/v3/"
)
GOOGLE_AUTH_URL = env.str(
    "GOOGLE_AUTH_URL", default="https://accounts.google.com/o/oauth2/auth"
)
GOOGLE_TOKEN_URL = env.str(
    "GOOGLE_TOKEN_URL", default="https://oauth2.googleapis.com/token"
)
GOOGLE_SCOPES = [
    "https://www.googleapis.com/auth/calendar.readonly",
    "https://www.googleapis.com/auth/userinfo.email",
    "openid",
]

WEBHOOK_BASE_URL = env.str("WEBHOOK_BASE_URL", default="")
SYNC_RATE_LIMIT_SECONDS = env.int("SYNC_RATE_LIMIT_SECONDS", default=5)
MAX_SYNC_DURATION_SECONDS = env.int("MAX_SYNC_DURATION_SECONDS", default=300)
SSE_KEEPALIVE_SECONDS = env.float("SSE_KEEPALIVE_SECONDS", default=15)
MAX_CONCURRENT_CALENDAR_FETCHES = env.int("MAX_CONCURRENT_CALENDAR_FETCHES", default=5)
MAX_CALENDARS_PER_SYNC = env.int("MAX_CALENDARS_PER_SYNC", default=20)
WEBHOOK_CHANNEL_TTL_SECONDS = env.int("WEBHOOK_CHANNEL_TTL_SECONDS", default=604800)
WEBHOOK_CHANNEL_BUFFER_HOURS = env.int("WEBHOOK_CHANNEL_BUFFER_HOURS", default=24)
BACKGROUND_SYNC_INTERVAL_SECONDS = env.int(
    "BACKGROUND_SYNC_INTERVAL_SECONDS", default=600
)
CELERY_BEAT_SCHEDULE = {
    "background-sync": {
        "task": "syncengine.schedule_background_syncs",
        "schedule": float(BACKGROUND_SYNC_INTERVAL_SECONDS),
    },
    # Far more often than WEBHOOK_CHANNEL_BUFFER_HOURS, so that a renewal
    # Google refused once is tried again well before the channel expires.
    "renew-watch-channels": {
        "task": "webhooks.renew_channels",
        "schedule": 3600.0,
    },
}
# Calls Google answers with a rate limit or a server error are retried this
# many times in all, waiting a random time up to base * 2**attempt (capped).
GOOGLE_RETRY_ATTEMPTS = env.int("GOOGLE_RETRY_ATTEMPTS", default=5)
GOOGLE_RETRY_BASE_SECONDS = env.float("GOOGLE_RETRY_BASE_SECONDS", default=0.5)
GOOGLE_RETRY_CAP_SECONDS = env.float("GOOGLE_RETRY_CAP_SECONDS", default=8)
# How long a sync run holds its calendar without renewing its claim; a run
# whose worker died is taken over after this.
SYNC_LEASE_SECONDS = env.int("SYNC_LEASE_SECONDS", default=120)
# A sync asked for during a run makes the run go round again once the
# requests have paused this long (at most the second figure), so a burst of
# notifications costs two runs.
SYNC_COALESCE_SECONDS = env.float("SYNC_COALESCE_SECONDS", default=0.3)
SYNC_COALESCE_MAX_SECONDS = env.float("SYNC_COALESCE_MAX_SECONDS", default=5)
# Threads running tasks in embedded mode (no REDIS_URL).
EMBEDDED_WORKER_THREADS = env.int("EMBEDDED_WORKER_THREADS", default=4)

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation."
        "UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
# Without it only an operator (the admin, createsuperuser) creates users.
ALLOW_SIGNUP = env.bool("ALLOW_SIGNUP", default=False)
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

# Production hardening, secure unless told otherwise. Chronos sits behind a
# TLS-terminating proxy (docker compose), which must set X-Forwarded-Proto
# and drop any copy the client sent.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Probes reach the process directly over plain HTTP, not through the proxy.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int(
    "SECURE_HSTS_SECONDS", default=0 if DEBUG else 365 * 24 * 3600
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool(
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG
)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# Browsers' preload list binds the whole registered domain and takes months
# to leave, so joining it is the operator's call; Django's reminder that the
# site is not on it (security.W021) is therefore silenced.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # httplib2 and urllib3 log request URLs with access tokens at DEBUG.
        "googleapiclient.discovery_cache": {"level": "ERROR"},
        "urllib3": {"level": "WARNING"},
    },
}
