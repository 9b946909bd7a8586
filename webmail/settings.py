"""Settings for the webmail project: everything comes from the environment.

See `.env.example` for every variable. Defaults are for development on one
machine (SQLite and a filesystem Celery broker under var/); with DEBUG=false
the process refuses to start on a missing or development secret.
"""

import ipaddress
import os
from datetime import timedelta
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
    # Two-factor login (accounts/twofactor.py): TOTP devices and recovery codes.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "accounts",
    "mailbox",
    "rules",
    "contacts",
    "security",
]

MIDDLEWARE = [
    # First: /healthz answers probes by address and in plain HTTP (webmail/health.py).
    "webmail.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "webmail.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): whether this session passed the second step.
    "django_otp.middleware.OTPMiddleware",
    # Signed-in sessions: last activity (at most every few minutes), a cycled key.
    "security.middleware.SessionActivityMiddleware",
    # After authentication: a logged-in user's language wins over LocaleMiddleware's pick.
    "accounts.middleware.UserLanguageMiddleware",
    # Before anything reads the body: the small limit for all but compose's text.
    "webmail.request_limits.RequestLimitMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # Users with two-factor login reach nothing but the code page until they pass it.
    "accounts.twofactor_middleware.TwoFactorMiddleware",
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
                "accounts.password_reset.context",
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
    # WAL lets the web process read while a worker writes a fetched message. A page
    # cache of 64 MB per connection instead of SQLite's 2 MB: a search that finds a few
    # hundred messages in a mailbox of gigabytes reads their rows from memory
    # (README, Performance: search at 100,000 messages).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA cache_size=-65536;",
            "transaction_mode": "IMMEDIATE",
        }
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
# Sessions end after this many days without use (security/sessions.py): with "Remember
# me" the cookie lasts that long past the last activity, without it the browser session.
# Activity is recorded, and the expiry pushed forward, at most every
# WEBMAIL_SESSION_SEEN_MINUTES (so most requests write nothing).
WEBMAIL_SESSION_IDLE_DAYS = env.int("WEBMAIL_SESSION_IDLE_DAYS", default=14)
if WEBMAIL_SESSION_IDLE_DAYS < 1:
    raise SystemExit("webmail: WEBMAIL_SESSION_IDLE_DAYS must be at least 1.")
SESSION_COOKIE_AGE = WEBMAIL_SESSION_IDLE_DAYS * 24 * 60 * 60
WEBMAIL_SESSION_SEEN_MINUTES = 5
# Days the login history (security.LoginEvent) is kept; older attempts go daily.
WEBMAIL_LOGIN_HISTORY_DAYS = env.int("WEBMAIL_LOGIN_HISTORY_DAYS", default=365)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# The client's address (accounts/client_ip.py): X-Forwarded-For is believed only from
# these proxies (CIDRs, comma-separated; default none), read from the right.
WEBMAIL_TRUSTED_PROXIES = env.list("WEBMAIL_TRUSTED_PROXIES", default=[])
try:
    for _proxy in WEBMAIL_TRUSTED_PROXIES:
        ipaddress.ip_network(_proxy.strip(), strict=False)
except ValueError as exc:
    raise SystemExit(f"webmail: WEBMAIL_TRUSTED_PROXIES: {exc}.") from exc

# Login throttling (django-axes with accounts/login_throttle.py): failures are counted
# per username (from any client) and per client address, separately; either budget
# spent locks that username or that address out until the cool-off has passed. A
# success forgets only that username's failures from that client.
AXES_HANDLER = "accounts.login_throttle.LoginThrottleHandler"
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)  # per username
WEBMAIL_LOGIN_FAILURES_PER_CLIENT = env.int("WEBMAIL_LOGIN_FAILURES_PER_CLIENT", default=20)
# Growing delays: each lock-out of a username within WEBMAIL_LOGIN_COOLOFF_MAX_HOURS
# doubles its next cool-off (15 minutes, 30, 60… up to that maximum).
WEBMAIL_LOGIN_COOLOFF = timedelta(hours=env.float("AXES_COOLOFF_HOURS", default=0.25))
WEBMAIL_LOGIN_COOLOFF_MAX = timedelta(
    hours=env.float("WEBMAIL_LOGIN_COOLOFF_MAX_HOURS", default=24.0)
)
AXES_COOLOFF_TIME = "accounts.login_throttle.cool_off"
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True  # tells the user about failures at the next login
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "accounts.client_ip.client_ip"
AXES_SENSITIVE_PARAMETERS = ["password"]
AXES_VERBOSE = False

