"""Workshop guests: who a browser is, for one open link, kept in a signed cookie and nowhere else.

There is no server session for guests, so nothing on the server ties a browser to a ballot
beyond the voter key, which is random once the squad finishes.
"""

from __future__ import annotations

import secrets

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from .models import InviteLink

GUEST_COOKIE = "hc_guest"
GUEST_SALT = "surveys.guest"


def guest_of(request: HttpRequest, invite: InviteLink | None = None) -> str | None:
    """The browser's guest id for this open link (or for any link when none is given), if it has one."""
    value = request.get_signed_cookie(GUEST_COOKIE, default=None, salt=GUEST_SALT)
    if not value:
        return None
    invite_id, _, guest_id = value.partition(":")
    if not (invite_id.isascii() and invite_id.isdigit() and guest_id):
        return None
    if invite is not None and int(invite_id) != invite.pk:
        return None
    return guest_id


def guest_link_id(request: HttpRequest) -> int | None:
    value = request.get_signed_cookie(GUEST_COOKIE, default=None, salt=GUEST_SALT) or ""
    invite_id = value.partition(":")[0]
    return int(invite_id) if invite_id.isascii() and invite_id.isdigit() else None


def remember_guest(request: HttpRequest, response: HttpResponse, invite: InviteLink) -> None:
    """Give the browser a guest id for this link, until the round closes."""
    if guest_of(request, invite) is not None:
        return
    response.set_signed_cookie(
        GUEST_COOKIE,
        f"{invite.pk}:{secrets.token_urlsafe(18)}",
        salt=GUEST_SALT,
        max_age=max(60, int((invite.round.closes_at - timezone.now()).total_seconds())),
        secure=request.is_secure(),
        httponly=True,
        samesite="Lax",
    )


def forget_guest(response: HttpResponse) -> None:
    response.delete_cookie(GUEST_COOKIE, samesite="Lax")
