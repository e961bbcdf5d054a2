"""Settings for Postbacks.

Everything that differs between a laptop and production comes from the environment.
With no environment at all the service runs on an embedded default: SQLite in ``var/`` and
Celery on kombu's filesystem transport (also in ``var/``), so one command starts a complete,
really asynchronous system without any server to install.
"""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("POSTBACKS_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", "SECRET_KEY" not in os.environ)
SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-insecure-key-do-not-use-in-production")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "customers",
    "templates_app",
    "triggers",
    "delivery",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "postbacks_site.urls"
WSGI_APPLICATION = "postbacks_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "postbacks_site" / "templates"],
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

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'postbacks.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web process, the worker and beat all write to one file: WAL lets readers and the
    # writer overlap, IMMEDIATE transactions queue writers instead of failing with
    # "database is locked" half-way through a transaction.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    # Tests run a worker in another thread, so the test database must be a file both can open.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-postbacks.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
# WhiteNoise serves the admin's static files from the web process itself, compressed and
# with cache-busting names in production (run collectstatic first).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- HTTPS and cookies in production (behind a TLS-terminating proxy, set
# SECURE_PROXY_SSL_HEADER_NAME=HTTP_X_FORWARDED_PROTO) ---------------------------------------
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]  # probes speak plain HTTP
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    if os.environ.get("SECURE_PROXY_SSL_HEADER_NAME"):
        SECURE_PROXY_SSL_HEADER = (os.environ["SECURE_PROXY_SSL_HEADER_NAME"], "https")

# --- Email ----------------------------------------------------------------------------------
# Used when the workspace has no SMTP server of its own configured in admin.
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "delivery.smtp.SMTPBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "postbacks@localhost")
# Seconds to wait for the mail server at each step (connect, TLS, every SMTP reply).
POSTBACKS_SMTP_TIMEOUT = float(os.environ.get("POSTBACKS_SMTP_TIMEOUT", "20"))
# A PEM file of CA certificates trusted besides the system's, for a mail server whose
# certificate comes from the PSP's private CA (or a self-signed one).
POSTBACKS_SMTP_CA_FILE = os.environ.get("POSTBACKS_SMTP_CA_FILE", "")
# Unencrypted SMTP sends the password and every email in clear: allowed to a server on this
# machine only, unless this is set.
POSTBACKS_SMTP_ALLOW_PLAINTEXT = env_bool("POSTBACKS_SMTP_ALLOW_PLAINTEXT", False)
# A worker keeps its connection to the mail server open for the next email this long.
POSTBACKS_SMTP_IDLE_TIMEOUT = float(os.environ.get("POSTBACKS_SMTP_IDLE_TIMEOUT", "30"))

