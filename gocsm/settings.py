"""GoCSM settings: every value comes from the environment through django-environ.

Secure by default: DEBUG is off unless set, and with DEBUG off every production-critical variable
must be present or start-up stops with one sentence naming it. The embedded defaults (SQLite for
both aliases, local-memory cache, eager Celery, in-process fake GHL) exist only with DEBUG on, so a
newcomer can run the demo on a machine that has nothing but Python.
"""

from __future__ import annotations

import sys
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def _missing(name: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(
        f"{name} is not set: production needs it (set DEBUG=1 only for local development)."
    )


def secret(name: str, default: str | None = None) -> str | None:
    """Read a secret from NAME, or from the file named by NAME_FILE (Docker/K8s secrets)."""
    file_var = f"{name}_FILE"
    if env.str(file_var, default=""):
        return Path(env.str(file_var)).read_text(encoding="utf-8").strip()
    return env.str(name, default=default)


# --- Core -------------------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)
TESTING = "pytest" in sys.modules
# Embedded fallbacks (SQLite, local memory, eager Celery) are allowed only for local development
# and the test suite; a production process has neither DEBUG nor pytest loaded.
EMBEDDED = DEBUG or TESTING
# Dev tools (the GHL shell page, the in-process fake GHL) never exist in production.
DEV_TOOLS = EMBEDDED and env.bool("GOCSM_DEV_TOOLS", default=False)

_DEV_SECRET = "dev-only-insecure-key-that-never-reaches-production-0123456789abcdef"
SECRET_KEY = secret("SECRET_KEY", default=_DEV_SECRET if EMBEDDED else None)
if not SECRET_KEY:
    raise _missing("SECRET_KEY")
if not EMBEDDED and (SECRET_KEY == _DEV_SECRET or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured("SECRET_KEY is too weak: use at least 50 random characters.")

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"] if EMBEDDED else []
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Our own public origin (scheme://host[:port]); the SSO endpoint accepts only this Origin.
PUBLIC_ORIGIN = env.str("PUBLIC_ORIGIN", default="")

INSTALLED_APPS = [
    # django.contrib.admin with the OTP-enforcing, hardened GoCSM site as admin.site.
    "gocsm.apps.GoCSMAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "accounts",
    "sync",
    "analytics",
    "billing",
    "analytics.playbooks",
]

MIDDLEWARE = [
    "gocsm.requestid.RequestIdMiddleware",
    "gocsm.metrics.RequestMetricsMiddleware",
    "gocsm.bodylimit.BodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Activity beacons are answered here, with the security headers above: they use none of the
    # layers below, not even a content policy for a page (sync/beaconpath.py).
    "sync.beaconpath.BeaconFastPathMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # frame-ancestors per response: GHL's origins plus the signed-in agency's own white-label
    # domain on app pages, 'none' on admin, OAuth, hand-offs and anything anonymous but the SSO
    # bootstrap.
    "accounts.framing.FrameAncestorsMiddleware",
    # Django's, plus 503 when Redis is down and the Partitioned attribute on the cookie.
    "accounts.sessionmiddleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "accounts.identity.TenantMiddleware",
    # 503 with Retry-After when a database does not answer, instead of a 500.
    "gocsm.dboutage.DatabaseOutageMiddleware",
    # Product analytics page views (URL names only), queued off the request path.
    "gocsm.pageviews.PageViewMiddleware",
    # Before CSRF, so an anonymous request is turned away the same way whatever its method.
    "gocsm.authguard.AuthGuardMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "gocsm.urls"
WSGI_APPLICATION = "gocsm.wsgi.application"
ASGI_APPLICATION = "gocsm.asgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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
                "django.template.context_processors.csp",
                "accounts.context.tenant",
                "billing.context.billing_banner",
                "analytics.views.common.nav_items",
                "sync.context.connection_status",
            ],
        },
    },
]

