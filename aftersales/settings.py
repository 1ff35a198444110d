"""Settings for aftersales: every knob comes from the environment (see README "Settings").

Embedded defaults run the whole product on one machine with no servers: SQLite under var/ and a
Celery broker on SQLite through kombu's SQLAlchemy transport. DATABASE_URL and CELERY_BROKER_URL
move the same code onto PostgreSQL and Redis.
"""

import os
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
# A checkout's local settings file (the Makefile writes one holding a generated SECRET_KEY, so
# `manage.py` works there); variables already in the environment win over it.
ENV_FILE = Path(env.str("ENV_FILE", default=str(BASE_DIR / ".env")))
if ENV_FILE.is_file():
    environ.Env.read_env(ENV_FILE)
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    # the shared core
    "aftersales.common",
    "aftersales.accounts",
    "aftersales.orders",
    "aftersales.cases",
    "aftersales.finance",
    "aftersales.insight",
    # feature apps
    "returns",
    "warranty",
    "priceprotect",
    "techsupport",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "aftersales.common.middleware.RequestSizeLimitMiddleware",  # before anything reads the body
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): a TOTP code was entered
    "aftersales.accounts.middleware.StaffTwoFactorMiddleware",
    "aftersales.accounts.middleware.UserLanguageMiddleware",  # after auth: the profile's language wins
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out login into the lockout page
]

ROOT_URLCONF = "aftersales.urls"
WSGI_APPLICATION = "aftersales.wsgi.application"

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
                "aftersales.common.context_processors.shop",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env.str("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'aftersales.sqlite3'}")
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
# A kept connection is checked before a request reuses it, so a database restart costs no failed request.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = DATABASES["default"]["CONN_MAX_AGE"] != 0
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers work while a writer commits; IMMEDIATE takes the write lock at BEGIN so
        # two writers queue on busy_timeout instead of failing with "database is locked" mid-way.
        "transaction_mode": "IMMEDIATE",
        "timeout": env.int("SQLITE_BUSY_TIMEOUT_SECONDS", default=20),
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
    # A file, not :memory:, so a real Celery worker started by a test sees the test database;
    # one per test process, so two test runs on one machine never share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-aftersales-{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Drawn insight charts (and other derived text) are cached here: in each process by default, shared in
# production (docker-compose.yml: Redis, e.g. redis://127.0.0.1:6379/1).
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}
# Connect and read timeout of each call to Redis (the cache here, the broker below): a Redis that hangs
# (stopped, unreachable) costs a request a few seconds and a logged error, never a request held forever.
REDIS_TIMEOUT_SECONDS = env.float("REDIS_TIMEOUT_SECONDS", default=2.0)
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    CACHES["default"].setdefault("OPTIONS", {}).update(
        socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
    )

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "login"
# django-axes first: it refuses a locked-out (account, IP) before the password is even checked.
AUTHENTICATION_BACKENDS = ["aftersales.accounts.backends.LockoutBackend", "django.contrib.auth.backends.ModelBackend"]