# --- Celery ---------------------------------------------------------------------------------
# localfs:// is kombu's filesystem transport with atomic writes (postbacks_site/broker.py).
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "localfs://localhost/")
if CELERY_BROKER_URL.startswith(("localfs://", "filesystem://")):
    _broker_dir = Path(os.environ.get("CELERY_FILESYSTEM_DIR", VAR_DIR / "broker"))
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
        "polling_interval": 0.2,
    }
    # The worker and any process that enqueues must share these folders.
    for _folder in ("queue", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
# First attempts and retries travel in separate queues, so a backlog of retries to a dead
# endpoint never delays fresh postbacks. A worker consumes both unless started with -Q.
POSTBACKS_QUEUE = os.environ.get("POSTBACKS_QUEUE", "postbacks")
POSTBACKS_RETRY_QUEUE = os.environ.get("POSTBACKS_RETRY_QUEUE", "postbacks-retries")
CELERY_TASK_DEFAULT_QUEUE = POSTBACKS_QUEUE
CELERY_TASK_QUEUES = {POSTBACKS_QUEUE: {}, POSTBACKS_RETRY_QUEUE: {}}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's Django fixup closes the database connection around every task unless this is set,
# which costs a new PostgreSQL connection (and server process) per delivery. Connections are
# kept instead and recycled by CONN_MAX_AGE and health checks (see postbacks_site.celery).
CELERY_DB_REUSE_MAX = 1_000_000

# --- Postbacks ------------------------------------------------------------------------------
# Seconds to wait before each retry of a failed postback (the first attempt is immediate).
# With the trigger's "retry on failure" on, a postback gets 1 + len(schedule) attempts.
POSTBACKS_RETRY_SCHEDULE = [
    float(value)
    for value in env_list(
        "POSTBACKS_RETRY_SCHEDULE", "5,300,1800,7200,18000,36000,50400,72000,86400"
    )
]
# Each wait is spread by up to this fraction either way, so that a receiver coming back up
# is not hit by every queued retry at the same second.
POSTBACKS_RETRY_JITTER = float(os.environ.get("POSTBACKS_RETRY_JITTER", "0.2"))
# A worker that claims a postback owns it this long; a crashed worker's claim then lapses.
POSTBACKS_CLAIM_TIMEOUT = float(os.environ.get("POSTBACKS_CLAIM_TIMEOUT", "120"))
POSTBACKS_HTTP_CONNECT_TIMEOUT = float(os.environ.get("POSTBACKS_HTTP_CONNECT_TIMEOUT", "5"))
POSTBACKS_HTTP_TIMEOUT = float(os.environ.get("POSTBACKS_HTTP_TIMEOUT", "15"))
# How much of a receiver's response is kept in the delivery log.
POSTBACKS_RESPONSE_BODY_LIMIT = int(os.environ.get("POSTBACKS_RESPONSE_BODY_LIMIT", "51200"))
# How often the periodic sweep looks for postbacks that are due but were never queued
# (a broker that was down, a message lost with a worker).
POSTBACKS_SWEEP_INTERVAL = int(os.environ.get("POSTBACKS_SWEEP_INTERVAL", "30"))
# Retries due within this many seconds are queued with a countdown; later ones are left to the
# sweep, so no queue message has to wait hours inside a broker.
POSTBACKS_QUEUE_DELAY_LIMIT = float(os.environ.get("POSTBACKS_QUEUE_DELAY_LIMIT", "300"))
# A postback queued this long ago and still due is queued again (its message was lost).
POSTBACKS_REQUEUE_AFTER = float(os.environ.get("POSTBACKS_REQUEUE_AFTER", "600"))

# At most this many deliveries wait on one destination (scheme, host, port) at a time, so a
# slow receiver cannot occupy every worker; 0 lifts the limit. Postbacks beyond it are put
# back in the queue for POSTBACKS_DESTINATION_WAIT seconds, which is not an attempt.
POSTBACKS_DESTINATION_CONCURRENCY = int(os.environ.get("POSTBACKS_DESTINATION_CONCURRENCY", "4"))
POSTBACKS_DESTINATION_WAIT = float(os.environ.get("POSTBACKS_DESTINATION_WAIT", "1"))
# A trigger whose deliveries have done nothing but fail for this long is deactivated.
POSTBACKS_DEACTIVATE_AFTER = float(os.environ.get("POSTBACKS_DEACTIVATE_AFTER", str(5 * 86400)))
# After a signing secret is rotated, the old one keeps signing alongside for this long.
POSTBACKS_SECRET_ROTATION_OVERLAP = float(
    os.environ.get("POSTBACKS_SECRET_ROTATION_OVERLAP", str(24 * 3600))
)
# Request and response bodies of attempts older than this are dropped by a daily task.
POSTBACKS_BODY_RETENTION_DAYS = int(os.environ.get("POSTBACKS_BODY_RETENTION_DAYS", "90"))
# Networks webhooks may be sent to although they are not public (SSRF protection, see
# delivery.network). Loopback is allowed in development and tests only.
POSTBACKS_ALLOWED_NETWORKS = env_list(
    "POSTBACKS_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128" if DEBUG else ""
)
# Bearer token Prometheus sends to read /metrics (staff logged in to admin may read it too).
POSTBACKS_METRICS_TOKEN = os.environ.get("POSTBACKS_METRICS_TOKEN", "")
# Fernet keys for secrets at rest, comma-separated, newest first (see postbacks_site.encryption).
POSTBACKS_ENCRYPTION_KEYS = env_list("POSTBACKS_ENCRYPTION_KEYS")

# --- REST framework -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["postbacks_site.api.ModelPermissions"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["postbacks_site.api.TokenRateThrottle"],
    # Per API token (per user for a staff session), counted in Django's cache: the default
    # in-memory cache counts per web process.
    "DEFAULT_THROTTLE_RATES": {
        "token": os.environ.get("POSTBACKS_API_RATE", "600/minute"),
        # Actions that send a webhook or an email now: trigger test, send test email.
        "sends": os.environ.get("POSTBACKS_API_SEND_RATE", "10/minute"),
    },
    "EXCEPTION_HANDLER": "postbacks_site.api_errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Postbacks API",
    "DESCRIPTION": (
        "Customers, orders, templates, lookup tables, triggers, workspace settings and the "
        "delivery log of Postbacks. Authenticate with `Authorization: Token <key>` (or a staff "
        "session); permissions are Django's model permissions (`view_` to read). Every error "
        'is `{"errors": {"<field>": ["message"]}}`, with `non_field_errors` for the request as '
        "a whole and `detail` for authentication, permission, not found and throttling."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI's files come from the sidecar package, served by WhiteNoise: the docs work
    # on a network without internet access.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Separate request and response components, so write-only secrets and read-only fields
    # are each described where they apply.
    "COMPONENT_SPLIT_REQUEST": True,
    # Orders and postbacks both have a "status", with different choices: name each set.
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "customers.events.OrderStatus",
        "PostbackStatusEnum": "delivery.models.Postback.Status",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "postbacks_site.api_errors.add_error_responses",
    ],
}

# LOG_FORMAT=json writes one JSON object per line, with the fields of each delivery attempt.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "postbacks_site.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
