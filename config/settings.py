"""Settings for the clinic reservation system.

Every deployment difference is an environment variable (see `.env.example`). A `.env` file next
to `manage.py`, if present, is read first; real environment variables win over it.
"""

import ipaddress
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# ============================================================================ core
DEBUG = env.bool("DEBUG", default=False)

_DEV_SECRET_KEY = "django-insecure-dev-only-do-not-use-in-production"  # noqa: S105
SECRET_KEY = env.str("SECRET_KEY", default="") or (_DEV_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is false.")

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"] if DEBUG else []
)

# Where this development server listens: `make run HOST=... PORT=...` exports both to the web
# server and the worker. In sandbox mode the worker posts the bot's replies to this server's fake
# Graph API, and `seed_demo` prints links to it. 0.0.0.0 (every interface) is reached locally.
SERVER_HOST = env.str("HOST", default="127.0.0.1").strip("[]") or "127.0.0.1"
SERVER_PORT = env.int("PORT", default=8000)
_local_host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(SERVER_HOST, SERVER_HOST)  # noqa: S104
DEV_SERVER_URL = (
    f"http://[{_local_host}]:{SERVER_PORT}"
    if ":" in _local_host
    else f"http://{_local_host}:{SERVER_PORT}"
)
if DEBUG and SERVER_HOST not in {"0.0.0.0", "::"} and ALLOWED_HOSTS:  # noqa: S104
    # The address `make run` serves on is always a valid Host header for it.
    _served = f"[{SERVER_HOST}]" if ":" in SERVER_HOST else SERVER_HOST
    if _served not in ALLOWED_HOSTS and "*" not in ALLOWED_HOSTS:
        ALLOWED_HOSTS.append(_served)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_q",
    "config.apps.AxesConfig",  # django-axes, with a translated name in the admin
    "customers",
    "reservations",
    "messaging",
    # Last: its admin.py re-registers third-party admins, its static/ holds the favicon.
    "config.apps.ProjectConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "config.middleware.MalformedRequestMiddleware",  # NUL bytes, out-of-range values: 400
    "config.middleware.StaffSessionIdleMiddleware",  # STAFF_SESSION_IDLE_MINUTES
    "config.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lockout into its 429 page
]

