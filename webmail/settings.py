"""Settings for the webmail project: everything comes from the environment.

See `.env.example` for every variable. Defaults are for development on one
machine (SQLite and a filesystem Celery broker under var/); with DEBUG=false
the process refuses to start on a missing or development secret.
"""

import os
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# Variables already in the environment win over the file. WEBMAIL_ENV_FILE=""
# reads no file (the test suite does that, so a developer's .env cannot change it).
_env_file = os.environ.get("WEBMAIL_ENV_FILE", str(BASE_DIR / ".env"))
if _env_file and os.path.isfile(_env_file):
    environ.Env.read_env(_env_file)

_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}


def env_bool(name: str, default: bool) -> bool:
    """A strict boolean: anything but true/false (and synonyms) stops the process."""
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise SystemExit(f"webmail: {name} must be true or false, not {raw!r}.")


DEBUG = env_bool("DEBUG", default=False)

# Placeholders that only development may use: with DEBUG=false they are refused.
DEV_SECRET_KEY = "django-insecure-development-only-do-not-use-in-production"
DEV_ENCRYPTION_KEY = "ZGV2ZWxvcG1lbnQtb25seS1rZXktMzItYnl0ZXMhISE="


def _require_secret(name: str, value: str, placeholder: str) -> str:
    if DEBUG:
        return value or placeholder
    if not value or value == placeholder:
        # One clear line, then stop: a production process must never run on a
        # guessable key.
        raise SystemExit(
            f"webmail: set the {name} environment variable "
            "(DEBUG=false refuses a missing or development value)."
        )
    return value


SECRET_KEY = _require_secret("SECRET_KEY", env.str("SECRET_KEY", default=""), DEV_SECRET_KEY)

# Fernet keys for mail passwords at rest. The first key encrypts; every key
# decrypts, so rotation is "prepend a new key, re-save, drop the old one".
_encryption_keys = env.list("WEBMAIL_ENCRYPTION_KEYS", default=[]) or [
    k for k in [env.str("WEBMAIL_ENCRYPTION_KEY", default="")] if k
]
WEBMAIL_ENCRYPTION_KEYS = [
    _require_secret("WEBMAIL_ENCRYPTION_KEYS", key, DEV_ENCRYPTION_KEY)
    for key in (_encryption_keys or [""])
]

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "csp",
    "axes",
    "django_htmx",
    "accounts",
    "mailbox",
    "rules",
    "contacts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "webmail.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: a logged-in user's language wins over LocaleMiddleware's pick.
    "accounts.middleware.UserLanguageMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "accounts.middleware.UserTimeZoneMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: it turns locked-out logins into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "webmail.urls"
WSGI_APPLICATION = "webmail.wsgi.application"

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
                "mailbox.pages.nav_context",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url_config(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
    ),
}
# Persistent connections: a new PostgreSQL connection costs ~3 ms and a server
# process, which every Celery task and web request would otherwise pay.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while a worker writes a fetched message.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login throttling (django-axes): lock a username+IP pair, and an IP on its own,
# after a few failures; the lock lifts by itself.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]
AXES_SENSITIVE_PARAMETERS = ["password"]
AXES_VERBOSE = False

LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="en-us")
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
# The interface speaks English and Korean; the browser's Accept-Language picks one.
LANGUAGES = [("en", "English"), ("ko", "한국어")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# The login page's language switch (Django's set_language) and the preferences page set
# this cookie; only the server reads it.
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_AGE = 365 * 24 * 60 * 60  # a year, not the browser session
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=VAR_DIR / "static")
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
MEDIA_URL = "/media/"  # never served directly: downloads go through views
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# How often open pages ask whether new mail has arrived (seconds).
WEBMAIL_NEW_MAIL_SECONDS = env.int("WEBMAIL_NEW_MAIL_SECONDS", default=30)

# Mail limits.
WEBMAIL_MAX_ATTACHMENT_BYTES = env.int("WEBMAIL_MAX_ATTACHMENT_BYTES", default=25 * 1024 * 1024)
WEBMAIL_MAX_MESSAGE_BYTES = env.int("WEBMAIL_MAX_MESSAGE_BYTES", default=50 * 1024 * 1024)
# Largest mbox/.eml/zip upload on the import page, refused while it streams in
# (mailbox.importing.UploadLimit); `manage.py import_mail` has no limit.
WEBMAIL_IMPORT_MAX_BYTES = env.int("WEBMAIL_IMPORT_MAX_BYTES", default=2 * 1024**3)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# Celery. The default broker is kombu's filesystem transport under var/, so a
# fresh clone runs without Redis; production uses redis://.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "filesystem://"
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = Path(env.str("CELERY_BROKER_FOLDER", default=str(VAR_DIR / "celery" / "queue")))
    os.makedirs(_queue_dir, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "control_folder": str(_queue_dir.parent / "control"),
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True  # outcomes are recorded on our own rows
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Keeps Celery from closing database connections around each task; webmail/celery.py
# applies CONN_MAX_AGE and health checks instead, as Django does per request.
CELERY_DB_REUSE_MAX = 1_000_000
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "dispatch-polls": {"task": "mailbox.tasks.dispatch_polls", "schedule": 60.0},
    "sweep-outbox": {"task": "mailbox.tasks.sweep_outbox", "schedule": 60.0},
    # Snoozed mail is woken from the database's state: a restart or a missed run only
    # delays it to the next minute.
    "wake-snoozed": {"task": "mailbox.tasks.wake_snoozed", "schedule": 60.0},
}

# Production hardening; `manage.py check --deploy` is clean with DEBUG=false
# behind TLS (see README).
SECURE_CONTENT_TYPE_NOSNIFF = True
# "same-origin", not "no-referrer": with no-referrer browsers send `Origin: null`
# on form posts (Fetch spec), which Django's CSRF check over HTTPS must refuse.
# Nothing leaks to other sites either way; message bodies, downloads and links
# get no-referrer of their own.
SECURE_REFERRER_POLICY = "same-origin"
# App pages: our own scripts and styles only, no inline script. The message body
# document sets a stricter policy of its own (mailbox.views.message_body).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "frame-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
X_FRAME_OPTIONS = "DENY"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# webmail.middleware.PermissionsPolicyMiddleware: features no page may use.
PERMISSIONS_POLICY_DENY = ("camera", "microphone", "geolocation", "payment", "usb")
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=not DEBUG)
# Over HTTPS the cookies are host-only, Secure and for the whole site, and their
# `__Host-` names make browsers refuse any that a subdomain or plain HTTP tried to set.
if SESSION_COOKIE_SECURE:
    SESSION_COOKIE_NAME = "__Host-sessionid"
if CSRF_COOKIE_SECURE:
    CSRF_COOKIE_NAME = "__Host-csrftoken"
CSRF_FAILURE_VIEW = "webmail.views.csrf_failure"  # says which of cookies or Referer to allow
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
if env_bool("USE_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