# --- Abuse protection (README "Accounts security") ------------------------------------------------
# Links e-mailed to verify a new account or reset a password work once, for this many hours.
PASSWORD_RESET_TIMEOUT = env.int("ACCOUNT_LINK_HOURS", default=24) * 3600
# Rate limits ("N/period", period s, m, h or d, e.g. "10/5m"), counted in the cache (CACHES: shared by
# every process when CACHE_URL is Redis). Login: per IP and per account (portal, dashboard, API token);
# register and password reset: per IP and per e-mail; case creation and price-protection claims: per customer.
RATELIMIT_ENABLED = env.bool("RATELIMIT_ENABLED", default=True)
RATELIMIT_LOGIN = env.str("RATELIMIT_LOGIN", default="10/5m")
RATELIMIT_REGISTER = env.str("RATELIMIT_REGISTER", default="5/h")
RATELIMIT_PASSWORD_RESET = env.str("RATELIMIT_PASSWORD_RESET", default="5/h")
RATELIMIT_CASE_CREATE = env.str("RATELIMIT_CASE_CREATE", default="20/h")
RATELIMIT_CLAIM = env.str("RATELIMIT_CLAIM", default="10/h")
# Behind a proxy the client's address is in a header, e.g. HTTP_X_REAL_IP (the proxy must set it).
RATELIMIT_IP_META_KEY = env.str("RATELIMIT_IP_META_KEY", default="REMOTE_ADDR")
# Lockout (django-axes): this many failed logins of one account from one IP lock that pair out for the
# cool-off; other IPs (the account's owner) still log in, and staff unlock from the dashboard
# (Axes › Access attempts › delete).
AXES_ENABLED = env.bool("LOGIN_LOCKOUT_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("LOGIN_LOCKOUT_FAILURES", default=5)
AXES_COOLOFF_TIME = env.float("LOGIN_LOCKOUT_MINUTES", default=30.0) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # failures are kept (AccessAttempt); not a row per successful login
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
AXES_CLIENT_IP_CALLABLE = "aftersales.accounts.security.client_ip"
AXES_USERNAME_CALLABLE = "aftersales.accounts.security.login_username"
# Staff (is_staff) confirm every login with a TOTP code (django-otp) before any page but the code's own.
STAFF_TWO_FACTOR = env.bool("STAFF_TWO_FACTOR", default=True)
# The dashboard never shows a TOTP secret or its QR code: a device is enrolled only by its owner.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="") or env.str("SHOP_NAME", default="Demo Shop")

# --- Language, time, money -------------------------------------------------------------------
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="en")
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True
SHOP_NAME = env.str("SHOP_NAME", default="Demo Shop")
SHOP_CURRENCY = env.str("SHOP_CURRENCY", default="CNY")
# How long a coupon issued without an explicit expiry stays valid (refunds paid as a coupon, R-FIN-2).
LEDGER_COUPON_VALID_DAYS = env.int("LEDGER_COUPON_VALID_DAYS", default=90)
# Where customers reach the portal: links in e-mails are absolute.
PORTAL_URL = env.str("PORTAL_URL", default="http://127.0.0.1:8000").rstrip("/")
# Printed on return labels; "\n" separates its lines.
SHOP_RETURN_ADDRESS = env.str("SHOP_RETURN_ADDRESS", default="").replace("\\n", "\n")
# Working hours of a business day, for business-hour arithmetic (SLA clocks): "HH:MM-HH:MM,...".
BUSINESS_HOURS = env.str("BUSINESS_HOURS", default="09:00-12:00,13:30-18:00")
# R-FB-1: a rating at or below this (1–5) reopens the case where its kind can, or opens a supervisor
# follow-up task due one business day later; 0 turns both off.
FEEDBACK_LOW_RATING = env.int("FEEDBACK_LOW_RATING", default=2)
if not 0 <= FEEDBACK_LOW_RATING <= 5:
    raise ImproperlyConfigured("FEEDBACK_LOW_RATING must be between 0 (off) and 5.")

# --- Static and uploaded files ---------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns at start-up if it is missing
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Before collectstatic has run (tests, first start) fall back to unhashed names.
WHITENOISE_MANIFEST_STRICT = False
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "media/"
# Case attachments live outside MEDIA_ROOT's public URL and are served only through a view that
# checks who is asking.
PRIVATE_MEDIA_ROOT = Path(env.str("PRIVATE_MEDIA_ROOT", default=str(VAR_DIR / "private")))
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
ATTACHMENT_MAX_PER_CASE = env.int("ATTACHMENT_MAX_PER_CASE", default=12)
ATTACHMENT_MAX_PIXELS = env.int("ATTACHMENT_MAX_PIXELS", default=40_000_000)
# How long a closed case's evidence files (photos, inspection reports) are kept, in days; 0 keeps them
# forever. Three years by default: China's E-Commerce Law (art. 31) has shops keep transaction records at
# least three years after completion, and evidence is what a later dispute over an after-sales case needs.
EVIDENCE_RETENTION_DAYS = env.int("EVIDENCE_RETENTION_DAYS", default=3 * 365)
EVIDENCE_PURGE_BATCH_SIZE = env.int("EVIDENCE_PURGE_BATCH_SIZE", default=500)
DATA_UPLOAD_MAX_MEMORY_SIZE = ATTACHMENT_MAX_BYTES + 1024 * 1024
# The whole request body: a form may carry a case's worth of photos plus an inspection report; larger is a 413.
REQUEST_MAX_BYTES = env.int(
    "REQUEST_MAX_BYTES", default=ATTACHMENT_MAX_BYTES * (ATTACHMENT_MAX_PER_CASE + 1) + 1024 * 1024
)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# --- E-mail ----------------------------------------------------------------------------------
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="aftersales@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Support e-mail (techsupport.mail): the mailbox customers write to (Reply-To of ticket replies), and
# where the intake reads it: imap://user:password@host:143/INBOX, imaps://… (TLS) or imap+starttls://…;
# empty: no intake. Mail that fails this many fetches in a row is flagged and left for a person.
SUPPORT_EMAIL_ADDRESS = env.str("SUPPORT_EMAIL_ADDRESS", default="") or DEFAULT_FROM_EMAIL
SUPPORT_IMAP_URL = env.str("SUPPORT_IMAP_URL", default="")
SUPPORT_MAIL_INTERVAL_SECONDS = env.float("SUPPORT_MAIL_INTERVAL_SECONDS", default=60.0)
SUPPORT_MAIL_MAX_FAILURES = env.int("SUPPORT_MAIL_MAX_FAILURES", default=3)