# --- Databases --------------------------------------------------------------------------------
# Two aliases: "default" (operational truth) and "analytics" (daily facts, rollups, scores).
# The analytics alias defaults to DATABASE_URL so one server serves both until it needs its own.
DATA_DIR = Path(env.str("GOCSM_DATA_DIR", default=str(BASE_DIR / "var")))
_default_db = env.str("DATABASE_URL", default="")
if not _default_db:
    if not EMBEDDED:
        raise _missing("DATABASE_URL")
    _default_db = f"sqlite:///{DATA_DIR / 'default.sqlite3'}"
    DATA_DIR.mkdir(parents=True, exist_ok=True)
_analytics_db = env.str("ANALYTICS_DATABASE_URL", default="")
if not _analytics_db:
    _analytics_db = (
        f"sqlite:///{DATA_DIR / 'analytics.sqlite3'}"
        if _default_db.startswith("sqlite")
        else _default_db
    )

DATABASES = {
    "default": env.db_url_config(_default_db),
    "analytics": env.db_url_config(_analytics_db),
}
for _alias, _db in DATABASES.items():
    if _db["ENGINE"] == "django.db.backends.postgresql":
        _db.setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
        _db["CONN_HEALTH_CHECKS"] = True
        # Behind PgBouncer in transaction mode (docs/scaling.md §2).
        _db["DISABLE_SERVER_SIDE_CURSORS"] = env.bool(
            "DB_DISABLE_SERVER_SIDE_CURSORS", default=False
        )
        _db.setdefault("OPTIONS", {})["connect_timeout"] = env.int("DB_CONNECT_TIMEOUT", default=5)
        # Tests get their own database per alias even when both aliases share one server.
        _db.setdefault("TEST", {})["NAME"] = f"test_{_db['NAME']}_{_alias}"
    else:
        _db.setdefault("OPTIONS", {})["timeout"] = 20
        _db.setdefault("TEST", {})["NAME"] = str(DATA_DIR / f"test_{_alias}.sqlite3")
DATABASE_ROUTERS = ["gocsm.routers.AnalyticsRouter"]

# --- Redis, cache, sessions -------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if not REDIS_URL and not EMBEDDED:
    raise _missing("REDIS_URL")
REDIS_TIMEOUT_SECONDS = env.float("REDIS_TIMEOUT_SECONDS", default=1.0)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "gocsm",
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": REDIS_TIMEOUT_SECONDS,
                "SOCKET_TIMEOUT": REDIS_TIMEOUT_SECONDS,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

SESSION_ENGINE = "accounts.sessions"
SESSION_IDLE_SECONDS = env.int("SESSION_IDLE_SECONDS", default=30 * 60)
SESSION_MAX_SECONDS = env.int("SESSION_MAX_SECONDS", default=24 * 60 * 60)
SESSION_COOKIE_AGE = SESSION_IDLE_SECONDS
SESSION_SAVE_EVERY_REQUEST = True
# The app lives in a third-party iframe: the cookie must be SameSite=None, Secure and partitioned
# (CHIPS). The __Host- prefix pins it to our host, path / and HTTPS. Partitioned is added by
# accounts.sessionmiddleware since Django cannot write it yet.
SESSION_COOKIE_NAME = "__Host-gocsm_session"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "None"
SESSION_COOKIE_PATH = "/"
SESSION_COOKIE_DOMAIN = None
CSRF_USE_SESSIONS = True
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "None"
CSRF_FAILURE_VIEW = "gocsm.errors.csrf_failure"

# --- Security headers -------------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not EMBEDDED)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not EMBEDDED)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
# We are framed by GHL on purpose; frame-ancestors in the CSP decides who may frame each response
# (accounts/framing.py). Responses nobody may frame also send X-Frame-Options: DENY; framable
# ones drop it, since it cannot name several origins and browsers that know CSP ignore it then.
X_FRAME_OPTIONS = "DENY"
SILENCED_SYSTEM_CHECKS: list[str] = []

