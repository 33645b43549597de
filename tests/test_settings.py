from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from healthcheck.settings import BASE_DIR, database_from_url

ROOT = Path(__file__).resolve().parent.parent


def start(**env: str) -> subprocess.CompletedProcess:
    """Start Django in a fresh process with these environment variables."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SECRET_KEY", "BALLOT_SECRET", "DEBUG", "DATABASE_URL")
    }
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={**clean, "DJANGO_SETTINGS_MODULE": "healthcheck.settings", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_it_starts_with_no_configuration():
    assert start().returncode == 0


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off():
    result = start(DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr
    assert start(DEBUG="false", SECRET_KEY="s" * 50, BALLOT_SECRET="b" * 43).returncode == 0


@pytest.mark.parametrize(
    ("ballot_secret", "message"),
    [
        ("", "BALLOT_SECRET must be set when DEBUG is off"),
        ("s" * 50, "BALLOT_SECRET must differ from SECRET_KEY"),
        ("short-secret", "BALLOT_SECRET must be at least 32 random bytes"),
    ],
)
def test_production_needs_its_own_strong_ballot_secret(ballot_secret, message):
    result = start(DEBUG="false", SECRET_KEY="s" * 50, BALLOT_SECRET=ballot_secret)
    assert result.returncode != 0
    assert message in result.stderr


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG must be true or false"),
        ("MIN_RESPONSES", "three", "MIN_RESPONSES must be a whole number"),
        ("MIN_RESPONSES", "1", "MIN_RESPONSES must be at least 2"),
        ("MIN_COMMENT_RESPONSES", "2", "MIN_COMMENT_RESPONSES must not be below MIN_RESPONSES"),
        ("TRUSTED_PROXIES", "10.0.0.0/33", "TRUSTED_PROXIES must list addresses or networks"),
        ("BEHIND_PROXY", "true", "BEHIND_PROXY needs TRUSTED_PROXIES"),
        ("LIGHT_GREEN_AT", "high", "LIGHT_GREEN_AT must be a number"),
        ("LIGHT_RED_BELOW", "1.8", "LIGHT_RED_BELOW must not be above LIGHT_GREEN_AT"),
        ("TIME_ZONE", "Mars/Olympus", "TIME_ZONE 'Mars/Olympus' is not a known time zone"),
        ("SYSTEMIC_MIN_SQUADS", "1", "SYSTEMIC_MIN_SQUADS must be at least 2"),
        ("SYSTEMIC_RED_SHARE", "0", "SYSTEMIC_RED_SHARE and SYSTEMIC_TROUBLED_SHARE must be above 0"),
        ("SYSTEMIC_TROUBLED_SHARE", "1.5", "SYSTEMIC_RED_SHARE and SYSTEMIC_TROUBLED_SHARE must be above 0"),
        ("DATABASE_URL", "mysql://db/x", "DATABASE_URL must start with sqlite:// or postgres://"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(name, value, message):
    result = start(**{name: value})
    assert result.returncode != 0
    assert message in result.stderr


def test_database_urls_are_understood():
    assert database_from_url("sqlite:///db.sqlite3")["NAME"] == BASE_DIR / "db.sqlite3"
    assert database_from_url("sqlite:////var/lib/hc.sqlite3")["NAME"] == Path("/var/lib/hc.sqlite3")
    pg = database_from_url("postgres://hc:p%40ss@db.internal:6432/health?sslmode=require")
    assert pg["ENGINE"] == "django.db.backends.postgresql"
    assert (pg["USER"], pg["PASSWORD"], pg["HOST"], pg["PORT"], pg["NAME"]) == (
        "hc",
        "p@ss",
        "db.internal",
        "6432",
        "health",
    )
    assert pg["OPTIONS"] == {"sslmode": "require"}
    assert pg["CONN_HEALTH_CHECKS"] is True
    with pytest.raises(ImproperlyConfigured, match="needs a database name"):
        database_from_url("postgres://db.internal/")


PRODUCTION = {"DEBUG": "false", "SECRET_KEY": "s" * 50, "BALLOT_SECRET": "b" * 50}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"OIDC_PROVIDERS": "Okta"}, "must be lower-case letters, digits and dashes"),
        ({"OIDC_PROVIDERS": "okta", "OIDC_OKTA_ISSUER": "https://okta.example"}, "needs OIDC_OKTA_CLIENT_ID"),
        (
            {
                "OIDC_PROVIDERS": "okta",
                "OIDC_OKTA_ISSUER": "http://okta.example",
                "OIDC_OKTA_CLIENT_ID": "id",
                "OIDC_OKTA_SECRET": "secret",
                **PRODUCTION,
            },
            "OIDC_OKTA_ISSUER must be an https:// URL",
        ),
        ({"SAML_PROVIDERS": "adfs"}, "needs one of SAML_ADFS_METADATA_URL, SAML_ADFS_METADATA_FILE"),
        (
            {"SAML_PROVIDERS": "adfs", "SAML_ADFS_METADATA_FILE": "/nonexistent.xml"},
            "cannot be read as IdP metadata",
        ),
    ],
)
def test_it_refuses_a_sign_on_provider_set_up_wrong(env, message):
    result = start(**env)
    assert result.returncode != 0 and message in result.stderr


def test_sign_on_providers_come_from_the_environment():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "app = settings.SOCIALACCOUNT_PROVIDERS['sso']['APPS'][0]; "
            "print(app['provider_id'], app['name'], app['settings']['server_url'])",
        ],
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "healthcheck.settings",
            "OIDC_PROVIDERS": "entra",
            "OIDC_ENTRA_ISSUER": "https://login.example.com/tenant/v2.0/",
            "OIDC_ENTRA_CLIENT_ID": "id",
            "OIDC_ENTRA_SECRET": "secret",
            "OIDC_ENTRA_LABEL": "Microsoft",
        },
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == [
        "entra",
        "Microsoft",
        "https://login.example.com/tenant/v2.0/.well-known/openid-configuration",
    ]
