"""Voting: the home page, the member's ballot, and workshop guests who vote through an invite link."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from sesame.backends import ModelBackend as SesameBackend
from sesame.tokens import parse_token as parse_link_token

from ..access import get_squad_for_member, is_member, roles_of, supports
from ..forms import COLOUR_HINTS, BallotForm
from ..guests import forget_guest, guest_link_id, guest_of, remember_guest
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
    Workshop,
)
from ..progress import supported_rounds
from ..ratelimit import client_address, hit, hits_in_window
from ..selectors import round_cards
from ..services import (
    AnswerInput,
    BallotRejected,
    ballot_link_scope,
    ballot_submit,
    guest_ballot_submit,
    invite_is_live,
)


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
    parts = {(p.round_id, p.squad_id): p for p in RoundSquad.objects.filter(round__in=rounds)}
    checks = []
    for rnd in rounds:
        for squad in sorted(squads, key=lambda s: s.name):
            part = parts.get((rnd.pk, squad.pk))
            if squad.tribe_id != rnd.tribe_id or (part is not None and part.state == RoundSquad.State.CLOSED):
                continue
            key = Ballot.key_for_user(part=part, user_id=request.user.pk) if part is not None else ""
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
        "supported": supported_rounds(roles),
        "min_responses": settings.HEALTHCHECK_MIN_RESPONSES,
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


def _part(rnd: Round, squad: Squad) -> RoundSquad | None:
    return RoundSquad.objects.filter(round=rnd, squad=squad).first()


def _status(rnd: Round, part: RoundSquad | None) -> str:
    """Whether this squad can vote in the round now: "open", "not-yet-open", "closed" or "finished"."""
    if part is not None and part.state == RoundSquad.State.CLOSED:
        return "finished"
    return rnd.voting_status()


def ballot_page(
    request: HttpRequest,
    round_id: int,
    squad: Squad,
    voter: str,
    submit: Callable[[Round, list[AnswerInput], set[int]], object],
    guest: bool = False,
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
                status = _status(rnd, _part(rnd, squad))
            else:
                no_colour, no_trend = form.missing()
                answered = len(cards) - len(no_colour)
                messages.success(
                    request,
                    _("Your ballot is saved: answered %(answered)s of %(cards)s.")
                    % {"answered": answered, "cards": len(cards)},
                )
                if no_colour:
                    messages.warning(
                        request, _("Still to answer: %(no_colour)s.") % {"no_colour": _names(no_colour)}
                    )
                if no_trend:
                    messages.info(
                        request, _("No trend chosen yet for: %(no_trend)s.") % {"no_trend": _names(no_trend)}
                    )
                return redirect(request.path + ("?saved=1" if guest else ""))
    else:
        part = _part(rnd, squad)
        status = _status(rnd, part)
        answers = []
        if part is not None and part.state == RoundSquad.State.OPEN:
            key = Ballot.key_for(part=part, voter=voter)
            answers = Answer.objects.filter(ballot__round=rnd, ballot__squad=squad, ballot__voter_key=key)
        form = BallotForm(cards, answers=answers)
    ctx = {
        "round": rnd,
        "squad": squad,
        "form": form,
        "status": status,
        "posted": request.method == "POST",
        "guest": guest,
        "saved": guest and request.GET.get("saved") == "1" and status == "open",
        "card_fields": form.card_fields(),
        "answered": form.answered_count(),
        "total": len(cards),
        "colour_hints": {str(colour): hint for colour, hint in COLOUR_HINTS.items()},
        "comment_max_length": COMMENT_MAX_LENGTH,
    }
    if ctx["saved"] and ctx["answered"]:
        # A guest who has just saved sees that they are done, not the whole form again.
        return render(request, "surveys/guest_saved.html", ctx)
    return render(request, "surveys/vote.html", ctx, status=http_status)


def _signs_in_with_ballot_link(view: Callable) -> Callable:
    """Let a reminder's personal link sign its person in, on this ballot only, while it is open.

    The token leaves the address at once (a redirect to the clean URL), so it is neither kept in
    the browser's history nor sent on as a referrer. A link for a squad whose part has closed, or
    for another ballot, signs nobody in.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, round_id: int, squad_slug: str) -> HttpResponse:
        if request.method != "GET" or settings.SESAME_TOKEN_NAME not in request.GET:
            return view(request, round_id, squad_slug)
        rnd = Round.objects.accepting_votes().filter(pk=round_id).first()
        squad = Squad.objects.filter(slug=squad_slug, tribe_id=getattr(rnd, "tribe_id", None)).first()
        user = None
        if (
            squad is not None
            and not RoundSquad.objects.filter(round=rnd, squad=squad, state=RoundSquad.State.CLOSED).exists()
        ):
            # Checked here rather than through authenticate(): a stale link is not a failed password
            # sign-in, so it neither counts towards the lock-out nor is recorded with its token.
            user = parse_link_token(
                request.GET[settings.SESAME_TOKEN_NAME],
                SesameBackend().get_user,
                scope=ballot_link_scope(round_id=rnd.pk, squad_id=squad.pk),
            )
        if user is not None and SquadRole.objects.members().filter(user=user, squad=squad).exists():
            if request.user != user:
                request.sign_in_method = "reminder link"
                login(request, user, backend="sesame.backends.ModelBackend")
        elif not request.user.is_authenticated:
            messages.warning(
                request,
                _(
                    "That reminder link no longer works: the squad has finished this health check, or the "
                    "link was for another page. Sign in to vote."
                ),
            )
        return redirect(request.path)

    return wrapper