# GHL's app origins that may frame app pages and the SSO bootstrap; a signed-in agency's own
# white-label domain is added to its pages only (accounts/framing.py).
GHL_FRAME_ORIGINS = env.list(
    "GHL_FRAME_ORIGINS",
    default=[
        "https://app.gohighlevel.com",
        "https://app.leadconnectorhq.com",
        "https://app.msgsndr.com",
    ],
)
SECURE_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "font-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    # Set per response by accounts.framing; nobody, unless it says otherwise.
    "frame-ancestors": ["'none'"],
}

# Bodies larger than this are refused with 413 before any view reads them.
MAX_REQUEST_BODY_BYTES = env.int("MAX_REQUEST_BODY_BYTES", default=256 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

# --- I18N, static -----------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "var" / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Locally WhiteNoise serves straight from the source folders; production serves the hashed,
# compressed output of collectstatic.
WHITENOISE_USE_FINDERS = EMBEDDED
WHITENOISE_AUTOREFRESH = DEBUG
if EMBEDDED:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Logging ----------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "gocsm.logredact.RedactingFilter"},
        "request_id": {"()": "gocsm.requestid.RequestIdLogFilter"},
    },
    "formatters": {
        "json": {"()": "gocsm.logformat.JsonFormatter"},
        "text": {"()": "gocsm.logformat.TextFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "redact"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        # Django logs a DisallowedHost with the full request; our own 400 page covers it.
        "django.security.DisallowedHost": {
            "handlers": ["console"],
            "level": "ERROR",
            "propagate": False,
        },
        "celery": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
    },
}

# --- Celery -----------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# A task whose worker died is redelivered after this long (Redis broker visibility timeout).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
}
SYNC_INTERVAL_MINUTES = env.int("SYNC_INTERVAL_MINUTES", default=60)
CELERY_BEAT_SCHEDULE: dict[str, dict] = {}

# --- accounts (SSO, sessions) -----------------------------------------------------------------
GHL_SSO_SHARED_SECRET = secret("GHL_SSO_SHARED_SECRET", default="")
GHL_SSO_SHARED_SECRET_PREVIOUS = secret("GHL_SSO_SHARED_SECRET_PREVIOUS", default="")
SSO_FAILURES_PER_IP = env.int("SSO_FAILURES_PER_IP", default=20)
SSO_FAILURE_WINDOW_SECONDS = env.int("SSO_FAILURE_WINDOW_SECONDS", default=600)
# Asks GHL about a user SSO meets before the pulls stored them (accounts.confirmation). Wiring,
# not configuration: named here so accounts, the base, never imports the sync app.
SSO_GHL_USER_FETCHER = "sync.usersync.fetch_user"
# The dev GHL shell frames the app from this origin (another site than the shell's own, to prove
# cross-site framing); empty means PUBLIC_ORIGIN, else the shell's own origin.
DEV_APP_ORIGIN = env.str("GOCSM_DEV_APP_ORIGIN", default="")

# --- sync (GHL OAuth, API, webhooks) ----------------------------------------------------------
GHL_API_BASE_URL = env.str("GHL_API_BASE_URL", default="https://services.leadconnectorhq.com")
GHL_MARKETPLACE_URL = env.str("GHL_MARKETPLACE_URL", default="https://marketplace.gohighlevel.com")
GHL_CLIENT_ID = env.str("GHL_CLIENT_ID", default="")
GHL_CLIENT_SECRET = secret("GHL_CLIENT_SECRET", default="")
GHL_APP_ID = env.str("GHL_APP_ID", default=GHL_CLIENT_ID.split("-", 1)[0] if GHL_CLIENT_ID else "")
GHL_REDIRECT_URI = env.str("GHL_REDIRECT_URI", default="")
# PEM public keys; empty means GHL's published keys (sync/webhooks/keys.py, GHL_API.md §4.1).
GHL_WEBHOOK_ED25519_PUBLIC_KEY = env.str("GHL_WEBHOOK_ED25519_PUBLIC_KEY", default="")
GHL_WEBHOOK_RSA_PUBLIC_KEY = env.str("GHL_WEBHOOK_RSA_PUBLIC_KEY", default="")
# Fernet keys, newest first; older keys still decrypt so keys can rotate.
TOKEN_ENCRYPTION_KEYS = [
    k for k in (secret("TOKEN_ENCRYPTION_KEYS", default="") or "").split(",") if k
]
if not TOKEN_ENCRYPTION_KEYS and not EMBEDDED:
    raise _missing("TOKEN_ENCRYPTION_KEYS")
