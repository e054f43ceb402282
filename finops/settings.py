"""Settings, read from the environment only; the defaults run the product with nothing installed."""

from __future__ import annotations

import base64
import secrets
from decimal import Decimal, InvalidOperation
from pathlib import Path

import environ
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

# Everything the embedded defaults write (SQLite database, Celery queue folders, exports) lives here.
VAR_DIR = Path(env.str("FINOPS_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DEBUG", default=False)
# Behind TLS (a proxy or an ingress): secure cookies, HSTS, redirect to https. What `check --deploy` wants.
SECURE_HTTPS = env.bool("SECURE_HTTPS", default=False)


def _secret_key() -> str:
    """SECRET_KEY from the environment, else a random key kept in VAR_DIR (the embedded default)."""
    key = env.str("SECRET_KEY", default="")
    if key:
        return key
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(50))
    key = path.read_text().strip()
    if not key:
        raise ImproperlyConfigured(f"{path} is empty: remove it or set SECRET_KEY")
    return key


SECRET_KEY = _secret_key()


def _derived_encryption_key(secret_key: str) -> str:
    """A Fernet key derived from SECRET_KEY (HKDF/SHA-256), so the embedded defaults need no extra setting."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"finops encryption at rest")
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode())).decode()


# Fernet keys for secrets stored in the database (cluster kubeconfigs): the first encrypts, all decrypt.
# Rotation: put the new key first, run `manage.py rotate_secrets`, then drop the old one.
FINOPS_ENCRYPTION_KEYS = env.list("FINOPS_ENCRYPTION_KEYS", default=[]) or [
    _derived_encryption_key(SECRET_KEY)
]
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tables2",  # the pages' tables: sorting, pagination, CSV (reports/tables.py)
    "django_filters",  # their text filter (reports/filters.py)
    "django_celery_beat",
    "auditlog",  # the audit trail: sign-ins, roles, policy history, closings, exports (costing/audit.py)
    "costing",
    "reports",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc as static files of an installed package: no CDN
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language of every page: the switch in the nav (a cookie), else the browser's Accept-Language.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every page is behind login unless a view says @login_not_required (login page, /healthz).
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # A signed-in user without the switch's cookie gets the language they chose (costing.languages).
    "costing.languages.StoredLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Gives the audit trail the signed-in user and address of the request that changed a row.
    "costing.audit.AuditMiddleware",
    # A refused page view answers with the styled "Not yours to see" page, logged without a traceback.
    "reports.refusals.RefusalMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "finops.urls"
# Every table of the pages: filter, CSV link, sortable headings, totals, pages (reports/tables.py).
DJANGO_TABLES2_TEMPLATE = "reports/_table.html"
WSGI_APPLICATION = "finops.wsgi.application"
ASGI_APPLICATION = "finops.asgi.application"

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

# Database: SQLite under VAR_DIR by default; DATABASE_URL=postgres://... in production.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'finops.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one file: wait for locks instead of failing, let readers run beside
    # the writer (WAL), and take the write lock at BEGIN so two writers never deadlock on an upgrade.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory, so that a real worker process started by a test sees the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# Sign-in (costing/sso.py; docs/operations.md, "Single sign-on"). Local accounts (user name and password)
# unless FINOPS_LOCAL_ACCOUNTS=false; OpenID Connect when OIDC_RP_CLIENT_ID and OIDC_ISSUER are set (or,
# for a provider without discovery, the four OIDC_OP_*_ENDPOINT settings instead of the issuer).
AUTHENTICATION_BACKENDS = ["costing.sso.LocalAccountBackend", "costing.sso.OIDCBackend"]
FINOPS_LOCAL_ACCOUNTS = env.bool("FINOPS_LOCAL_ACCOUNTS", default=True)
OIDC_ISSUER = env.str("OIDC_ISSUER", default="")
OIDC_OP_AUTHORIZATION_ENDPOINT = env.str("OIDC_OP_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env.str("OIDC_OP_TOKEN_ENDPOINT", default="")
OIDC_OP_USER_ENDPOINT = env.str("OIDC_OP_USER_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env.str("OIDC_OP_JWKS_ENDPOINT", default="")
OIDC_RP_CLIENT_ID = env.str("OIDC_RP_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env.str("OIDC_RP_CLIENT_SECRET", default="")
OIDC_RP_SCOPES = env.str("OIDC_RP_SCOPES", default="openid email profile")
OIDC_RP_SIGN_ALGO = env.str("OIDC_RP_SIGN_ALGO", default="RS256")
OIDC_USE_PKCE = env.bool("OIDC_USE_PKCE", default=True)
OIDC_VERIFY_SSL = env.bool("OIDC_VERIFY_SSL", default=True)
OIDC_TIMEOUT = env.int("OIDC_TIMEOUT", default=10)
OIDC_GROUPS_CLAIM = env.str("OIDC_GROUPS_CLAIM", default="groups")
OIDC_PROVIDER_NAME = env.str("OIDC_PROVIDER_NAME", default="single sign-on")
# The role of a signed-in SSO user whose groups match no rule: "" (none), "viewer" or "admin".
FINOPS_SSO_DEFAULT_ROLE = env.str("FINOPS_SSO_DEFAULT_ROLE", default="")
LOGIN_REDIRECT_URL_FAILURE = "/accounts/login/?sso=failed"
if not FINOPS_LOCAL_ACCOUNTS and not (OIDC_RP_CLIENT_ID and (OIDC_ISSUER or OIDC_OP_AUTHORIZATION_ENDPOINT)):
    raise ImproperlyConfigured(
        "FINOPS_LOCAL_ACCOUNTS=false needs OIDC_RP_CLIENT_ID and OIDC_ISSUER: nobody could sign in"
    )
if FINOPS_SSO_DEFAULT_ROLE.lower() not in ("", "none", "viewer", "admin"):
    raise ImproperlyConfigured(
        f"FINOPS_SSO_DEFAULT_ROLE={FINOPS_SSO_DEFAULT_ROLE!r}: use viewer, admin or none"
    )

# English unless the browser asks for Chinese or the nav's switch chose it (docs/i18n.md). The catalogue is
# locale/zh_Hans/LC_MESSAGES/django.po, compiled into the django.mo beside it (`make messages`).
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
# Dates, times and numbers as each language writes them, tables included (reports/formats/<lang>/formats.py):
# ISO dates in English, 2026年10月5日 in Chinese. Amounts get their thousand separators from the pages'
# filters (reports/templatetags/finops.py), not from USE_THOUSAND_SEPARATOR, which would also group ids in
# links and form values. Exports (CSV, Excel, API) never go through these formats: machine-readable numbers.
FORMAT_MODULE_PATH = ["reports.formats"]
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "reports.staticfinders.PlotlyFinder",  # plotly.min.js from the installed plotly package: no CDN
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_STORAGE", default="whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_ROOT = VAR_DIR / "media"

# Celery: the filesystem transport under VAR_DIR by default; CELERY_BROKER_URL=redis://... in production.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue = VAR_DIR / "celery" / "queue"
    _control = VAR_DIR / "celery" / "control"
    for _folder in (_queue, _control):
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue),
        "data_folder_out": str(_queue),
        "control_folder": str(_control),
        "store_processed": False,
    }
# Queues: sampling, bill import and computation each have their own, so a long recompute or import never
# delays a minute's sample (docs/operations.md, "Queues"). A task not named here goes to "default"
# (exports, closings, pruning, the heartbeat); tests/finops/test_celery_routes.py holds every task to a queue.
FINOPS_QUEUES = ("sampling", "billing", "compute", "default")
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "costing.sample_cluster": {"queue": "sampling"},
    "costing.sweep_missed_slots": {"queue": "sampling"},
    "costing.fold_minutes": {"queue": "compute"},
    "costing.import_bill": {"queue": "billing"},
    "costing.recompute_dirty_days": {"queue": "compute"},
    "costing.recompute_day": {"queue": "compute"},
    "costing.compute_cluster_day": {"queue": "compute"},
    # Forecasts fit a model per budget: with the computing, away from the quick default tasks.
    "costing.evaluate_alerts": {"queue": "compute"},
}
CELERY_RESULT_BACKEND = None  # task outcomes that matter are recorded in domain tables
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 3600
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# django-celery-beat's database scheduler, made to outlive a database outage (finops/beat.py).
CELERY_BEAT_SCHEDULER = "finops.beat:ResilientDatabaseScheduler"
# How often beat reads its whole schedule even when nothing signalled a change (django-celery-beat: 300).
FINOPS_BEAT_FULL_SYNC_SECONDS = env.int("FINOPS_BEAT_FULL_SYNC_SECONDS", default=300)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# The recompute of dirty days sends one task per cluster-day to the compute queue, for every worker to take
# (costing/fanout.py), instead of computing them one after the other in the task that found them.
FINOPS_RECOMPUTE_FANOUT = env.bool("FINOPS_RECOMPUTE_FANOUT", default=False)

# E-mail for scheduled exports: EMAIL_URL=smtp+tls://user:password@host:587 (django-environ's form).
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="finops@localhost")

if SECURE_HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 3600)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# The product's own settings.
FINOPS_CURRENCY = env.str("FINOPS_CURRENCY", default="EUR")
# The language of what is written with no browser to ask: alert messages, their e-mails and webhooks, and the
# exports built by the workers (docs/i18n.md). en or zh-hans.
FINOPS_LANGUAGE = env.str("FINOPS_LANGUAGE", default=LANGUAGE_CODE)
if FINOPS_LANGUAGE not in dict(LANGUAGES):
    raise ImproperlyConfigured(
        f"FINOPS_LANGUAGE={FINOPS_LANGUAGE!r}: use one of {', '.join(dict(LANGUAGES))}"
    )
FINOPS_HOURLY_RETENTION_DAYS = env.int("FINOPS_HOURLY_RETENTION_DAYS", default=90)
# How far back the sweep of missed sampling slots looks (it runs every 5 minutes; this covers a beat or
# worker that was down for days). Kept inside the hourly retention, or it would refill pruned slots.
FINOPS_GAP_SWEEP_DAYS = min(env.int("FINOPS_GAP_SWEEP_DAYS", default=7), FINOPS_HOURLY_RETENTION_DAYS - 1)
# How long after a slot's run can no longer start (its message expired) the sweep waits before calling it
# missed: long enough for a snapshot still on its way (API calls time out after 10 s each).
FINOPS_GAP_SWEEP_GRACE_SECONDS = env.int("FINOPS_GAP_SWEEP_GRACE_SECONDS", default=120)
FINOPS_DAILY_RETENTION_MONTHS = env.int("FINOPS_DAILY_RETENTION_MONTHS", default=25)
FINOPS_BILL_UPLOAD_MAX_BYTES = env.int("FINOPS_BILL_UPLOAD_MAX_BYTES", default=512 * 1024 * 1024)
FINOPS_EXPORT_DIR = Path(env.str("FINOPS_EXPORT_DIR", default=str(VAR_DIR / "exports")))
# First wait before a scheduled export retries a transient failure (SMTP, connection); doubles each try.
FINOPS_EXPORT_RETRY_SECONDS = env.int("FINOPS_EXPORT_RETRY_SECONDS", default=30)


def _exchange_rates(text: str) -> dict[tuple[str, str], Decimal]:
    """FINOPS_EXCHANGE_RATES="USD:EUR=0.92,CNY:EUR=0.13": one unit of USD is 0.92 EUR."""
    rates = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        try:
            pair, rate = item.split("=")
            source, target = (code.strip().upper() for code in pair.split(":"))
            value = Decimal(rate.strip())
        except (ValueError, InvalidOperation) as exc:
            raise ImproperlyConfigured(
                f"FINOPS_EXCHANGE_RATES: {item!r} is not FROM:TO=RATE (e.g. USD:EUR=0.92)"
            ) from exc
        if len(source) != 3 or len(target) != 3 or not value.is_finite() or value <= 0:
            raise ImproperlyConfigured(f"FINOPS_EXCHANGE_RATES: {item!r} needs 3-letter codes and a rate > 0")
        rates[(source, target)] = value
    return rates


# Conversion of bills in another currency into FINOPS_CURRENCY; without a rate such a bill is refused.
FINOPS_EXCHANGE_RATES = _exchange_rates(env.str("FINOPS_EXCHANGE_RATES", default=""))

# The REST API (api/): session or per-user token, the product's roles, JSON errors with field messages.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.TokenAuthentication",  # first: its 401 + WWW-Authenticate for anonymous calls
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.HasRole"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.Pagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.pagination.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "FinOps for Kubernetes API",
    "DESCRIPTION": "Costs, departments, clusters, explanations, bills, reports and exports, and the policy; "
    "OpenCost-compatible "
    "/allocation. Sign in (session) or send `Authorization: Bearer <token>` (tokens: /api/tokens/). "
    "See docs/api.md.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
