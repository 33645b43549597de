"""Settings, all read from the environment, with safe development defaults.

Every variable read here is documented in the README. A bad value stops start-up
with a message that names the variable.
"""

from __future__ import annotations

import ipaddress
import os
import re
import zoneinfo
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from whitenoise.compress import Compressor

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: str) -> bool:
    value = os.environ.get(name, default).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def envint(name: str, default: str, *, minimum: int | None = None) -> int:
    value = os.environ.get(name, default)
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {number}")
    return number


def envfloat(name: str, default: str) -> float:
    value = os.environ.get(name, default)
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from None


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def database_from_url(url: str) -> dict:
    """Turn DATABASE_URL (sqlite:///path or postgres://user:pw@host:port/name) into a DATABASES entry."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = unquote(parts.path)
        # sqlite:///db.sqlite3 is relative to the project folder, sqlite:////var/db.sqlite3 absolute.
        name = Path(path[1:]) if path.startswith("//") else BASE_DIR / path.lstrip("/")
        if not path.strip("/"):
            raise ImproperlyConfigured("DATABASE_URL for sqlite needs a file name: sqlite:///db.sqlite3")
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": name,
            # A workshop saves at once: writers queue for the lock (IMMEDIATE takes it at the start
            # of each transaction, so none fails halfway) and wait up to `timeout` seconds for it,
            # while WAL lets pages read during writes.
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": envint("SQLITE_TIMEOUT", "20", minimum=1),
                # secure_delete overwrites deleted rows, such as ballots rewritten when a squad finishes.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA secure_delete=ON",
            },
            # Tests use a file too: an in-memory database shared between threads (the live server
            # of the browser tests) refuses concurrent writers instead of queueing them.
            "TEST": {"NAME": str(name.with_name(f"test-{name.name}"))},
        }
    if parts.scheme in ("postgres", "postgresql"):
        name = unquote(parts.path.lstrip("/"))
        if not name:
            raise ImproperlyConfigured("DATABASE_URL for PostgreSQL needs a database name")
        try:
            port = parts.port
        except ValueError:
            raise ImproperlyConfigured("DATABASE_URL has a bad port number") from None
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(port or ""),
            "OPTIONS": dict(parse_qsl(parts.query)),
            "CONN_MAX_AGE": envint("DB_CONN_MAX_AGE", "60", minimum=0),
            "CONN_HEALTH_CHECKS": True,
        }
    raise ImproperlyConfigured(
        f"DATABASE_URL must start with sqlite:// or postgres://, not {parts.scheme or url!r}"
    )


DEBUG = envbool("DEBUG", "true")

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "development-only-key-never-use-in-production-0123456789abcdef"

# While a squad's part of a round is open, ballots are found by a keyed hash of the voter, under
# this secret and the part's own random secret. Keep it stable while rounds are open: changing it
# makes people's own ballots unreachable for editing. It must not be SECRET_KEY, which signs
# sessions and may be shared more widely.
BALLOT_SECRET = os.environ.get("BALLOT_SECRET", "")
if not BALLOT_SECRET:
    if not DEBUG:
        raise ImproperlyConfigured("BALLOT_SECRET must be set when DEBUG is off")
    BALLOT_SECRET = "development-only-ballot-secret-never-use-in-production"
elif BALLOT_SECRET == SECRET_KEY:
    raise ImproperlyConfigured("BALLOT_SECRET must differ from SECRET_KEY")
if not DEBUG and len(BALLOT_SECRET.encode()) < 32:
    raise ImproperlyConfigured(
        "BALLOT_SECRET must be at least 32 random bytes (43 characters of token_urlsafe)"
    )

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost" if not DEBUG else "*")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "csp",
    "axes",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.saml",
    "surveys.sso",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "surveys",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files are answered here, before any work meant for pages.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Pages compressed (static files come compressed from WhiteNoise already). Django pads each
    # compressed page with random bytes, against BREACH.
    "django.middleware.gzip.GZipMiddleware",
    "csp.middleware.CSPMiddleware",
    "healthcheck.middleware.csp_nonce_everywhere",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language: the one a person chose (in a cookie, set from their profile when they sign
    # in), else the browser's Accept-Language.
    "healthcheck.middleware.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # Last, as django-axes asks: it answers sign-ins that are locked out.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "healthcheck.urls"
WSGI_APPLICATION = "healthcheck.wsgi.application"

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
                "django.template.context_processors.i18n",
                "surveys.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {"default": database_from_url(os.environ.get("DATABASE_URL", "sqlite:///db.sqlite3"))}

# With Redis, every app server shares one cache, and sessions are read from it without a query
# (cached_db keeps them in the database too, so a Redis restart signs nobody out). Without it,
# each process caches on its own and sessions stay in the database only.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    if not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured("REDIS_URL must start with redis://, rediss:// or unix://")
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Passwords (by username or email) and emailed codes; single sign-on signs in through it too.
    "allauth.account.auth_backends.AuthenticationBackend",
    # Only the ballot page takes a reminder's sign-in link, with a scope naming that ballot.
    "sesame.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "surveys:home"
LOGOUT_REDIRECT_URL = "login"

# Sign-in (django-allauth): by username or email and password, by a code sent by email when
# LOGIN_BY_CODE is on, and by single sign-on. Nobody signs up on their own: a tribe lead or staff
# adds people, who get an invitation to set their password (see INVITATION_DAYS).
ACCOUNT_ADAPTER = "surveys.accounts.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "surveys.sso.adapter.SignOnAdapter"
ACCOUNT_FORMS = {"login": "surveys.accounts.SignInForm"}
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_AUTHENTICATED_LOGIN_REDIRECTS = (
    False  # the sign-in page also serves to switch person on a shared device
)
ACCOUNT_SESSION_REMEMBER = True  # as before: a session lasts its SESSION_COOKIE_AGE
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False  # an email to an address without an account says nothing
ACCOUNT_LOGIN_BY_CODE_ENABLED = envbool("LOGIN_BY_CODE", "false")
ACCOUNT_LOGIN_BY_CODE_TIMEOUT = 600
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False
# Failed password sign-ins are django-axes' to count (in the database, for every app server).
ACCOUNT_RATE_LIMITS = {"login_failed": False}
PASSWORD_RESET_TIMEOUT = 60 * 60 * envint("PASSWORD_RESET_HOURS", "24", minimum=1)
INVITATION_DAYS = envint("INVITATION_DAYS", "7", minimum=1)
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False  # matched by our adapter, on a verified email only
SOCIALACCOUNT_ONLY = False
SOCIALACCOUNT_REQUESTS_TIMEOUT = 10
# Single sign-on with OpenID Connect: OIDC_PROVIDERS names them (comma-separated ids such as
# "okta,entra"); each has OIDC_<ID>_ISSUER, OIDC_<ID>_CLIENT_ID, OIDC_<ID>_SECRET and, optional,
# OIDC_<ID>_LABEL (the button) and OIDC_<ID>_DISCOVERY_URL (when the document is not at the
# issuer's /.well-known/openid-configuration).
SSO_CREATE_USERS = envbool("SSO_CREATE_USERS", "false")


def provider_prefix(kind: str, name: str) -> str:
    """The prefix of one provider's settings, "OIDC_OKTA_" for okta in OIDC_PROVIDERS."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,39}", name):
        raise ImproperlyConfigured(
            f"{kind}_PROVIDERS: {name!r} must be lower-case letters, digits and dashes"
        )
    return f"{kind}_{name.upper().replace('-', '_')}_"


