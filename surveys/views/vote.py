from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from ..access import get_squad_for_member
from ..context_processors import navigation_from
from ..forms import COLOUR_HINTS, BallotForm
from ..models import Answer, Ballot, Round, RoundCard, Squad, SquadRole, TribeRole
from ..services import AnswerInput, BallotRejected, ballot_submit


def _names(cards: list) -> str:
    return ", ".join(card.name for card in cards)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    squad_roles = list(SquadRole.objects.filter(user=request.user).select_related("squad__tribe"))
    tribe_roles = list(TribeRole.objects.filter(user=request.user).select_related("tribe"))
    memberships = [r for r in squad_roles if r.role == SquadRole.Role.MEMBER]
    squads = [m.squad for m in memberships]
    rounds = list(
        Round.objects.filter(
            tribe__in={s.tribe_id for s in squads}, state=Round.State.OPEN, closes_at__gt=now
        )
        .annotate(card_count=Count("round_cards"))
        .order_by("closes_at", "title")
    )
    checks = []
    for rnd in rounds:
        for squad in squads:
            if squad.tribe_id == rnd.tribe_id:
                key = Ballot.key_for_user(round_id=rnd.pk, squad_id=squad.pk, user_id=request.user.pk)
                checks.append({"round": rnd, "squad": squad, "key": key, "answered": 0})
    if checks:
        answered = dict(
            Ballot.objects.filter(round__in=rounds, voter_key__in=[c["key"] for c in checks])
            .annotate(n=Count("answers"))
            .values_list("voter_key", "n")
        )
        for check in checks:
            check["answered"] = answered.get(check["key"], 0)
            check["upcoming"] = check["round"].opens_at > now
    ctx = {
        "checks": checks,
        "memberships": memberships,
        "tribe_roles": tribe_roles,
        "coached": [r for r in squad_roles if r.role == SquadRole.Role.COACH],
        "nav": navigation_from(
            [
                (r.squad.slug, r.squad.name, r.squad.tribe.slug, r.squad.tribe.name, r.role)
                for r in squad_roles
            ]
            + [("", "", r.tribe.slug, r.tribe.name, r.role) for r in tribe_roles]
        ),
    }
    return render(request, "surveys/home.html", ctx)


def ballot_page(
    request: HttpRequest,
    rnd: Round,
    squad: Squad,
    voter_key: str,
    submit: Callable[[list[AnswerInput]], object],
    extra: dict | None = None,
) -> HttpResponse:
    """The voting page for one voter (a member or a workshop guest): show, check and save the ballot."""
    cards = [rc.card for rc in RoundCard.objects.filter(round=rnd).select_related("card")]
    answers = Answer.objects.filter(ballot__round=rnd, ballot__squad=squad, ballot__voter_key=voter_key)
    status = rnd.voting_status()

    http_status = 200
    if request.method == "POST":
        form = BallotForm(cards, request.POST)
        if status != "open":
            # Keep what was typed on screen, but store nothing.
            form.is_valid()
            http_status = 409
        elif form.is_valid():
            try:
                submit(form.answer_inputs())
            except BallotRejected as exc:
                form.add_error(None, str(exc))
                http_status = 409
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
        form = BallotForm(cards, answers=answers)

    ctx = {
        "round": rnd,
        "squad": squad,
        "form": form,
        "status": status,
        "card_fields": form.card_fields(),
        "answered": form.answered_count(),
        "total": len(cards),
        "colour_hints": {str(colour): hint for colour, hint in COLOUR_HINTS.items()},
        **(extra or {}),
    }
    return render(request, "surveys/vote.html", ctx, status=http_status)


@login_required
@require_http_methods(["GET", "POST"])
def vote(request: HttpRequest, round_id: int, squad_slug: str) -> HttpResponse:
    squad = get_squad_for_member(request, squad_slug)
    rnd = get_object_or_404(Round, pk=round_id, tribe_id=squad.tribe_id)
    key = Ballot.key_for_user(round_id=rnd.pk, squad_id=squad.pk, user_id=request.user.pk)
    return ballot_page(
        request,
        rnd,
        squad,
        key,
        lambda answers: ballot_submit(round=rnd, squad=squad, voter_key=key, answers=answers),
    )
