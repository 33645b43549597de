"""Single sign-on with OpenID Connect, end to end against a real provider started here on loopback.

The provider (oidc-provider-mock) serves discovery, authorisation, the token endpoint, userinfo and
its signing keys over HTTP; our app fetches all of them for real. A second small server, the
"relay", serves altered discovery documents and keys for the cases that must be refused.
"""

from __future__ import annotations

import json
import os
import threading
import urllib.error
import urllib.request
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock
from urllib.parse import urlencode, urlsplit

import pytest
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user_model
from joserfc.jwk import RSAKey
from oidc_provider_mock import run_server_in_thread

from healthcheck.settings import oidc_apps
from surveys.models import AuditEvent, SquadRole

from .factories import add_member, make_user

pytestmark = pytest.mark.django_db

PROVIDER_ID = "corp"


@pytest.fixture(scope="module")
def provider():
    with run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


@contextmanager
def relay(routes: dict[str, dict]):
    """A loopback server answering each path with a JSON document."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = routes.get(self.path.split("?")[0])
            if body is None:
                self.send_error(404)
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def fetch(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def set_claims(provider: str, sub: str, **claims) -> None:
    request = urllib.request.Request(
        f"{provider}/users/{sub}",
        data=json.dumps(claims).encode(),
        headers={"Content-Type": "application/json"},
        method="PUT",
    )
    urllib.request.urlopen(request, timeout=5).close()


def configure(settings, issuer: str, discovery: str | None = None) -> None:
    """The provider as OIDC_PROVIDERS and OIDC_CORP_* set it up."""
    env = {
        "OIDC_CORP_ISSUER": issuer,
        "OIDC_CORP_CLIENT_ID": "health-check",
        "OIDC_CORP_SECRET": "client-secret",
        "OIDC_CORP_LABEL": "Corp login",
    }
    if discovery:
        env["OIDC_CORP_DISCOVERY_URL"] = discovery
    with mock.patch.dict(os.environ, env):
        apps = oidc_apps([PROVIDER_ID])
    settings.SOCIALACCOUNT_PROVIDERS = {
        **settings.SOCIALACCOUNT_PROVIDERS,
        "sso": {"APPS": apps, "OAUTH_PKCE_ENABLED": True},
    }


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def sign_in_through(client, sub: str, **form):
    """Press the button, sign in at the provider as `sub`, come back: the callback's answer."""
    start = client.post(f"/accounts/sso/{PROVIDER_ID}/login/", form)
    assert start.status_code == 302, start.content[:500]
    authorize = start["Location"]
    assert authorize.startswith("http") and "code_challenge=" in authorize
    request = urllib.request.Request(authorize, data=urlencode({"sub": sub}).encode(), method="POST")
    try:
        urllib.request.build_opener(_NoRedirect).open(request, timeout=5)
        raise AssertionError("the provider did not send the browser back")
    except urllib.error.HTTPError as answer:
        assert answer.code == 302, answer.read()[:500]
        back = urlsplit(answer.headers["Location"])
    assert back.path == f"/accounts/sso/{PROVIDER_ID}/login/callback/"
    return client.get(f"{back.path}?{back.query}")


def signed_in_as(client):
    return client.get("/").wsgi_request.user


def test_the_sign_in_page_shows_the_provider(client, settings, provider):
    configure(settings, provider)
    page = client.get("/accounts/login/").content.decode()
    assert "Sign in with Corp login" in page
    assert f'action="/accounts/sso/{PROVIDER_ID}/login/"' in page


def test_a_verified_email_signs_in_the_person_who_has_it(client, settings, provider, squad):
    configure(settings, provider)
    alice = make_user("alice")
    add_member(squad, alice)
    set_claims(provider, "alice-at-corp", email="ALICE@example.com", email_verified=True, name="Alice A")
    response = sign_in_through(client, "alice-at-corp")
    assert response.status_code == 302 and response["Location"] == "/"
    assert signed_in_as(client) == alice
    assert SocialAccount.objects.get(user=alice).uid == "alice-at-corp"
    event = AuditEvent.objects.get(action=AuditEvent.Action.SIGNED_IN)
    assert event.actor == alice and event.detail["method"] == f"single sign-on ({PROVIDER_ID})"
    # The next time the identity is known already.
    client.logout()
    assert sign_in_through(client, "alice-at-corp").status_code == 302
    assert signed_in_as(client) == alice


def test_an_unknown_email_is_refused_with_a_clear_page(client, settings, provider):
    configure(settings, provider)
    set_claims(provider, "stranger", email="stranger@example.com", email_verified=True)
    response = sign_in_through(client, "stranger")
    assert response.status_code == 403
    assert b"no one here has that address" in response.content
    assert not signed_in_as(client).is_authenticated
    assert not get_user_model().objects.filter(email="stranger@example.com").exists()
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.SIGN_IN_FAILED, detail__reason="unknown"
    ).exists()