# --- Celery ----------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=f"sqla+sqlite:///{VAR_DIR / 'celery-broker.sqlite3'}")
# Publishing after commit: one retry, 0.2 s later, then the enqueue is logged as failed and the sweeps do
# the work (aftersales.common.queueing). Celery's default, 3 retries, made a request wait four times
# REDIS_TIMEOUT_SECONDS on a Redis that hangs.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0.2, "interval_step": 0.2, "interval_max": 0.2}
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Each call to a Redis that hangs waits this long at most.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_timeout": REDIS_TIMEOUT_SECONDS,
        "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
    }
# Celery closes the database connection after every task unless told to reuse it; aftersales.celery
# closes old or broken ones around each task instead, as Django does around each request.
CELERY_DB_REUSE_MAX = 10**9
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # a worker killed mid-task leaves the message for another worker
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = env.str("CELERY_BEAT_SCHEDULE_FILENAME", default=str(VAR_DIR / "celerybeat-schedule"))
DEADLINE_SWEEP_INTERVAL_SECONDS = env.float("DEADLINE_SWEEP_INTERVAL_SECONDS", default=60.0)
DEADLINE_SWEEP_BATCH_SIZE = env.int("DEADLINE_SWEEP_BATCH_SIZE", default=5000)
# Notification and ticket e-mails whose task never reached the broker (it was down) are sent by a sweep
# this often (one younger than this is left to its own task).
NOTIFICATION_EMAIL_SWEEP_INTERVAL_SECONDS = env.float("NOTIFICATION_EMAIL_SWEEP_INTERVAL_SECONDS", default=60.0)
# Price protection: how often prices recorded ahead of time are checked for taking effect (R-PP).
PRICE_DROP_SWEEP_INTERVAL_SECONDS = env.float("PRICE_DROP_SWEEP_INTERVAL_SECONDS", default=600.0)
WEEKLY_SUMMARY_HOUR = env.int("WEEKLY_SUMMARY_HOUR", default=8)
CELERY_BEAT_SCHEDULE = {
    "sweep-case-deadlines": {
        "task": "aftersales.cases.tasks.sweep_deadlines",
        "schedule": DEADLINE_SWEEP_INTERVAL_SECONDS,
    },
    # Evidence retention: attachment files of cases closed longer than EVIDENCE_RETENTION_DAYS.
    "purge-expired-evidence": {
        "task": "aftersales.cases.tasks.purge_expired_evidence",
        "schedule": crontab(hour=3, minute=40),
    },
    "send-unsent-notification-emails": {
        "task": "aftersales.cases.tasks.send_unsent_notification_emails",
        "schedule": NOTIFICATION_EMAIL_SWEEP_INTERVAL_SECONDS,
    },
    "send-unsent-ticket-mail": {
        "task": "techsupport.tasks.send_unsent_ticket_mail",
        "schedule": NOTIFICATION_EMAIL_SWEEP_INTERVAL_SECONDS,
    },
    "check-business-calendar": {
        "task": "aftersales.cases.tasks.check_business_calendar",
        "schedule": 6 * 3600.0,
    },
    "reconcile-refunds": {
        "task": "aftersales.finance.tasks.reconcile_yesterday",
        "schedule": crontab(hour=2, minute=30),  # the shop's time zone (CELERY_TIMEZONE)
    },
    "sweep-refunds": {
        "task": "aftersales.finance.tasks.sweep_refunds",
        "schedule": env.float("REFUND_SWEEP_INTERVAL_SECONDS", default=60.0),
    },
    "sweep-webhooks": {
        "task": "aftersales.orders.tasks.sweep_webhooks",
        "schedule": env.float("WEBHOOK_SWEEP_INTERVAL_SECONDS", default=60.0),
    },
    "remind-expiring-warranties": {
        "task": "warranty.tasks.remind_expiring_warranties",
        "schedule": crontab(hour=10, minute=0),
    },
    "sweep-prices-taking-effect": {
        "task": "priceprotect.tasks.sweep_prices_taking_effect",
        "schedule": PRICE_DROP_SWEEP_INTERVAL_SECONDS,
    },
    # R-FB-2: the insight page's units sold per product and day: the days ended since the last run, and
    # those whose orders changed since (the page reads them from the order lines until then).
    "roll-up-daily-sales": {
        "task": "aftersales.insight.tasks.roll_up_daily_sales",
        "schedule": crontab(minute=20),
    },
    # R-FB-2: last week's figures to supervisors, Monday morning in the shop's time zone.
    "send-weekly-summaries": {
        "task": "aftersales.insight.tasks.send_weekly_summaries",
        "schedule": crontab(day_of_week="mon", hour=WEEKLY_SUMMARY_HOUR, minute=0),
    },
}
if SUPPORT_IMAP_URL:
    CELERY_BEAT_SCHEDULE["fetch-support-mail"] = {
        "task": "techsupport.tasks.fetch_support_mail",
        "schedule": SUPPORT_MAIL_INTERVAL_SECONDS,
    }