# Meta's webhook is served with this stack alone (config/handlers.py): no session, user or CSRF.
WEBHOOK_MIDDLEWARE = ["django.middleware.security.SecurityMiddleware"]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# ============================================================================ database
# Embedded SQLite by default, so that a new user needs no server; PostgreSQL in production
# (DATABASE_URL=postgres://user:pass@host:5432/name).
DATABASE_URL = env.str("DATABASE_URL", default="") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server and the worker read while the other writes; IMMEDIATE makes a
    # write transaction take the write lock at BEGIN, so two writers queue instead of failing
    # with "database is locked" half-way through.
    _db.setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    _db["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    _db["CONN_HEALTH_CHECKS"] = True
    # The webhook's insert binds its values on the server (config.db.run_idempotent_statement),
    # so psycopg keeps it prepared: PostgreSQL parses and plans it once per connection, not on
    # every POST. Behind a pooler in transaction mode without prepared statement support
    # (PgBouncer before 1.21), set DATABASE_PREPARED_STATEMENTS=false. Django's own queries
    # bind on the client and are never prepared.
    _db.setdefault("OPTIONS", {})["prepare_threshold"] = (
        5 if env.bool("DATABASE_PREPARED_STATEMENTS", default=True) else None
    )
    # The CSV export streams through a server-side cursor, which lives across statements: a
    # pooler in transaction mode (PgBouncer) may hand the next FETCH to another server
    # connection. There, set DATABASE_SERVER_SIDE_CURSORS=false (Django then reads in chunks).
    _db["DISABLE_SERVER_SIDE_CURSORS"] = not env.bool("DATABASE_SERVER_SIDE_CURSORS", default=True)
    _db.setdefault("TEST", {})["NAME"] = env.str("TEST_DATABASE_NAME", default=None)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ============================================================================ auth
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "home"  # the first staff page the user may open
# Axes first: it refuses a locked-out username+IP before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# ============================================================================ login throttling
# django-axes (config/throttle.py): a login is locked out for AXES_COOLOFF_MINUTES (HTTP 429)
# after AXES_FAILURE_LIMIT wrong passwords for one username from one address, or
# AXES_USERNAME_FAILURE_LIMIT for one username from any addresses; a successful login clears its
# own address's count. Attempts and lockouts are in the admin.
AXES_HANDLER = "config.throttle.LoginThrottle"
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_USERNAME_FAILURE_LIMIT = env.int("AXES_USERNAME_FAILURE_LIMIT", default=20)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_MINUTES", default=15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "username"]
AXES_RESET_ON_SUCCESS = True
# The client address: the direct peer's, unless the peer is one of our proxies
# (TRUSTED_PROXY_NETWORKS; loopback by default, as when gunicorn listens on 127.0.0.1 behind
# nginx); then the address the outermost of TRUSTED_PROXY_COUNT proxies saw, the right-most
# entries of X-Forwarded-For (anything further left is what the client claims). 0: the header
# is ignored.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0 if DEBUG else 1)
TRUSTED_PROXY_NETWORKS = env.list("TRUSTED_PROXY_NETWORKS", default=["127.0.0.0/8", "::1/128"])
AXES_CLIENT_IP_CALLABLE = "config.throttle.client_ip"

# ============================================================================ i18n and time
# The clinic's zone: dates and times meet people in it; the database holds UTC.
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Riyadh")
USE_TZ = True
USE_I18N = True
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="en")
LANGUAGES = [("en", _("English")), ("ar", _("Arabic"))]
# config/locale: the project's own shared strings; config/vendor_locale: Arabic for the strings
# django-q2 ships no Arabic for and the few django-axes' Arabic lacks (these win over the apps').
LOCALE_PATHS = [BASE_DIR / "config" / "locale", BASE_DIR / "config" / "vendor_locale"]
# Region used to read numbers typed without a country code (e.g. 0501234567 in Saudi Arabia).
PHONE_DEFAULT_REGION = env.str("PHONE_DEFAULT_REGION", default="SA")
BUSINESS_NAME = env.str("BUSINESS_NAME", default="Demo Clinic")
# A hand-off to staff keeps the bot silent for the customer this long, unless staff resume it.
BOT_HANDOFF_PAUSE_HOURS = env.float("BOT_HANDOFF_PAUSE_HOURS", default=12)
# Show the Hijri (Umm al-Qura) date beside the Gregorian one in messages to customers.
SHOW_HIJRI_DATES = env.bool("SHOW_HIJRI_DATES", default=False)
# Types of visit customers can book by WhatsApp (0 appointment, 1 follow-up); one skips the step.
BOOKING_TYPES_OFFERED = [int(t) for t in env.list("BOOKING_TYPES_OFFERED", default=["0", "1"])]
# Where the clinic is, sent as a map pin when a customer asks; no latitude, no pin.
BUSINESS_LOCATION_LATITUDE = env.float("BUSINESS_LOCATION_LATITUDE", default=None)
BUSINESS_LOCATION_LONGITUDE = env.float("BUSINESS_LOCATION_LONGITUDE", default=None)
BUSINESS_LOCATION_NAME = env.str("BUSINESS_LOCATION_NAME", default="")
BUSINESS_LOCATION_ADDRESS = env.str("BUSINESS_LOCATION_ADDRESS", default="")

