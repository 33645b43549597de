"""Who single sign-on lets in: a person whose verified email matches an account, and no one else
unless SSO_CREATE_USERS is on (then they arrive with no roles and are told whom to ask)."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.shortcuts import render

from ..audit import audit
from ..models import AuditEvent


def _refuse(request: HttpRequest, sociallogin, reason: str, email: str = "") -> ImmediateHttpResponse:
    audit(
        AuditEvent.Action.SIGN_IN_FAILED,
        email or "single sign-on",
        request=request,
        method=f"single sign-on ({sociallogin.provider.sub_id})",
        reason=reason,
    )
    ctx = {"reason": reason, "email": email, "provider": sociallogin.provider.name}
    return ImmediateHttpResponse(render(request, "socialaccount/refused.html", ctx, status=403))


class SignOnAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest, sociallogin) -> bool:
        return settings.SSO_CREATE_USERS

    def pre_social_login(self, request: HttpRequest, sociallogin) -> None:
        if sociallogin.state.get("process") not in (None, "", "login", "redirect"):
            # Identities are linked here only by a verified email, never to whoever is signed in.
            raise _refuse(request, sociallogin, "connect")
        if sociallogin.is_existing:
            return  # this identity was matched to its account before
        # A SAML provider is the organisation's own directory: its email counts as verified
        # unless the provider is set not to be trusted for it. Verified means exactly True: some
        # providers send the word "false".
        trusted = sociallogin.provider.app.settings.get("trust_email", False) is True
        verified = [a.email for a in sociallogin.email_addresses if a.verified is True or trusted]
        if not verified:
            shown = next((address.email for address in sociallogin.email_addresses), "")
            raise _refuse(request, sociallogin, "unverified", shown)
        email = verified[0]
        users = list(get_user_model().objects.filter(email__iexact=email)[:2])
        if len(users) > 1:
            raise _refuse(request, sociallogin, "ambiguous", email)
        if users and not users[0].is_active:
            raise _refuse(request, sociallogin, "inactive", email)
        if users:
            sociallogin.connect(request, users[0])
        elif not settings.SSO_CREATE_USERS or EmailAddress.objects.filter(email__iexact=email).exists():
            raise _refuse(request, sociallogin, "unknown", email)

    def save_user(self, request: HttpRequest, sociallogin, form=None):
        user = super().save_user(request, sociallogin, form)
        audit(
            AuditEvent.Action.ROLE_CHANGED,
            user.get_username(),
            request=request,
            actor=user,
            change=f"account made by single sign-on ({sociallogin.provider.sub_id})",
        )
        return user

    def on_authentication_error(self, request, provider, error=None, exception=None, extra_context=None):
        audit(
            AuditEvent.Action.SIGN_IN_FAILED,
            "single sign-on",
            request=request,
            method=f"single sign-on ({getattr(provider, 'sub_id', provider)})",
            reason=str(exception or error or "failed")[:200],
        )