def test_an_unknown_email_gets_an_account_without_roles_when_allowed(client, settings, provider):
    configure(settings, provider)
    settings.SSO_CREATE_USERS = True
    set_claims(provider, "newcomer", email="newcomer@example.com", email_verified=True)
    response = sign_in_through(client, "newcomer")
    assert response.status_code == 302
    person = signed_in_as(client)
    assert person.is_authenticated and person.email == "newcomer@example.com"
    assert not SquadRole.objects.filter(user=person).exists() and not person.is_staff
    home = client.get("/").content.decode()
    assert "Ask your tribe lead to add you" in home
    made = AuditEvent.objects.get(action=AuditEvent.Action.ROLE_CHANGED)
    assert made.detail["change"] == f"account made by single sign-on ({PROVIDER_ID})" and made.actor == person


def test_an_unverified_email_is_refused(client, settings, provider):
    configure(settings, provider)
    make_user("alice")
    set_claims(provider, "alice-unverified", email="alice@example.com", email_verified=False)
    response = sign_in_through(client, "alice-unverified")
    assert response.status_code == 403 and b"did not confirm" in response.content
    assert not signed_in_as(client).is_authenticated


def test_a_token_from_another_issuer_is_refused(client, settings, provider):
    """The discovery document names the configured issuer, but the ID token comes from another."""
    real = fetch(f"{provider}/.well-known/openid-configuration")
    make_user("alice")
    set_claims(provider, "alice-at-corp", email="alice@example.com", email_verified=True)
    routes: dict[str, dict] = {}
    with relay(routes) as impostor:
        routes["/.well-known/openid-configuration"] = {**real, "issuer": impostor}
        configure(settings, impostor)
        response = sign_in_through(client, "alice-at-corp")
    assert b"Single sign-on did not work" in response.content
    assert not signed_in_as(client).is_authenticated
    assert AuditEvent.objects.filter(action=AuditEvent.Action.SIGN_IN_FAILED).exists()


def test_a_discovery_document_naming_another_issuer_is_refused(client, settings, provider):
    with relay(
        {"/.well-known/openid-configuration": fetch(f"{provider}/.well-known/openid-configuration")}
    ) as other:
        configure(settings, other)  # the document there says the issuer is the provider, not `other`
        response = client.post(f"/accounts/sso/{PROVIDER_ID}/login/")
    assert b"Single sign-on did not work" in response.content
    assert not signed_in_as(client).is_authenticated


def test_a_token_with_a_bad_signature_is_refused(client, settings, provider):
    """The keys published for the provider do not hold the one that signed the token."""
    real = fetch(f"{provider}/.well-known/openid-configuration")
    published = fetch(real["jwks_uri"])["keys"][0]
    stranger = RSAKey.generate_key(
        2048, parameters={"kid": published["kid"], "alg": published.get("alg", "RS256")}
    )
    make_user("alice")
    set_claims(provider, "alice-at-corp", email="alice@example.com", email_verified=True)
    routes: dict[str, dict] = {"/jwks": {"keys": [stranger.as_dict(private=False)]}}
    with relay(routes) as keys:
        routes["/.well-known/openid-configuration"] = {**real, "jwks_uri": f"{keys}/jwks"}
        configure(settings, provider, discovery=f"{keys}/.well-known/openid-configuration")
        response = sign_in_through(client, "alice-at-corp")
    assert b"Single sign-on did not work" in response.content
    assert not signed_in_as(client).is_authenticated


def test_only_a_verified_email_that_is_exactly_true_counts(client, settings, provider):
    configure(settings, provider)
    make_user("alice")
    set_claims(provider, "alice-says-false", email="alice@example.com", email_verified="false")
    response = sign_in_through(client, "alice-says-false")
    assert response.status_code == 403 and b"did not confirm" in response.content
    assert not signed_in_as(client).is_authenticated


def test_an_identity_is_never_linked_to_whoever_is_signed_in(client, settings, provider):
    configure(settings, provider)
    settings.SSO_CREATE_USERS = True
    victim = make_user("victim")
    client.force_login(victim)
    set_claims(provider, "eve", email="eve@example.com", email_verified=True)
    response = sign_in_through(client, "eve", process="connect")
    assert response.status_code == 403
    assert not SocialAccount.objects.exists()


def test_a_switched_off_account_is_not_signed_in_and_not_duplicated(client, settings, provider):
    configure(settings, provider)
    settings.SSO_CREATE_USERS = True
    make_user("alice", is_active=False)
    set_claims(provider, "alice-at-corp", email="alice@example.com", email_verified=True)
    response = sign_in_through(client, "alice-at-corp")
    assert response.status_code == 403 and b"switched off" in response.content
    assert get_user_model().objects.filter(email__iexact="alice@example.com").count() == 1