# HTTP to GHL: explicit timeouts, bounded retries (full-jitter exponential backoff).
GHL_CONNECT_TIMEOUT_SECONDS = env.float("GHL_CONNECT_TIMEOUT_SECONDS", default=5.0)
GHL_READ_TIMEOUT_SECONDS = env.float("GHL_READ_TIMEOUT_SECONDS", default=30.0)
GHL_RETRY_MAX_ATTEMPTS = env.int("GHL_RETRY_MAX_ATTEMPTS", default=6)
GHL_RETRY_BASE_SECONDS = env.float("GHL_RETRY_BASE_SECONDS", default=0.5)
GHL_RETRY_CAP_SECONDS = env.float("GHL_RETRY_CAP_SECONDS", default=30.0)
# A call (all its retries and rate-limit waits) gives up after this long.
GHL_CALL_DEADLINE_SECONDS = env.float("GHL_CALL_DEADLINE_SECONDS", default=120.0)
# A GHL answer larger than this is refused while it streams, before it is parsed (GHL's pages of
# 100 items are well under 1 MB); items asked per page of a listing (GHL's maximum is 100).
GHL_MAX_RESPONSE_BYTES = env.int("GHL_MAX_RESPONSE_BYTES", default=8 * 1024 * 1024)
GHL_PAGE_SIZE = env.int("GHL_PAGE_SIZE", default=100)
# One agency-token refresh at a time: a refresher that died frees the lock after this long.
GHL_REFRESH_LOCK_SECONDS = env.int("GHL_REFRESH_LOCK_SECONDS", default=60)
# GHL's limits per app per resource (GHL_API.md §5) and the share of them we leave unused.
GHL_BURST_LIMIT = env.int("GHL_BURST_LIMIT", default=100)
GHL_BURST_INTERVAL_SECONDS = env.float("GHL_BURST_INTERVAL_SECONDS", default=10.0)
GHL_DAILY_LIMIT = env.int("GHL_DAILY_LIMIT", default=200_000)
GHL_RATE_SAFETY_MARGIN = env.float("GHL_RATE_SAFETY_MARGIN", default=0.02)
# Refresh agency tokens this long before they expire; location tokens are re-minted likewise.
GHL_TOKEN_REFRESH_MARGIN_SECONDS = env.int("GHL_TOKEN_REFRESH_MARGIN_SECONDS", default=600)
GHL_OAUTH_STATE_MAX_AGE_SECONDS = env.int("GHL_OAUTH_STATE_MAX_AGE_SECONDS", default=600)
GHL_WEBHOOK_MAX_BYTES = env.int("GHL_WEBHOOK_MAX_BYTES", default=64 * 1024)
GHL_WEBHOOK_TOLERANCE_SECONDS = env.int("GHL_WEBHOOK_TOLERANCE_SECONDS", default=300)

from celery.schedules import crontab as _crontab  # noqa: E402  (kept inside the sync section)

