"""The OpenID Connect provider kind "sso": allauth's, with its adapter's stricter checks."""

from __future__ import annotations

from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider

from .views import SignOnOAuth2Adapter


class SignOnProvider(OpenIDConnectProvider):
    id = "sso"
    name = "Single sign-on"
    oauth2_adapter_class = SignOnOAuth2Adapter


provider_classes = [SignOnProvider]
