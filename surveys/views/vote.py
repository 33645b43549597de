"""Voting: the home page, the member's ballot, and workshop guests who vote through an invite link."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from ..access import get_squad_for_member, roles_of
from ..forms import COLOUR_HINTS, BallotForm
from ..models import (
    COMMENT_MAX_LENGTH,
    Answer,
    Ballot,
    InviteLink,
    Round,
    RoundSquad,
    Squad,
    SquadRole,
    TribeRole,
)
from ..ratelimit import client_address, hit, hits_in_window
from ..selectors import round_cards
from ..services import AnswerInput, BallotRejected, ballot_submit, guest_ballot_submit

GUEST_COOKIE = "hc_guest"
GUEST_SALT = "surveys.guest"
SESSION_KEY = "guest_invites"


def _names(cards: list) -> str:
    return ", ".join(card.name for card in cards)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    roles = roles_of(request)
    squads = [squad for squad, kinds in roles.squads.values() if SquadRole.Role.MEMBER in kinds]
    rounds = list(
        Round.objects.filter(
            tribe__in={s.tribe_id for s in squads},
            state__in=[Round.State.SCHEDULED, Round.State.OPEN],
            closes_at__gt=now,
        )
        .annotate(card_count=Count("round_cards"))
        .order_by("closes_at", "title")
    )
    finished = set(
        RoundSquad.objects.filter(round__in=rounds, state=RoundSquad.State.CLOSED).values_list(
            "round_id", "squad_id"
        )
    )
    checks = []
    for rnd in rounds:
        for squad in sorted(squads, key=lambda s: s.name):
            if squad.tribe_id == rnd.tribe_id and (rnd.pk, squad.pk) not in finished:
                key = Ballot.key_for_user(round_id=rnd.pk, squad_id=squad.pk, user_id=request.user.pk)
                checks.append({"round": rnd, "squad": squad, "key": key, "upcoming": rnd.opens_at > now})
    answered = {}
    if checks:
        answered = dict(
            Ballot.objects.filter(round__in=rounds, voter_key__in=[c["key"] for c in checks])
            .annotate(n=Count("answers"))
            .values_list("voter_key", "n")
        )
    for check in checks:
        check["answered"] = answered.get(check["key"], 0)
    tribes_by_id = {t.pk: t for t in roles.tribes.values()}
    ctx = {
        "checks": checks,
        "memberships": sorted(squads, key=lambda s: s.name),
        "coached": sorted(
            (squad for squad, kinds in roles.squads.values() if SquadRole.Role.COACH in kinds),
            key=lambda s: s.name,
        ),
        "tribe_roles": [
            (TribeRole.Role(role).label, tribes_by_id[tribe_id])
            for tribe_id, kinds in roles.tribe_roles.items()
            for role in sorted(kinds)
        ],
    }
    return render(request, "surveys/home.html", ctx)


def _status(rnd: Round, squad: Squad) -> str:
    """Whether this squad can vote in the round now: "open", "not-yet-open", "closed" or "finished"."""
    if RoundSquad.objects.filter(round=rnd, squad=squad, state=RoundSquad.State.CLOSED).exists():
        return "finished"
    return rnd.voting_status()


def ballot_page(
    request: HttpRequest,
    round_id: int,
    squad: Squad,
    voter_key: str,
    submit: Callable[[Round, list[AnswerInput], set[int]], object],
) -> HttpResponse:
    """The voting page for one voter (a member or a workshop guest): show, check and save the ballot.

    Nothing here is cached: the page holds the voter's own answers.
    """
    rnd = get_object_or_404(Round, pk=round_id, tribe_id=squad.tribe_id)
    cards = round_cards(rnd)
    http_status = 200
    if request.method == "POST":
        form = BallotForm(cards, request.POST)
        status = rnd.voting_status()  # the squad's own part is checked under its lock, in submit
        if status != "open":
            form.is_valid()  # keep what was typed on screen, but store nothing
            http_status = 409
        elif form.is_valid():
            try:
                submit(rnd, form.answer_inputs(), {card.pk for card in cards})
            except BallotRejected as exc:
                form.add_error(None, str(exc))
                http_status = 409
                status = _status(rnd, squad)
            else:
                no_colour, no_trend = form.missing()
                answered = len(cards) - len(no_colour)
                messages.success(request, f"Your ballot is saved: answered {answered} of {len(cards)}.")
                if no_colour:
                    messages.warning(request, f"Still to answer: {_names(no_colour)}.")
                if no_trend:
                    messages.info(request, f"No trend chosen yet for: {_names(no_trend)}.")
                return redirect(request.path)
    else:
        status = _status(rnd, squad)
        answers = Answer.objects.filter(ballot__round=rnd, ballot__squad=squad, ballot__voter_key=voter_key)
        form = BallotForm(cards, answers=answers)
    ctx = {
        "round": rnd,
        "squad": squad,
        "form": form,
        "status": status,
        "posted": request.method == "POST",
        "card_fields": form.card_fields(),
        "answered": form.answered_count(),
        "total": len(cards),
        "colour_hints": {str(colour): hint for colour, hint in COLOUR_HINTS.items()},
        "comment_max_length": COMMENT_MAX_LENGTH,
    }
    return render(request, "surveys/vote.html", ctx, status=http_status)


@login_required
@require_http_methods(["GET", "POST"])
def vote(request: HttpRequest, round_id: int, squad_slug: str) -> HttpResponse:
    squad = get_squad_for_member(request, squad_slug)
    key = Ballot.key_for_user(round_id=round_id, squad_id=squad.pk, user_id=request.user.pk)
    return ballot_page(
        request,
        round_id,
        squad,
        key,
        lambda rnd, answers, card_ids: ballot_submit(
            round=rnd, squad=squad, voter_key=key, answers=answers, card_ids=card_ids
        ),
    )


# Workshop guests: an invite link is exchanged for a session, then a clean URL.


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
        lambda _round, answers, _card_ids: guest_ballot_submit(
            invite=invite, guest_id=guest_id, answers=answers
        ),
    )