# ============================================================================ static files
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]  # the site's own CSS; each app keeps its own in static/
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# ============================================================================ security
# Behind a TLS-terminating proxy in production; all of it is off while DEBUG is on.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Scripts, styles, images, polls and forms from this origin only: no inline script, style or event
# handler on the staff pages or the admin (config.middleware.ContentSecurityPolicyMiddleware).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# Staff sessions suit a shared front-desk PC: they end after STAFF_SESSION_IDLE_MINUTES without a
# page view or form (the pages' background polls do not count; 0 = no idle limit), when the
# browser closes, and at the latest STAFF_SESSION_MAX_HOURS after the last activity.
STAFF_SESSION_IDLE_MINUTES = env.int("STAFF_SESSION_IDLE_MINUTES", default=30)
SESSION_COOKIE_AGE = int(env.float("STAFF_SESSION_MAX_HOURS", default=12) * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = env.bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", default=True)
# Webhook bodies may be up to 3 MB (Meta); refuse anything larger before reading it.
DATA_UPLOAD_MAX_MEMORY_SIZE = 3 * 1024 * 1024
SILENCED_SYSTEM_CHECKS = env.list("SILENCED_SYSTEM_CHECKS", default=[])

# ============================================================================ WhatsApp
WHATSAPP_VERIFY_TOKEN = env.str("WHATSAPP_VERIFY_TOKEN", default="")
WHATSAPP_APP_SECRET = env.str("WHATSAPP_APP_SECRET", default="")
WHATSAPP_ACCESS_TOKEN = env.str("WHATSAPP_ACCESS_TOKEN", default="")
WHATSAPP_PHONE_NUMBER_ID = env.str("WHATSAPP_PHONE_NUMBER_ID", default="")
# The local stand-in for the Cloud API (/sandbox/): for development and demos only.
WHATSAPP_SANDBOX = env.bool("WHATSAPP_SANDBOX", default=False)
if WHATSAPP_SANDBOX and not DEBUG:
    raise ImproperlyConfigured("WHATSAPP_SANDBOX=true is only allowed with DEBUG=true.")
# Unset: Meta's, or with the sandbox on, this server's fake Graph API (on whatever PORT it runs).
WHATSAPP_API_BASE_URL = (
    env.str("WHATSAPP_API_BASE_URL", default="")
    or (
        f"{DEV_SERVER_URL}/sandbox/graph/v23.0"
        if WHATSAPP_SANDBOX
        else "https://graph.facebook.com/v23.0"
    )
).rstrip("/")
# Meta's per-number throughput (80/s by default, 1000/s after an upgrade, 20/s in coexistence);
# held across every process and machine by a counter row in the database. Messages only: the
# read receipts and typing indicators are not counted (delivery.mark_read).
WHATSAPP_MAX_MESSAGES_PER_SECOND = env.int("WHATSAPP_MAX_MESSAGES_PER_SECOND", default=80)
# The approved template sent when the 24-hour window is closed; it invites the customer to write.
WHATSAPP_REENGAGEMENT_TEMPLATE = env.str("WHATSAPP_REENGAGEMENT_TEMPLATE", default="reengagement")
WHATSAPP_REENGAGEMENT_LANGUAGE = env.str("WHATSAPP_REENGAGEMENT_LANGUAGE", default="en")
# Inbound queue: tries per message before it is marked failed, and how long a worker's claim
# lasts before the sweep takes the message back (above Q_TIMEOUT, so a live task is never robbed).
WHATSAPP_INBOUND_MAX_ATTEMPTS = env.int("WHATSAPP_INBOUND_MAX_ATTEMPTS", default=5)
WHATSAPP_CLAIM_TIMEOUT_SECONDS = env.int("WHATSAPP_CLAIM_TIMEOUT_SECONDS", default=120)

# ============================================================================ language model
# Optional, off by default: a text the rules cannot place is read by a model behind an
# OpenAI-compatible Chat Completions API (OpenAI, Azure OpenAI's /openai/v1, Ollama, vLLM, a
# llama.cpp server). It gets the text only (no number, no name) and answers with a structured
# reading the bot checks; it never books and never writes to a customer. All three must be set.
LLM_BASE_URL = env.str("LLM_BASE_URL", default="").rstrip("/")
LLM_API_KEY = env.str("LLM_API_KEY", default="")
LLM_MODEL = env.str("LLM_MODEL", default="")
# A slower answer is dropped and the bot answers as without a model.
LLM_TIMEOUT_SECONDS = env.float("LLM_TIMEOUT_SECONDS", default=5.0)
# Requests per clinic day, counted in the database across every worker; then the rules alone.
LLM_DAILY_BUDGET = env.int("LLM_DAILY_BUDGET", default=500)

# ========================================================================= reminders and vacations
# The reminder the day before, at this clinic-local time ("" = none).
REMINDER_DAY_BEFORE_AT = env.str("REMINDER_DAY_BEFORE_AT", default="19:00")
# A second reminder this many hours before the appointment (empty = none).
_hours_before = env.str("REMINDER_HOURS_BEFORE", default="")
REMINDER_HOURS_BEFORE = float(_hours_before) if _hours_before else None
# Clinic-local hours when no reminder goes; a due one waits for their end ("" = none).
REMINDER_QUIET_HOURS = env.str("REMINDER_QUIET_HOURS", default="22:00-08:00")
# A reminder that could only go later than this before the appointment is dropped instead.
REMINDER_MIN_NOTICE_MINUTES = env.int("REMINDER_MIN_NOTICE_MINUTES", default=60)
# Approved templates per customer language: "en=name:code,ar=name:code". Body parameters: the
# business, the day, the time; quick replies: Confirm, Cancel, Reschedule.
REMINDER_TEMPLATES = env.dict(
    "REMINDER_TEMPLATES", default={"en": "appointment_reminder:en", "ar": "appointment_reminder:ar"}
)
# A customer who writes during a vacation gets the notice once per "vacation" or once per "day".
VACATION_NOTICE_ONCE_PER = env.str("VACATION_NOTICE_ONCE_PER", default="vacation")
if VACATION_NOTICE_ONCE_PER not in {"vacation", "day"}:
    raise ImproperlyConfigured('VACATION_NOTICE_ONCE_PER must be "vacation" or "day".')
# After the notice the bot goes on (booking dates after the reopening) or stays quiet.
VACATION_ALLOW_BOOKING_AFTER = env.bool("VACATION_ALLOW_BOOKING_AFTER", default=True)
# Templates telling customers a vacation falls on their appointment (parameters: the business,
# the appointment's day, the reopening day; quick reply: Reschedule). Same format as above.
VACATION_NOTICE_TEMPLATES = env.dict(
    "VACATION_NOTICE_TEMPLATES", default={"en": "vacation_notice:en", "ar": "vacation_notice:ar"}
)
# Templates telling customers that staff booked, moved or cancelled their appointment, used
# outside the 24-hour window (inside it a text goes). Parameters: the business, the service, the
# practitioner (or the business), the day, the time; the cancellation has no practitioner.
BOOKED_NOTICE_TEMPLATES = env.dict(
    "BOOKED_NOTICE_TEMPLATES",
    default={"en": "appointment_booked:en", "ar": "appointment_booked:ar"},
)
MOVED_NOTICE_TEMPLATES = env.dict(
    "MOVED_NOTICE_TEMPLATES", default={"en": "appointment_moved:en", "ar": "appointment_moved:ar"}
)
CANCELLED_NOTICE_TEMPLATES = env.dict(
    "CANCELLED_NOTICE_TEMPLATES",
    default={"en": "appointment_cancelled:en", "ar": "appointment_cancelled:ar"},
)
# What the staff pages call to tell a customer of a change (kept a setting so that
# `reservations` never imports `messaging`): f(*, reservation, change) with change one of
# "booked", "moved", "cancelled".
RESERVATION_CHANGE_NOTIFIER = "messaging.reservation_notices.notify_reservation_change"
# ============================================================================ privacy
# Conversation rows (and done inbound payloads) older than this many days are anonymised (body
# and payload blanked; role, date, time and status kept so counts stay) or deleted, daily.
# 0 keeps everything.
CONVERSATION_RETENTION_DAYS = env.int("CONVERSATION_RETENTION_DAYS", default=365)
CONVERSATION_RETENTION_MODE = env.str("CONVERSATION_RETENTION_MODE", default="anonymise")
if CONVERSATION_RETENTION_MODE not in ("anonymise", "delete"):
    raise ImproperlyConfigured('CONVERSATION_RETENTION_MODE must be "anonymise" or "delete".')

# ============================================================================ django-q2
# Configured on purpose (see README, "Background worker"):
# - the ORM broker runs on SQLite and PostgreSQL with no other server;
# - `timeout` < `retry`, so a task is never handed to a second worker while the first still runs;
# - `max_attempts` is bounded (the default, 0, retries a failing task forever); our own queue
#   table counts attempts and backs off, so django-q2 itself tries once;
# - `save_limit=-1` stores no successful tasks: the queue tables are the record, and the default
#   bookkeeping (a count and a delete per task) caps the ORM broker at ~100-130 tasks/s;
# - `bulk` lets a worker pull several tasks per broker round trip.
Q_CLUSTER = {
    "name": env.str("Q_CLUSTER_NAME", default="clinic"),
    "orm": "default",
    "workers": env.int("Q_WORKERS", default=2),
    "recycle": 500,
    "timeout": env.int("Q_TIMEOUT", default=60),
    "retry": env.int("Q_RETRY", default=90),
    "max_attempts": env.int("Q_MAX_ATTEMPTS", default=1),
    "save_limit": env.int("Q_SAVE_LIMIT", default=-1),
    "ack_failures": True,
    "bulk": env.int("Q_BULK", default=10),
    "poll": env.float("Q_POLL", default=0.2),
    "catch_up": False,
    "queue_limit": 100,
    "label": _("Background tasks"),  # django-q2's name in the admin
}
# Redis instead (README, "Background worker": when to switch): django-q2 keeps its queue in the
# list `django_q:<Q_CLUSTER_NAME>:q` of this URL's database, so deployments sharing one Redis
# server need their own database number or cluster name. Redis hands each task out once (no
# `retry`): a task lost with a killed worker is found again by the sweep, like any lost task.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    try:
        import redis  # noqa: F401
    except ImportError as exc:
        raise ImproperlyConfigured(
            "REDIS_URL is set but the redis client is not installed: pip install '.[redis]'"
        ) from exc
    Q_CLUSTER.pop("orm")
    Q_CLUSTER["redis"] = REDIS_URL
if Q_CLUSTER["timeout"] >= Q_CLUSTER["retry"]:
    raise ImproperlyConfigured("Q_TIMEOUT must be lower than Q_RETRY.")

# ============================================================================ staff pages
# The secret in the staff calendar feed's URL (/schedule/calendar/<token>/schedule.ics); empty
# turns the feed off. Use a long random value: anyone with the URL can read the schedule.
ICAL_FEED_TOKEN = env.str("ICAL_FEED_TOKEN", default="")
# Notification events older than this are deleted by a scheduled job (in bounded batches).
NOTIFICATION_EVENTS_RETENTION_DAYS = env.int("NOTIFICATION_EVENTS_RETENTION_DAYS", default=180)

# ============================================================================ health and metrics
# For load balancers and Prometheus (README, "Health checks and metrics"). /healthz: the process
# answers. /readyz: the database answers, a worker ran its heartbeat task (every minute) within
# HEALTH_MAX_HEARTBEAT_AGE_SECONDS, and the oldest due inbound message has waited less than
# HEALTH_MAX_QUEUE_LAG_SECONDS; 503 otherwise.
HEALTH_MAX_HEARTBEAT_AGE_SECONDS = env.int("HEALTH_MAX_HEARTBEAT_AGE_SECONDS", default=180)
HEALTH_MAX_QUEUE_LAG_SECONDS = env.int("HEALTH_MAX_QUEUE_LAG_SECONDS", default=120)
# /metrics answers a request bearing METRICS_TOKEN ("Authorization: Bearer <token>"; empty: no
# token works) or coming from these networks (the client's address as TRUSTED_PROXY_COUNT reads
# it, so a proxy on this machine does not make every visitor local). Default: loopback only.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
try:
    METRICS_ALLOWED_NETWORKS = [
        ipaddress.ip_network(net, strict=False)
        for net in env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"])
    ]
except ValueError as exc:
    raise ImproperlyConfigured(f"METRICS_ALLOWED_NETWORKS: {exc}") from exc
# Probes come by address from inside (a load balancer, Prometheus), not through the https proxy.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

# ============================================================================ logging
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Defence in depth: no code logs a secret or a message body, and this filter masks the
    # configured secrets (tokens, app secret, SECRET_KEY, database password) and phone numbers.
    # A 403, 404 or 400 is logged as one line, without the traceback Django attaches.
    "filters": {
        "redact_secrets": {"()": "config.redaction.RedactSecretsFilter"},
        "client_errors_in_one_line": {"()": "config.logfilters.ClientErrorsInOneLine"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["client_errors_in_one_line", "redact_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django-q": {"level": env.str("Q_LOG_LEVEL", default="INFO"), "propagate": True},
        # Lockouts are warnings; every login's bookkeeping at INFO is noise.
        "axes": {"level": env.str("AXES_LOG_LEVEL", default="WARNING"), "propagate": True},
    },
}
