"""Accounts: nobody signs up on their own, and invitations are links to set a first password."""

from __future__ import annotations

from datetime import timedelta

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.forms import LoginForm
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.db.models import Q
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare
from django.utils.http import base36_to_int, int_to_base36
from django.utils.translation import gettext_lazy as _


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False  # people are added by their tribe lead, by staff or by import

    def format_email_subject(self, subject: str) -> str:
        """The sign-in emails' subjects, after the app's name in the reader's language."""
        return _("Squad health check: %(subject)s") % {"subject": subject}


def axes_username(request: HttpRequest, credentials: dict | None) -> str:
    """The account a sign-in attempt is for, however it was typed (username or email, any case),
    so that failures count against the account and not against each way of writing it."""
    credentials = credentials or {}
    typed = credentials.get("username") or credentials.get("email") or ""
    if not typed and request is not None:
        typed = request.POST.get("login", "")
    typed = str(typed).strip()
    found = list(
        get_user_model()
        .objects.filter(Q(username__iexact=typed) | Q(email__iexact=typed))
        .values_list("username", flat=True)[:2]
    )
    return found[0] if len(found) == 1 else typed.lower()


class SignInForm(LoginForm):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["login"].label = _("Username or email")
        self.fields["login"].widget.attrs.pop("placeholder", None)
        self.fields["password"].widget.attrs.pop("placeholder", None)
        self.fields["password"].help_text = ""  # the page links to the reset itself


class InvitationTokens(PasswordResetTokenGenerator):
    """Like a password-reset link, valid INVITATION_DAYS, and spent once a password is set.

    The token covers the password hash and last sign-in, so setting the password (or signing in
    any other way) makes the link useless.
    """

    key_salt = "surveys.invitation"

    def check_token(self, user, token) -> bool:
        # The base class's check reads PASSWORD_RESET_TIMEOUT; an invitation has its own life.
        if not (user and token):
            return False
        try:
            stamp_b36, _hash = token.split("-")
            stamp = base36_to_int(stamp_b36)
        except ValueError:
            return False
        for secret in [self.secret, *self.secret_fallbacks]:
            if constant_time_compare(self._make_token_with_timestamp(user, stamp, secret), token):
                break
        else:
            return False
        return (
            self._num_seconds(self._now()) - stamp <= timedelta(days=settings.INVITATION_DAYS).total_seconds()
        )


invitation_tokens = InvitationTokens()


def invitation_path(user) -> tuple[str, str]:
    """The two parts of a user's invitation link: their id in base 36 and a fresh token."""
    return int_to_base36(user.pk), invitation_tokens.make_token(user)