# Scheduled pulls (sync/tasks.py). SYNC_INTERVAL_MINUTES (Celery section) paces the metadata pull.
SYNC_DAILY_PULL_HOUR_UTC = env.int("SYNC_DAILY_PULL_HOUR_UTC", default=3)
# The per-agency pull lock expires this long after the run's last progress (dead workers).
SYNC_PULL_LOCK_SECONDS = env.int("SYNC_PULL_LOCK_SECONDS", default=30 * 60)
# The first counts pull of a sub-account backfills this many days (what GHL can date).
SYNC_BACKFILL_DAYS = env.int("SYNC_BACKFILL_DAYS", default=90)
# Tasks per pull minting sub-accounts' location tokens ahead of their tasks (sync/tasks.py).
SYNC_TOKEN_MINTERS = env.int("SYNC_TOKEN_MINTERS", default=2)
# A sub-account task that met a passing fault (GHL down, a database or Redis blip) retries after
# up to this many seconds, doubling each time (jittered, at most 20 times this); the agency task
# waits twice as long.
SYNC_RETRY_BACKOFF_SECONDS = env.int("SYNC_RETRY_BACKOFF_SECONDS", default=15)
# An owner's or admin's "Re-sync now" (sync/resync.py) starts at most once per this per agency.
SYNC_RESYNC_MIN_INTERVAL_SECONDS = env.int("SYNC_RESYNC_MIN_INTERVAL_SECONDS", default=600)
SYNC_FRESHNESS_CHECK_MINUTES = env.int("SYNC_FRESHNESS_CHECK_MINUTES", default=15)
SYNC_ERROR_RATE_THRESHOLD = env.float("SYNC_ERROR_RATE_THRESHOLD", default=0.2)
SYNC_ERROR_RATE_WINDOW_HOURS = env.int("SYNC_ERROR_RATE_WINDOW_HOURS", default=6)
SYNC_ERROR_RATE_MIN_SAMPLES = env.int("SYNC_ERROR_RATE_MIN_SAMPLES", default=5)
CELERY_BEAT_SCHEDULE[f"every-{SYNC_INTERVAL_MINUTES}-min-pull-metadata-for-every-agency"] = {
    "task": "sync.tasks.pull_all_agencies",
    "schedule": SYNC_INTERVAL_MINUTES * 60,
    "kwargs": {"kind": "metadata"},
    # A start that waited past the next one is superseded by it.
    "options": {"expires": SYNC_INTERVAL_MINUTES * 60},
}
CELERY_BEAT_SCHEDULE["daily-pull-counts-by-day-for-every-agency"] = {
    "task": "sync.tasks.pull_all_agencies",
    "schedule": _crontab(minute=45, hour=SYNC_DAILY_PULL_HOUR_UTC),
    "kwargs": {"kind": "counts"},
}
CELERY_BEAT_SCHEDULE[f"every-{SYNC_FRESHNESS_CHECK_MINUTES}-min-check-pull-freshness"] = {
    "task": "sync.tasks.check_pull_freshness",
    "schedule": SYNC_FRESHNESS_CHECK_MINUTES * 60,
    "options": {"expires": SYNC_FRESHNESS_CHECK_MINUTES * 60},
}

