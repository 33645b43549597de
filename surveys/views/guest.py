"""Workshop voting without an account: an invite link is exchanged for a session, then a clean URL."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from ..models import Ballot, InviteLink
from ..ratelimit import client_address, hit, hits_in_window
from ..services import guest_ballot_submit
from .vote import ballot_page

GUEST_COOKIE = "hc_guest"
GUEST_SALT = "surveys.guest"
SESSION_KEY = "guest_invites"


def _problem(request: HttpRequest, title: str, text: str, status: int) -> HttpResponse:
    response = render(request, "surveys/guest_problem.html", {"title": title, "text": text}, status=status)
    if status == 429:
        response["Retry-After"] = str(settings.RATE_LIMIT_PERIOD)
    return response


def _withdrawn(request: HttpRequest) -> HttpResponse:
    return _problem(request, "This invite link was withdrawn", "Ask your coach for a new one.", 410)


def _too_many(request: HttpRequest) -> HttpResponse:
    return _problem(
        request,
        "Too many attempts",
        "Too many attempts came from your network. Please wait a few minutes and try again.",
        429,
    )


@require_GET
def join(request: HttpRequest, token: str) -> HttpResponse:
    failures = f"invite-failures:{client_address(request)}"
    if hits_in_window(failures, period=settings.RATE_LIMIT_PERIOD) >= settings.RATE_LIMIT_INVITE_FAILURES:
        return _too_many(request)
    invite_id = InviteLink.id_in(token)
    invite = (
        InviteLink.objects.select_related("round", "squad__tribe").filter(pk=invite_id).first()
        if invite_id
        else None
    )
    if invite is None or not invite.matches(token):
        hit(failures, period=settings.RATE_LIMIT_PERIOD)
        return _problem(
            request,
            "This invite link does not work",
            "Check that you have the whole link, or ask your coach for a new one.",
            404,
        )
    if invite.revoked:
        return _withdrawn(request)
    if invite.round.voting_status() == "closed":
        return _problem(
            request,
            "This health check has closed",
            "Thank you! Ballots can no longer be cast or changed.",
            410,
        )
    invites = request.session.get(SESSION_KEY, {})
    invites[f"{invite.round_id}:{invite.squad.slug}"] = invite.pk
    request.session[SESSION_KEY] = invites
    # The token leaves the address bar: the voting page has a clean URL.
    response = redirect("surveys:guest-vote", round_id=invite.round_id, squad_slug=invite.squad.slug)
    if request.get_signed_cookie(GUEST_COOKIE, default=None, salt=GUEST_SALT) is None:
        response.set_signed_cookie(
            GUEST_COOKIE,
            secrets.token_urlsafe(18),
            salt=GUEST_SALT,
            max_age=180 * 24 * 3600,
            secure=request.is_secure(),
            httponly=True,
            samesite="Lax",
        )
    return response


@require_http_methods(["GET", "POST"])
def guest_vote(request: HttpRequest, round_id: int, squad_slug: str) -> HttpResponse:
    invite_id = request.session.get(SESSION_KEY, {}).get(f"{round_id}:{squad_slug}")
    guest_id = request.get_signed_cookie(GUEST_COOKIE, default=None, salt=GUEST_SALT)
    invite = (
        InviteLink.objects.select_related("round", "squad__tribe")
        .filter(pk=invite_id, round_id=round_id, squad__slug=squad_slug)
        .first()
        if invite_id and guest_id
        else None
    )
    if invite is None:
        return _problem(
            request,
            "Open your invite link first",
            "This page works after you open the invite link your coach shared (or scan its QR code).",
            403,
        )
    if invite.revoked:
        return _withdrawn(request)
    key = Ballot.key_for(round_id=invite.round_id, squad_id=invite.squad_id, voter=f"guest:{guest_id}")
    if (
        request.method == "POST"
        and not Ballot.objects.filter(
            round_id=invite.round_id, squad_id=invite.squad_id, voter_key=key
        ).exists()
    ):
        new_ballots = hit(f"guest-ballots:{client_address(request)}", period=settings.RATE_LIMIT_PERIOD)
        if new_ballots > settings.RATE_LIMIT_GUEST_BALLOTS:
            return _too_many(request)
    return ballot_page(
        request,
        invite.round_id,
        invite.squad,
        key,
        lambda answers, _round, _card_ids: guest_ballot_submit(
            invite=invite, guest_id=guest_id, answers=answers
        ),
    )