# Refund execution (R-FIN-4): retries back off from this many seconds (doubling, at most an hour);
# after this many attempts a refund that still cannot be settled is failed for finance; a refund
# "processing" this long had its worker die and is taken again (same idempotency key).
REFUND_RETRY_BASE_SECONDS = env.float("REFUND_RETRY_BASE_SECONDS", default=30.0)
REFUND_MAX_ATTEMPTS = env.int("REFUND_MAX_ATTEMPTS", default=8)
# A refund paid in points gets this many points per unit of the shop's currency (100 points = 1 CNY).
REFUND_POINTS_PER_CURRENCY_UNIT = env.int("REFUND_POINTS_PER_CURRENCY_UNIT", default=100)
REFUND_PROCESSING_STALE_SECONDS = env.float("REFUND_PROCESSING_STALE_SECONDS", default=300.0)

# --- Payment gateway -------------------------------------------------------------------------
# Which provider pays refunds (a key of aftersales.finance.gateways.GATEWAYS). "sandbox" is the
# provider we own, a separate process (`make run` starts it on port 8010).
PAYMENT_GATEWAY = env.str("PAYMENT_GATEWAY", default="sandbox")
PAYMENT_GATEWAY_URL = env.str("PAYMENT_GATEWAY_URL", default="http://127.0.0.1:8010")
# Connect and read timeout of each gateway call; a call that times out counts as "unknown", not failed.
PAYMENT_GATEWAY_TIMEOUT_SECONDS = env.float("PAYMENT_GATEWAY_TIMEOUT_SECONDS", default=5.0)
# Shared with the sandbox process (it reads the same variable); a real provider would sign requests.
PAYMENT_GATEWAY_SECRET = env.str("PAYMENT_GATEWAY_SECRET", default="sandbox-dev-secret")

# --- Storefront webhooks ----------------------------------------------------------------------
# Events we POST to a storefront (aftersales.orders.webhooks): a failed attempt (not 2xx, timeout, no
# connection) is retried after this many seconds, doubling each attempt (at most an hour); after this
# many attempts the delivery is failed, for staff to retry from the dashboard. Each call's connect,
# write and read timeout.
WEBHOOK_RETRY_BASE_SECONDS = env.float("WEBHOOK_RETRY_BASE_SECONDS", default=30.0)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=8)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=5.0)

# --- API -------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first so an anonymous caller gets 401 with WWW-Authenticate, not 403.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "aftersales.common.schema.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "aftersales.common.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "aftersales.common.api.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "aftersales API",
    "DESCRIPTION": "After-sales platform: orders, cases, storefront ingest.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",  # tags each operation by its area: cases, orders, storefront …
    # Two models call their choice field "kind"; name the enums after what they are.
    "ENUM_NAME_OVERRIDES": {
        "PriceKindEnum": "aftersales.orders.models.PriceKind",
        "CaseKindEnum": "aftersales.cases.models.CaseKind",
        "FeedbackReasonEnum": "aftersales.cases.models.FeedbackReason",
    },
}

# --- Security (production defaults) ----------------------------------------------------------
# HTTPS=1 (the default unless DEBUG) turns on the redirect, secure cookies and HSTS together.
HTTPS = env.bool("HTTPS", default=not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=HTTPS)
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Content-Security-Policy (django-csp): scripts only from our own files, never inline or eval'd, so an
# injected <script> or on…= handler does not run even if escaping failed somewhere. Styles may be inline:
# the admin's changelist and matplotlib's drawn charts carry <style> blocks and style attributes, and a
# style cannot run code. Images may also be data: URIs (Swagger's icons, the two-factor QR code) and blob:
# URLs (the portal previews a chosen photo before it is uploaded).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "worker-src": [SELF, "blob:"],  # ReDoc renders in a worker built from a blob
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
SESSION_COOKIE_HTTPONLY = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