# Activity beacons from the Custom JS tracker (sync/activity*.py, issue 5 §2). Counters live in
# Redis (ACTIVITY_REDIS_URL, default REDIS_URL; in-process memory only in embedded mode) and a beat
# task writes their absolute totals to the analytics database.
ACTIVITY_REDIS_URL = env.str("ACTIVITY_REDIS_URL", default=REDIS_URL)
# A beacon carries GHL's user payload (up to accounts.sso.MAX_PAYLOAD_CHARS, 32 KiB, for a
# person with a long name) plus a few short fields.
ACTIVITY_MAX_BODY_BYTES = env.int("ACTIVITY_MAX_BODY_BYTES", default=33 * 1024)
ACTIVITY_HEARTBEAT_SECONDS = env.int("ACTIVITY_HEARTBEAT_SECONDS", default=60)
ACTIVITY_SESSION_GAP_SECONDS = env.int("ACTIVITY_SESSION_GAP_SECONDS", default=30 * 60)
ACTIVITY_RATE_BURST = env.int("ACTIVITY_RATE_BURST", default=30)
ACTIVITY_RATE_PER_MINUTE = env.int("ACTIVITY_RATE_PER_MINUTE", default=20)
ACTIVITY_COUNTER_TTL_SECONDS = env.int("ACTIVITY_COUNTER_TTL_SECONDS", default=4 * 24 * 3600)
ACTIVITY_LOOKUP_CACHE_SECONDS = env.int("ACTIVITY_LOOKUP_CACHE_SECONDS", default=10)
ACTIVITY_FLUSH_MINUTES = env.int("ACTIVITY_FLUSH_MINUTES", default=5)
ACTIVITY_TRACKER_CACHE_SECONDS = env.int("ACTIVITY_TRACKER_CACHE_SECONDS", default=3600)
# The tracker's NPS prompt (sync/sentiment.py, issue 15): a request is a payload plus a rating and
# a comment of at most analytics.models.NPS_COMMENT_MAX (1000) characters; each person may make
# NPS_RATE_BURST requests at once, refilled at NPS_RATE_PER_MINUTE.
NPS_MAX_BODY_BYTES = env.int("NPS_MAX_BODY_BYTES", default=40 * 1024)
NPS_RATE_BURST = env.int("NPS_RATE_BURST", default=6)
NPS_RATE_PER_MINUTE = env.int("NPS_RATE_PER_MINUTE", default=2)
# Seconds after a sub-account page opens before the tracker asks whether to show the prompt.
NPS_PROMPT_DELAY_SECONDS = env.int("NPS_PROMPT_DELAY_SECONDS", default=5)
# The flush task is not in a tasks.py, so workers import its module explicitly.
CELERY_IMPORTS = [*globals().get("CELERY_IMPORTS", []), "sync.activity_flush"]
CELERY_BEAT_SCHEDULE[f"every-{ACTIVITY_FLUSH_MINUTES}-min-flush-activity-counters"] = {
    "task": "sync.activity_flush.flush_activity_counters",
    "schedule": ACTIVITY_FLUSH_MINUTES * 60,
    # A flush older than its interval is superseded by the next one (totals are absolute).
    "options": {"expires": ACTIVITY_FLUSH_MINUTES * 60},
}

# --- analytics --------------------------------------------------------------------------------
DIGEST_FROM_EMAIL = env.str("DIGEST_FROM_EMAIL", default="GoCSM <digest@gocsm.invalid>")
# Nightly recompute of every agency's last 7 days (UTC hour) and the weekly digest (Monday).
ANALYTICS_NIGHTLY_HOUR_UTC = env.int("ANALYTICS_NIGHTLY_HOUR_UTC", default=3)
ANALYTICS_DIGEST_HOUR_UTC = env.int("ANALYTICS_DIGEST_HOUR_UTC", default=13)
from celery.schedules import crontab  # noqa: E402  (kept inside the analytics section)

CELERY_BEAT_SCHEDULE["nightly-recompute-analytics-for-the-last-7-days"] = {
    "task": "analytics.tasks.refresh_recent_days_for_all_agencies",
    "schedule": crontab(minute=15, hour=ANALYTICS_NIGHTLY_HOUR_UTC),
}
# Predicted churn: each agency's model retrained on its own history every Sunday, an hour after
# the nightly recompute (analytics.churn).
CELERY_BEAT_SCHEDULE["weekly-train-churn-model-per-agency"] = {
    "task": "analytics.tasks.train_churn_models",
    "schedule": crontab(minute=15, hour=(ANALYTICS_NIGHTLY_HOUR_UTC + 1) % 24, day_of_week="sun"),
}
CELERY_BEAT_SCHEDULE["weekly-email-analytics-digest-to-owners-and-admins"] = {
    "task": "analytics.tasks.send_weekly_digests",
    "schedule": crontab(minute=0, hour=ANALYTICS_DIGEST_HOUR_UTC, day_of_week="mon"),
}