def oidc_apps(names: list[str]) -> list[dict]:
    apps = []
    for name in names:
        prefix = provider_prefix("OIDC", name)
        missing = [key for key in ("ISSUER", "CLIENT_ID", "SECRET") if not os.environ.get(prefix + key)]
        if missing:
            raise ImproperlyConfigured(
                f"OIDC provider {name!r} needs {', '.join(prefix + m for m in missing)}"
            )
        issuer = os.environ[prefix + "ISSUER"].rstrip("/")
        loopback = (urlsplit(issuer).hostname or "") in ("localhost", "127.0.0.1", "::1")
        if not (issuer.startswith("https://") or (issuer.startswith("http://") and (DEBUG or loopback))):
            raise ImproperlyConfigured(f"{prefix}ISSUER must be an https:// URL")
        apps.append(
            {
                "provider_id": name,
                "name": os.environ.get(prefix + "LABEL", name.replace("-", " ").title()),
                "client_id": os.environ[prefix + "CLIENT_ID"],
                "secret": os.environ[prefix + "SECRET"],
                "settings": {
                    # Who the person is comes from the signed ID token, not from userinfo.
                    "fetch_userinfo": False,
                    "issuer": issuer,
                    "server_url": os.environ.get(
                        prefix + "DISCOVERY_URL", issuer + "/.well-known/openid-configuration"
                    ),
                },
            }
        )
    return apps