# Two-factor login (django-otp, accounts/twofactor.py). A wrong code doubles the wait
# before the next one is even checked (1, 2, 4, 8… seconds, kept on the device, so
# logging in again does not reset it), and counts as a failed login for django-axes.
OTP_TOTP_ISSUER = env.str("WEBMAIL_2FA_ISSUER", default="Webmail")
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # the admin never shows a TOTP secret
# Staff must turn two-factor login on before the admin opens for them.
WEBMAIL_REQUIRE_2FA_FOR_STAFF = env_bool("WEBMAIL_REQUIRE_2FA_FOR_STAFF", default=False)

# System mail, for password reset only: none unless EMAIL_URL is set (django-environ's
# form, e.g. smtp+tls://user:password@smtp.example.com:587). Without it the reset pages
# answer 404 and nothing links to them; administrators reset passwords in the admin.
_email_url = env.str("EMAIL_URL", default="").strip()
WEBMAIL_SYSTEM_MAIL = bool(_email_url)
if _email_url:
    globals().update(env.email_url_config(_email_url))
else:
    EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="webmail@localhost")
PASSWORD_RESET_TIMEOUT = min(env.int("PASSWORD_RESET_TIMEOUT", default=3600), 3600)
# Reset requests per hour: per address asked for (beyond it nothing is sent, the answer
# is the same) and per client address (beyond it a 429 page).
WEBMAIL_PASSWORD_RESET_PER_ADDRESS = env.int("WEBMAIL_PASSWORD_RESET_PER_ADDRESS", default=3)
WEBMAIL_PASSWORD_RESET_PER_CLIENT = env.int("WEBMAIL_PASSWORD_RESET_PER_CLIENT", default=10)
# Counters of rate limits. Several web processes must share one: CACHE_URL=redis://…
CACHES = {"default": env.cache_url_config(env.str("CACHE_URL", default="locmemcache://"))}

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

# Raw messages, attachments and uploads: MEDIA_ROOT on this machine ("filesystem"), or
# an S3-compatible bucket every web and worker machine shares ("s3", django-storages
# with its own setting names; README "Scale"). Objects are named by their sha256.
WEBMAIL_MEDIA_STORAGE = env.str("WEBMAIL_MEDIA_STORAGE", default="filesystem").strip().lower()
if WEBMAIL_MEDIA_STORAGE == "filesystem":
    _MEDIA_BACKEND = "django.core.files.storage.FileSystemStorage"
elif WEBMAIL_MEDIA_STORAGE == "s3":
    _MEDIA_BACKEND = "storages.backends.s3.S3Storage"
    AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="").strip()
    if not AWS_STORAGE_BUCKET_NAME:
        raise SystemExit("webmail: WEBMAIL_MEDIA_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME.")
    # Unset: AWS itself (the region picks the endpoint). MinIO, Ceph…: their URL.
    AWS_S3_ENDPOINT_URL = env.str("AWS_S3_ENDPOINT_URL", default="").strip() or None
    if AWS_S3_ENDPOINT_URL and not AWS_S3_ENDPOINT_URL.startswith(("https://", "http://")):
        raise SystemExit("webmail: AWS_S3_ENDPOINT_URL must start with https:// or http://.")
    AWS_S3_REGION_NAME = env.str("AWS_S3_REGION_NAME", default="").strip() or None
    # Both keys, or neither (boto3 then finds credentials itself: an instance role, ~/.aws).
    AWS_ACCESS_KEY_ID = env.str("AWS_ACCESS_KEY_ID", default="") or None
    AWS_SECRET_ACCESS_KEY = env.str("AWS_SECRET_ACCESS_KEY", default="") or None
    if bool(AWS_ACCESS_KEY_ID) != bool(AWS_SECRET_ACCESS_KEY):
        raise SystemExit(
            "webmail: set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither."
        )
    AWS_DEFAULT_ACL = None  # private objects: downloads go through the views, never a URL
    AWS_QUERYSTRING_AUTH = True
    AWS_S3_FILE_OVERWRITE = True  # content-addressed: one name, one content
    AWS_S3_MAX_MEMORY_SIZE = 2_621_440  # reads past this spool to a temporary file
    from webmail import object_storage  # boto3 only for an S3 deployment

    AWS_S3_CLIENT_CONFIG = object_storage.client_config()
    AWS_S3_TRANSFER_CONFIG = object_storage.transfer_config()