@_signs_in_with_ballot_link
@login_required
@require_http_methods(["GET", "POST"])
def vote(request: HttpRequest, round_id: int, squad_slug: str) -> HttpResponse:
    squad = get_squad_for_member(request, squad_slug)
    voter = f"user:{request.user.pk}"
    return ballot_page(
        request,
        round_id,
        squad,
        voter,
        lambda rnd, answers, card_ids: ballot_submit(
            round=rnd, squad=squad, voter=voter, answers=answers, card_ids=card_ids
        ),
    )


# Workshop links. A sign-in link leads to the person's own ballot. An open link lets a guest
# without an account vote once per browser: the link is exchanged for a signed cookie (never a
# server session) and a clean URL, so the token leaves the address bar.


def _problem(request: HttpRequest, title: str, text: str, status: int) -> HttpResponse:
    response = render(request, "surveys/guest_problem.html", {"title": title, "text": text}, status=status)
    if status == 429:
        response["Retry-After"] = str(settings.RATE_LIMIT_PERIOD)
    return response


def _expired(request: HttpRequest) -> HttpResponse:
    return _problem(
        request,
        _("This workshop link no longer works"),
        _(
            "It was withdrawn, or the squad has finished this health check. Ask your coach if you still need to vote."
        ),
        410,
    )


def _too_many(request: HttpRequest) -> HttpResponse:
    return _problem(
        request,
        _("Too many attempts"),
        _("Too many attempts came from your network. Please wait a few minutes and try again."),
        429,
    )


def _member_or_supporter(request: HttpRequest, invite: InviteLink) -> HttpResponse | None:
    """Where a signed-in person who opens a link goes instead of a guest ballot, if anywhere.

    A member goes to their own ballot: one person, one ballot, whatever the path. Whoever made
    the link or supports the squad may not vote through it.
    """
    if not request.user.is_authenticated:
        return None
    if is_member(request, invite.squad):
        messages.info(request, _("You are a member of this squad: this is your own ballot."))
        return redirect("surveys:vote", round_id=invite.round_id, squad_slug=invite.squad.slug)
    if supports(request, invite.squad, invite):
        return _problem(
            request,
            _("You run this workshop"),
            _("People who support the squad do not vote through its workshop link."),
            403,
        )
    return None


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
            _("This workshop link does not work"),
            _("Check that you have the whole link, or ask your coach for a new one."),
            404,
        )
    if not invite_is_live(invite):
        return _expired(request)
    workshop = (
        Workshop.objects.filter(part__round=invite.round_id, part__squad=invite.squad_id)
        .exclude(state=Workshop.State.FINISHED)
        .first()
    )
    if invite.kind == InviteLink.Kind.SIGN_IN:
        # Sign in (if needed), then one's own ballot, on the workshop's phone view while one runs;
        # both answer 404 to people who are not members.
        if workshop is not None:
            return redirect("surveys:workshop-phone", workshop_id=workshop.pk)
        return redirect("surveys:vote", round_id=invite.round_id, squad_slug=invite.squad.slug)
    elsewhere = _member_or_supporter(request, invite)
    if elsewhere is not None:
        return elsewhere
    response = redirect("surveys:guest-vote", round_id=invite.round_id, squad_slug=invite.squad.slug)
    if workshop is not None:
        response = redirect("surveys:workshop-phone", workshop_id=workshop.pk)
    remember_guest(request, response, invite)
    return response


@require_http_methods(["GET", "POST"])
def guest_vote(request: HttpRequest, round_id: int, squad_slug: str) -> HttpResponse:
    if SquadRole.Role.MEMBER in roles_of(request).squads.get(squad_slug, (None, set()))[1]:
        # A member votes on their own ballot, whatever the path.
        return redirect("surveys:vote", round_id=round_id, squad_slug=squad_slug)
    link_id = guest_link_id(request)
    invite = (
        InviteLink.objects.select_related("round", "squad__tribe", "created_by")
        .filter(pk=link_id, round_id=round_id, squad__slug=squad_slug, kind=InviteLink.Kind.OPEN)
        .first()
        if link_id
        else None
    )
    if invite is None:
        return _problem(
            request,
            _("Open your workshop link first"),
            _("This page works after you open the workshop link your coach shared (or scan its QR code)."),
            403,
        )
    if not invite_is_live(invite):
        return _expired(request)
    elsewhere = _member_or_supporter(request, invite)
    if elsewhere is not None:
        return elsewhere
    guest_id = guest_of(request, invite)
    if request.method == "POST":
        new_ballots = hit(f"guest-ballots:{client_address(request)}", period=settings.RATE_LIMIT_PERIOD)
        if new_ballots > settings.RATE_LIMIT_GUEST_BALLOTS:
            return _too_many(request)
    return ballot_page(
        request,
        invite.round_id,
        invite.squad,
        f"guest:{guest_id}",
        lambda _round, answers, card_ids: guest_ballot_submit(
            invite=invite, guest_id=guest_id, answers=answers, card_ids=card_ids
        ),
        guest=True,
    )


@require_POST
def guest_forget(request: HttpRequest) -> HttpResponse:
    """Forget this browser: its ballot stays, but nobody using it can open or change that ballot again."""
    response = render(
        request,
        "surveys/guest_problem.html",
        {
            "title": _("This browser is forgotten"),
            "text": _("Your ballot stays counted. Thank you for taking part!"),
        },
    )
    forget_guest(response)
    return response