def saml_apps(names: list[str]) -> list[dict]:
    """SAML 2.0 identity providers: SAML_PROVIDERS names them; each has SAML_<ID>_METADATA_URL or
    SAML_<ID>_METADATA_FILE (the IdP's metadata), and, optional, SAML_<ID>_LABEL and
    SAML_<ID>_TRUST_EMAIL (whether the IdP's email attribute counts as verified; true)."""
    apps = []
    for name in names:
        prefix = provider_prefix("SAML", name)
        url, path = os.environ.get(prefix + "METADATA_URL", ""), os.environ.get(prefix + "METADATA_FILE", "")
        if bool(url) == bool(path):
            raise ImproperlyConfigured(
                f"SAML provider {name!r} needs one of {prefix}METADATA_URL, {prefix}METADATA_FILE"
            )
        apps.append(
            {
                "client_id": name,
                "name": os.environ.get(prefix + "LABEL", name.replace("-", " ").title()),
                "settings": {
                    "idp": {"metadata_url": url} if url else saml_metadata_file(prefix, path),
                    "trust_email": envbool(prefix + "TRUST_EMAIL", "true"),
                    "attribute_mapping": SAML_ATTRIBUTES,
                    "use_nameid_for_email": True,
                    # Assertions must be signed, and answer a sign-in we started.
                    "advanced": {
                        "want_assertion_signed": True,
                        "reject_idp_initiated_sso": True,
                        "strict": True,
                    },
                },
            }
        )
    return apps


def saml_metadata_file(prefix: str, path: str) -> dict:
    from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser

    try:
        parsed = OneLogin_Saml2_IdPMetadataParser.parse(Path(path).read_text())["idp"]
        return {
            "entity_id": parsed["entityId"],
            "sso_url": parsed["singleSignOnService"]["url"],
            "x509cert": parsed["x509cert"],
        }
    except (OSError, KeyError, ValueError) as exc:
        raise ImproperlyConfigured(f"{prefix}METADATA_FILE cannot be read as IdP metadata: {exc}") from None