else:
    raise SystemExit(
        f"webmail: WEBMAIL_MEDIA_STORAGE must be filesystem or s3, not {WEBMAIL_MEDIA_STORAGE!r}."
    )
STORAGES = {
    "default": {"BACKEND": _MEDIA_BACKEND},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# How long the admin's System status page waits for Celery workers to answer (seconds).
WEBMAIL_STATUS_INSPECT_TIMEOUT = env.float("WEBMAIL_STATUS_INSPECT_TIMEOUT", default=1.0)

# How often open pages ask whether new mail has arrived (seconds).
WEBMAIL_NEW_MAIL_SECONDS = env.int("WEBMAIL_NEW_MAIL_SECONDS", default=30)
# Mail between local users in seconds (mailbox/polling.py): right after a send, the
# accounts of this instance the mail was accepted for are polled at once when their POP3
# host is the SMTP host that accepted it, or their address is in one of
# WEBMAIL_LOCAL_MAIL_DOMAINS (domains whose mail your own server delivers in seconds).
# At most one such poll per account per WEBMAIL_LOCAL_POLL_SECONDS (0 turns it off).
WEBMAIL_LOCAL_POLL_SECONDS = env.int("WEBMAIL_LOCAL_POLL_SECONDS", default=10)
WEBMAIL_LOCAL_MAIL_DOMAINS = [
    d.strip().lower().rstrip(".") for d in env.list("WEBMAIL_LOCAL_MAIL_DOMAINS", default=[])
]

# Mail limits.
WEBMAIL_MAX_ATTACHMENT_BYTES = env.int("WEBMAIL_MAX_ATTACHMENT_BYTES", default=25 * 1024 * 1024)
WEBMAIL_MAX_MESSAGE_BYTES = env.int("WEBMAIL_MAX_MESSAGE_BYTES", default=50 * 1024 * 1024)
# Largest mbox/.eml/zip upload on the import page, refused while it streams in
# (mailbox.importing.UploadLimit); `manage.py import_mail` has no limit.
WEBMAIL_IMPORT_MAX_BYTES = env.int("WEBMAIL_IMPORT_MAX_BYTES", default=2 * 1024**3)
# Text fields a request may carry: compose (and its autosave) a whole message text, every
# other form and every visitor not logged in WEBMAIL_MAX_FORM_BYTES (webmail/request_limits.py).
WEBMAIL_MAX_FORM_BYTES = env.int("WEBMAIL_MAX_FORM_BYTES", default=2_621_440)
# Forwarding inline quotes at most this much text; a longer message is attached whole.
WEBMAIL_FORWARD_INLINE_MAX_BYTES = env.int("WEBMAIL_FORWARD_INLINE_MAX_BYTES", default=1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = max(WEBMAIL_MAX_MESSAGE_BYTES, WEBMAIL_MAX_FORM_BYTES)

# Abuse limits per user (mailbox/send_limits.py; README "Running in production"), checked
# when a message is queued; an administrator can set others for one user (User admin).
# Messages queued in any 60 minutes, recipients of one message, recipients in any 24 hours
# (rules' forwards and vacation replies count, read receipts do not), and the bytes of a
# user's messages still waiting to be sent (queued, scheduled, retrying).
WEBMAIL_SEND_PER_HOUR = env.int("WEBMAIL_SEND_PER_HOUR", default=100)
WEBMAIL_RECIPIENTS_PER_MESSAGE = env.int("WEBMAIL_RECIPIENTS_PER_MESSAGE", default=100)
WEBMAIL_RECIPIENTS_PER_DAY = env.int("WEBMAIL_RECIPIENTS_PER_DAY", default=1000)
WEBMAIL_MAX_PENDING_BYTES = env.int("WEBMAIL_MAX_PENDING_BYTES", default=200 * 1024 * 1024)
# One download of many messages (a folder, a search, a selection, all mail as mbox or a zip
# of .eml files; a message's "Download all" zip): refused before it starts past these.
# Memory stays flat whatever the size (it streams); the zip's directory spools to disk at
# about 100 bytes a message, which the message count bounds.
WEBMAIL_MAX_EXPORT_BYTES = env.int("WEBMAIL_MAX_EXPORT_BYTES", default=10 * 1024**3)
WEBMAIL_MAX_EXPORT_MESSAGES = env.int("WEBMAIL_MAX_EXPORT_MESSAGES", default=500_000)

# Where users' POP3/SMTP servers may be (mailcore.destinations; README "Running in
# production"): checked on the form, and on the resolved address at every connection.
# WEBMAIL_MAIL_HOSTS: names, *.patterns, addresses and CIDRs users may choose (empty: any
# public address; a listed CIDR also allows its private addresses).
# WEBMAIL_ALLOW_PRIVATE_MAIL_HOSTS: loopback, private, link-local... allowed (never the
# cloud metadata addresses); `make run` (DEBUG) allows them, for devmail on loopback.
# WEBMAIL_MAIL_PORTS: ports allowed besides the mail ports (25, 110, 143, 465, 587, 993,
# 995, 2525), e.g. "1024-65535"; development allows every unprivileged port.
WEBMAIL_MAIL_HOSTS = env.list("WEBMAIL_MAIL_HOSTS", default=[])
WEBMAIL_ALLOW_PRIVATE_MAIL_HOSTS = env_bool("WEBMAIL_ALLOW_PRIVATE_MAIL_HOSTS", default=DEBUG)
WEBMAIL_MAIL_PORTS = env.str("WEBMAIL_MAIL_PORTS", default="1024-65535" if DEBUG else "")
# "Test connection" presses per user in 10 minutes (accounts.views.account_test).
WEBMAIL_CONNECTION_TESTS_PER_10_MINUTES = env.int(
    "WEBMAIL_CONNECTION_TESTS_PER_10_MINUTES", default=10
)


def _check_destination_policy() -> None:
    from mailcore import destinations  # no Django there: safe to import from settings

    try:
        destinations.parse_patterns(WEBMAIL_MAIL_HOSTS)
        destinations.parse_ports(WEBMAIL_MAIL_PORTS)
    except ValueError as exc:
        raise SystemExit(f"webmail: WEBMAIL_MAIL_HOSTS / WEBMAIL_MAIL_PORTS: {exc}.") from None


_check_destination_policy()
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
    # Unreferenced blobs (deleted mail, discarded drafts), past a grace period.
    "gc-blobs": {"task": "mailbox.tasks.gc_blobs", "schedule": 7 * 24 * 3600.0},
    # SQLite only: planner statistics once the mail has grown (mailbox.db_statistics).
    "refresh-database-statistics": {
        "task": "mailbox.tasks.refresh_database_statistics",
        "schedule": 3600.0,
    },
    # Expired sessions (Django's clearsessions) and login history past its keeping time.
    "prune-sessions": {"task": "security.tasks.prune", "schedule": 24 * 3600.0},
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

# One line per record on stderr, as key=value pairs: the `webmail.ops` logger
# (mailbox/oplog.py) writes one line per poll and per delivery attempt (ids, counts,
# bytes, duration, result; no secrets, addresses or message content). Celery's worker
# puts its own prefix before the message (its root logger), the fields stay the same.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "keyvalue": {
            "format": "time=%(asctime)s level=%(levelname)s logger=%(name)s %(message)s",
            "datefmt": "%Y-%m-%dT%H:%M:%S%z",
        },
    },
    "filters": {"hide_task_return_values": {"()": "webmail.logging_filters.HideTaskReturnValues"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "keyvalue"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "webmail.ops": {"level": env.str("WEBMAIL_OPS_LOG_LEVEL", default="INFO")},
        # Celery's "Task … succeeded" line, without the task's return value.
        "celery.app.trace": {"filters": ["hide_task_return_values"]},
    },
}
