"""The OpenID Connect round trip, with the issuer pinned and every ID token's signature checked.

allauth trusts an ID token fetched straight from the token endpoint without checking its
signature, and takes the issuer from whatever discovery document it is given. Here the issuer is
the one configured (OIDC_<ID>_ISSUER): the discovery document must name it, the ID token must
come from it, and the token must carry a valid signature from the provider's published keys.
"""

from __future__ import annotations

import json

import jwt
import requests
from allauth.account.internal.decorators import login_not_required
from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.helpers import render_authentication_error
from allauth.socialaccount.internal import jwtkit
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from allauth.utils import build_absolute_uri
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse

SIGNING_ALGORITHMS = {
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
}


class SignOnOAuth2Adapter(OpenIDConnectOAuth2Adapter):
    @property
    def openid_config(self) -> dict:
        config = super().openid_config
        expected = self.get_provider().app.settings["issuer"]
        if str(config.get("issuer", "")).rstrip("/") != expected:
            raise OAuth2Error(f"The provider's discovery document names another issuer than {expected}")
        return config

    def complete_login(self, request: HttpRequest, app, token, **kwargs):
        # Who the person is comes from the ID token alone, whose signature is checked: a
        # token response without one is refused.
        if not kwargs.get("response", {}).get("id_token"):
            raise OAuth2Error("The provider sent no ID token")
        return super().complete_login(request, app, token, **kwargs)

    def _decode_id_token(self, app: SocialApp, id_token: str) -> dict:
        try:
            header = jwt.get_unverified_header(id_token)
            algorithm = header.get("alg", "")
            if algorithm not in SIGNING_ALGORITHMS:  # never "none", never a shared secret
                raise OAuth2Error(f"The ID token is signed with {algorithm!r}, which is not accepted")
            key = jwt.algorithms.get_default_algorithms()[algorithm].from_jwk(
                json.dumps(self._signing_key(header.get("kid")))
            )
            claims = jwt.decode(
                id_token,
                key=key,
                algorithms=[algorithm],
                issuer=self.openid_config["issuer"],
                audience=app.client_id,
                options={"require": ["iss", "aud", "exp", "iat", "sub"]},
            )
        except (jwt.PyJWTError, ValueError, KeyError) as exc:
            raise OAuth2Error(f"The ID token is not valid: {exc}") from exc
        jwtkit.verify_jti(claims)  # a token is used once
        return claims

    def _signing_key(self, kid: str | None) -> dict:
        """The published key that signed the token: the one with its key id, or the only one."""
        with get_adapter().get_requests_session() as session:
            response = session.get(self.openid_config["jwks_uri"])
            response.raise_for_status()
            keys = [k for k in response.json().get("keys", []) if k.get("use", "sig") == "sig"]
        matching = [k for k in keys if k.get("kid") == kid] if kid else keys
        if len(matching) != 1:
            raise OAuth2Error("The provider publishes no single key for this ID token")
        return matching[0]

    def get_callback_url(self, request: HttpRequest, app) -> str:
        callback_url = reverse("sso_callback", kwargs={"provider_id": self.provider_id})
        return build_absolute_uri(request, callback_url, self.redirect_uri_protocol)


@login_not_required
def login(request: HttpRequest, provider_id: str) -> HttpResponse:
    try:
        adapter = SignOnOAuth2Adapter(request, provider_id)
        return OAuth2LoginView.adapter_view(adapter)(request)
    except SocialApp.DoesNotExist:
        raise Http404("No such sign-in provider") from None
    except (OAuth2Error, requests.RequestException, ValueError) as exc:
        # The provider's discovery document could not be fetched, read or trusted.
        return render_authentication_error(request, adapter.get_provider(), exception=exc)


@login_not_required
def callback(request: HttpRequest, provider_id: str) -> HttpResponse:
    try:
        return OAuth2CallbackView.adapter_view(SignOnOAuth2Adapter(request, provider_id))(request)
    except SocialApp.DoesNotExist:
        raise Http404("No such sign-in provider") from None