SAML_ATTRIBUTES = {
    "uid": ["urn:oasis:names:tc:SAML:attribute:subject-id"],
    "email": [
        "urn:oid:0.9.2342.19200300.100.1.3",
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
        "email",
    ],
    "first_name": ["urn:oid:2.5.4.42", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname"],
    "last_name": ["urn:oid:2.5.4.4", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname"],
}
SOCIALACCOUNT_PROVIDERS = {
    "sso": {"APPS": oidc_apps(envlist("OIDC_PROVIDERS", "")), "OAUTH_PKCE_ENABLED": True},
    "saml": {"APPS": saml_apps(envlist("SAML_PROVIDERS", ""))},
}

# English is the source language; every other one has a catalogue under locale/ (see the README).
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("sv", "Svenska")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Dates as each language writes them (healthcheck/formats/<language>/formats.py), before Django's own.
FORMAT_MODULE_PATH = ["healthcheck.formats"]
LANGUAGE_COOKIE_AGE = 365 * 24 * 60 * 60
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
try:
    zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(f"TIME_ZONE {TIME_ZONE!r} is not a known time zone") from None
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # Front-end packages come from npm (`npm ci`); they are served, never copied into the tree.
    ("vendor/bootstrap", BASE_DIR / "node_modules" / "bootstrap" / "dist"),
    # Built by `make` from npm packages (frontend/build.mjs): the chart bundle and its stylesheet.
    ("build", BASE_DIR / "build"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "healthcheck.storage.StaticFiles"
    },
}
WHITENOISE_MAX_AGE = 365 * 24 * 3600 if not DEBUG else 0
# Source maps are for developers' tools, never for a page: compressing them (a good part of the
# static files' bytes) would only slow every collectstatic down.
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = (*Compressor.SKIP_COMPRESS_EXTENSIONS, "map")

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Production is served over HTTPS: secure, host-only cookies and HSTS.
HTTPS = envbool("HTTPS", "false" if DEBUG else "true")
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = LANGUAGE_COOKIE_SECURE = HTTPS
if HTTPS:
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "true" if HTTPS else "false")
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers check over plain HTTP
SECURE_HSTS_SECONDS = envint("HSTS_SECONDS", "31536000" if HTTPS else "0", minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("HSTS_INCLUDE_SUBDOMAINS", "true")
SECURE_HSTS_PRELOAD = envbool("HSTS_PRELOAD", "false")
# Behind our own load balancer, which sets X-Forwarded-Proto and appends the client's address to
# X-Forwarded-For. The forwarded address is believed only from the proxies listed in
# TRUSTED_PROXIES (addresses or networks); from anyone else both headers are ignored.
BEHIND_PROXY = envbool("BEHIND_PROXY", "false")
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
try:
    TRUSTED_PROXIES = [ipaddress.ip_network(item, strict=False) for item in envlist("TRUSTED_PROXIES", "")]
except ValueError as exc:
    raise ImproperlyConfigured(f"TRUSTED_PROXIES must list addresses or networks: {exc}") from None
if BEHIND_PROXY and not TRUSTED_PROXIES:
    # Otherwise every client would seem to come from the balancer, and share its limits.
    raise ImproperlyConfigured("BEHIND_PROXY needs TRUSTED_PROXIES: the addresses of the load balancers")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Scripts run only from our own files and with this response's nonce: no inline code, no eval.
# Styles come only from our own files too: plotly's stylesheet is linked where charts are drawn,
# so plotly.js writes no <style> element of its own.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Sign-in throttling: after LOGIN_FAILURE_LIMIT failures for one username, or from one address,
# sign-in answers 429 for LOGIN_COOLOFF_MINUTES, the same whether the account exists or not.
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", "5", minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=envint("LOGIN_COOLOFF_MINUTES", "15", minimum=1))
# Counted per username and, apart, per address: rotating addresses does not save an account,
# and one address cannot try many accounts. The check runs before any password is hashed.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_DISABLE_ACCESS_LOG = True  # sign-ins are kept in our own audit log
AXES_VERBOSE = False
AXES_CLIENT_IP_CALLABLE = "surveys.ratelimit.client_ip"
# Counted per account, whether its username or its email was typed, in any case.
AXES_USERNAME_CALLABLE = "surveys.accounts.axes_username"

# The rules of the health check (see DESIGN.md, "Rules").
HEALTHCHECK_SCORE = {
    "green": envfloat("SCORE_GREEN", "2"),
    "yellow": envfloat("SCORE_YELLOW", "1"),
    "red": envfloat("SCORE_RED", "0"),
}
HEALTHCHECK_LIGHT_GREEN_AT = envfloat("LIGHT_GREEN_AT", "1.5")
HEALTHCHECK_LIGHT_RED_BELOW = envfloat("LIGHT_RED_BELOW", "0.75")
HEALTHCHECK_TREND_ARROW_AT = envfloat("TREND_ARROW_AT", "0.34")
HEALTHCHECK_CHANGE_AT = envfloat("CHANGE_AT", "0.25")
HEALTHCHECK_MIN_RESPONSES = envint("MIN_RESPONSES", "3", minimum=2)
HEALTHCHECK_MIN_COMMENT_RESPONSES = envint("MIN_COMMENT_RESPONSES", "5", minimum=2)
if HEALTHCHECK_MIN_COMMENT_RESPONSES < HEALTHCHECK_MIN_RESPONSES:
    raise ImproperlyConfigured("MIN_COMMENT_RESPONSES must not be below MIN_RESPONSES")

# A card is a possible systemic issue when, among the squads with enough votes (at least
# SYSTEMIC_MIN_SQUADS of them), this share is red, or this share is yellow or red.
HEALTHCHECK_SYSTEMIC_MIN_SQUADS = envint("SYSTEMIC_MIN_SQUADS", "3", minimum=2)
HEALTHCHECK_SYSTEMIC_RED_SHARE = envfloat("SYSTEMIC_RED_SHARE", "0.5")
HEALTHCHECK_SYSTEMIC_TROUBLED_SHARE = envfloat("SYSTEMIC_TROUBLED_SHARE", str(2 / 3))
if not (0 < HEALTHCHECK_SYSTEMIC_RED_SHARE <= 1 and 0 < HEALTHCHECK_SYSTEMIC_TROUBLED_SHARE <= 1):
    raise ImproperlyConfigured("SYSTEMIC_RED_SHARE and SYSTEMIC_TROUBLED_SHARE must be above 0 and at most 1")

if not HEALTHCHECK_SCORE["red"] <= HEALTHCHECK_SCORE["yellow"] <= HEALTHCHECK_SCORE["green"]:
    raise ImproperlyConfigured("SCORE_RED <= SCORE_YELLOW <= SCORE_GREEN must hold")
if HEALTHCHECK_LIGHT_RED_BELOW > HEALTHCHECK_LIGHT_GREEN_AT:
    raise ImproperlyConfigured("LIGHT_RED_BELOW must not be above LIGHT_GREEN_AT")
if not 0 < HEALTHCHECK_TREND_ARROW_AT <= 1:
    raise ImproperlyConfigured("TREND_ARROW_AT must be above 0 and at most 1")
if HEALTHCHECK_CHANGE_AT <= 0:
    raise ImproperlyConfigured("CHANGE_AT must be above 0")

# Workshop invite links: how many wrong tokens, and how many new guest ballots, one address
# may send in ten minutes before it is answered 429.
RATE_LIMIT_PERIOD = 600
RATE_LIMIT_INVITE_FAILURES = envint("RATE_LIMIT_INVITE_FAILURES", "20", minimum=1)
RATE_LIMIT_GUEST_BALLOTS = envint("RATE_LIMIT_GUEST_BALLOTS", "60", minimum=1)

# Reminders (manage.py send_reminders) and the links in them.
REMINDER_DAYS = envint("REMINDER_DAYS", "2", minimum=0)
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
if not SITE_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured("SITE_URL must start with http:// or https://")

# Reminder emails carry a personal link to the person's own ballot: it signs them in on that page
# only, and only while their squad's part of the round is open (checked on use). No link is older
# than this, whatever else holds.
SESAME_MAX_AGE = timedelta(days=envint("REMINDER_LINK_DAYS", "30", minimum=1))
SESAME_TOKEN_NAME = "signin"

# Chat channels (Slack and Microsoft Teams incoming webhooks) per tribe. Webhook URLs are stored
# encrypted with a key derived from WEBHOOK_KEY (or from SECRET_KEY when it is not set), and may only
# point at these hosts (and their subdomains).
WEBHOOK_KEY = os.environ.get("WEBHOOK_KEY", "")
WEBHOOK_HOSTS = envlist(
    "WEBHOOK_HOSTS", "hooks.slack.com,webhook.office.com,logic.azure.com,api.powerplatform.com"
)
WEBHOOK_ALLOW_HTTP = envbool("WEBHOOK_ALLOW_HTTP", "false")  # for a receiver on a private network
WEBHOOK_TIMEOUT = envfloat("WEBHOOK_TIMEOUT", "5")

# The read-only API for reporting tools (/api/v1/): keys made by tribe leads, sent as bearer
# tokens, each allowed this many requests a minute (counted in the database, across app servers).
API_REQUESTS_PER_MINUTE = envint("API_REQUESTS_PER_MINUTE", "120", minimum=1)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["surveys.api.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["surveys.api.auth.HasApiKey"],
    "DEFAULT_THROTTLE_CLASSES": ["surveys.api.auth.PerKeyRate"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer", "surveys.api.formats.CsvRenderer"],
    "DEFAULT_PARSER_CLASSES": [],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "surveys.api.formats.Pages",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Squad health check API",
    "DESCRIPTION": "Read-only results for reporting tools. Colours and counts below the minimum of "
    "answers are null, exactly as on the pages; there is no endpoint for ballots.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"ColourEnum": "surveys.models.Colour", "TrendEnum": "surveys.models.Trend"},
}

EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = envint("EMAIL_PORT", "587", minimum=1)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", "true")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "health-check@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # No log line names a vote or join address: those paths carry invite tokens, or say who voted when.
    "filters": {"quiet_paths": {"()": "healthcheck.logs.QuietPaths"}},
    "formatters": {
        "server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["quiet_paths"]},
        "server": {"class": "logging.StreamHandler", "filters": ["quiet_paths"], "formatter": "server"},
    },
    # Django's own handlers would print request paths unfiltered: its loggers use ours instead.
    "loggers": {
        "django": {
            "handlers": ["console"],
            "level": os.environ.get("LOG_LEVEL", "WARNING"),
            "propagate": False,
        },
        "django.server": {"handlers": ["server"], "level": "INFO", "propagate": False},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