# --- playbooks (issue 16) ---------------------------------------------------------------------
PLAYBOOKS_FROM_EMAIL = env.str("PLAYBOOKS_FROM_EMAIL", default="GoCSM <plays@gocsm.invalid>")
# Outbound webhook calls: connect and read timeouts, attempts and the first retry's wait (doubling
# each time), and how long after firing a delivery may still be attempted.
PLAYBOOKS_CONNECT_TIMEOUT_SECONDS = env.float("PLAYBOOKS_CONNECT_TIMEOUT_SECONDS", default=5.0)
PLAYBOOKS_READ_TIMEOUT_SECONDS = env.float("PLAYBOOKS_READ_TIMEOUT_SECONDS", default=10.0)
PLAYBOOKS_MAX_ATTEMPTS = env.int("PLAYBOOKS_MAX_ATTEMPTS", default=6)
PLAYBOOKS_RETRY_BASE_SECONDS = env.float("PLAYBOOKS_RETRY_BASE_SECONDS", default=30.0)
PLAYBOOKS_DELIVERY_DEADLINE_SECONDS = env.int(
    "PLAYBOOKS_DELIVERY_DEADLINE_SECONDS", default=6 * 60 * 60
)
# "host:port" receivers that may be loopback/private and plain http: tests' and the demo's own
# local fakes. Ignored outside embedded (DEBUG or test) mode.
PLAYBOOKS_LOCAL_RECEIVERS = env.list("PLAYBOOKS_LOCAL_RECEIVERS", default=[])
CELERY_IMPORTS = [*globals().get("CELERY_IMPORTS", []), "analytics.playbooks.tasks"]
CELERY_BEAT_SCHEDULE["every-minute-sweep-playbook-deliveries"] = {
    "task": "analytics.playbooks.tasks.sweep_deliveries",
    "schedule": 60,
    "options": {"expires": 60},
}

# --- billing (Stripe) -------------------------------------------------------------------------
STRIPE_SECRET_KEY = secret("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = secret("STRIPE_WEBHOOK_SECRET", default="")
# Both may be empty (billing not set up yet): the webhook then refuses every event with 400 and
# the billing page answers "not set up" instead of half-working.
# Webhook events are refused unless Stripe rendered them with exactly this version: the handlers
# read fields whose place changes between versions (e.g. current_period_end moved to items).
STRIPE_API_VERSION = env.str("STRIPE_API_VERSION", default="2025-09-30.clover")
# Empty means Stripe itself; tests and the demo point it at a local fake Stripe.
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")
STRIPE_TIMEOUT_SECONDS = env.float("STRIPE_TIMEOUT_SECONDS", default=10.0)
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=1)
STRIPE_WEBHOOK_TOLERANCE_SECONDS = env.int("STRIPE_WEBHOOK_TOLERANCE_SECONDS", default=300)
# Price ids per plan, comma-separated (e.g. monthly,yearly); the first one is offered in Checkout.
STRIPE_PRICE_STARTER = env.list("STRIPE_PRICE_STARTER", default=[])
STRIPE_PRICE_GROWTH = env.list("STRIPE_PRICE_GROWTH", default=[])
STRIPE_PRICE_SCALE = env.list("STRIPE_PRICE_SCALE", default=[])
TRIAL_DAYS = env.int("TRIAL_DAYS", default=14)
# What a trialing agency may use: the features of this plan.
BILLING_TRIAL_PLAN = env.str("BILLING_TRIAL_PLAN", default="growth")
BILLING_GRACE_DAYS = env.int("BILLING_GRACE_DAYS", default=7)
# Where Checkout and the portal send people back; empty = this app's billing page.
BILLING_RETURN_URL = env.str("BILLING_RETURN_URL", default="")

# --- product analytics (PostHog: gocsm.product_events, gocsm.pageviews) -----------------------
POSTHOG_API_KEY = secret("POSTHOG_API_KEY", default="")
POSTHOG_HOST = env.str("POSTHOG_HOST", default="https://us.i.posthog.com")
POSTHOG_FLUSH_AT = env.int("POSTHOG_FLUSH_AT", default=50)
POSTHOG_FLUSH_INTERVAL_SECONDS = env.float("POSTHOG_FLUSH_INTERVAL_SECONDS", default=5.0)
POSTHOG_TIMEOUT_SECONDS = env.float("POSTHOG_TIMEOUT_SECONDS", default=5.0)
POSTHOG_MAX_RETRIES = env.int("POSTHOG_MAX_RETRIES", default=2)

# --- operations -------------------------------------------------------------------------------
# /metrics answers only `Authorization: Bearer <METRICS_BEARER_TOKEN>`; unset = 404.
METRICS_BEARER_TOKEN = secret("METRICS_BEARER_TOKEN", default="")
OPS_ALERT_EMAIL = env.str("OPS_ALERT_EMAIL", default="")
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=365)
STAFF_SIGNIN_MAX_FAILURES = env.int("STAFF_SIGNIN_MAX_FAILURES", default=5)
STAFF_SIGNIN_WINDOW_SECONDS = env.int("STAFF_SIGNIN_WINDOW_SECONDS", default=15 * 60)
# The Celery task the admin's "Re-sync now" action queues (called with the agency's pk).
OPS_RESYNC_TASK = env.str("OPS_RESYNC_TASK", default="sync.tasks.pull_agency")
# Queues whose length /metrics reports.
OPS_CELERY_QUEUES = env.list("OPS_CELERY_QUEUES", default=["celery"])
# The TOTP key is never shown in admin (staff enrol with manage.py enroll_staff_totp).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="GoCSM staff")
CELERY_IMPORTS = [*globals().get("CELERY_IMPORTS", []), "accounts.tasks"]
CELERY_BEAT_SCHEDULE["ops-prune-audit-events"] = {
    "task": "ops.prune_audit_events",
    "schedule": 24 * 60 * 60,
}
# HSTS preload is an irreversible commitment for the whole domain and its subdomains, made by the
# operator (SECURE_HSTS_PRELOAD=1) once every subdomain serves HTTPS; not wanting it yet is a
# decision, not a defect, so `check --deploy` stays clean either way.
if not SECURE_HSTS_PRELOAD:
    SILENCED_SYSTEM_CHECKS.append("security.W021")
# Production must not be able to run with debug, a guessable key or dev tools. DEBUG on with a
# public host name means someone deployed a development setting.
if not EMBEDDED and (len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure-")):
    raise ImproperlyConfigured(
        "SECRET_KEY is too weak: use at least 50 random characters (not a repeated pattern)."
    )
if DEBUG and not TESTING:
    import ipaddress as _ipaddress

    def _local_host(host: str) -> bool:
        host = host.strip("[]").lstrip(".")
        if host in {"localhost", "testserver"} or host.endswith((".localhost", ".local", ".test")):
            return True
        try:
            addr = _ipaddress.ip_address(host)
        except ValueError:
            return False
        return addr.is_loopback or addr.is_private

    _public_hosts = [h for h in ALLOWED_HOSTS if h != "*" and not _local_host(h)]
    if _public_hosts or "*" in ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "DEBUG is on while ALLOWED_HOSTS names a public host: DEBUG is only for local use."
        )
# Django 6.1 mailers; the SMTP options come from EMAIL_URL (smtp://user:pass@host:port, +tls).
_email = env.email_url("EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25")
MAILERS = {
    "default": {
        "BACKEND": _email.pop("EMAIL_BACKEND"),
        "OPTIONS": {
            k.removeprefix("EMAIL_").lower(): v for k, v in _email.items() if v not in ("", None)
        },
    }
}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="GoCSM <noreply@gocsm.invalid>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
