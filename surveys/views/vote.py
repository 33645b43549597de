from __future__ import annotations

import hashlib
from collections.abc import Callable
from types import SimpleNamespace

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from ..access import get_squad_for_member, roles_of
from ..forms import COLOUR_HINTS, BallotForm
from ..models import Answer, Ballot, Round, Squad, SquadRole, TribeRole
from ..pagecache import cached_part
from ..services import AnswerInput, BallotRejected, ballot_submit, round_for_voting
from .results import round_cards


def _names(cards: list) -> str:
    return ", ".join(card.name for card in cards)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    roles = roles_of(request)
    squads = [squad for squad, kinds in roles.squads.values() if SquadRole.Role.MEMBER in kinds]
    rounds = list(
        Round.objects.filter(
            tribe__in={s.tribe_id for s in squads}, state=Round.State.OPEN, closes_at__gt=now
        )
        .annotate(card_count=Count("round_cards"))
        .order_by("closes_at", "title")
    )
    checks = []
    for rnd in rounds:
        for squad in sorted(squads, key=lambda s: s.name):
            if squad.tribe_id == rnd.tribe_id:
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


def ballot_page(
    request: HttpRequest,
    round_id: int,
    squad: Squad,
    voter_key: str,
    submit: Callable[[list[AnswerInput], Round, set[int]], object],
) -> HttpResponse:
    """The voting page for one voter (a member or a workshop guest): show, check and save the ballot."""
    http_status = 200
    form = None
    if request.method == "POST":
        with transaction.atomic():
            # The round is read once, under the lock the save relies on; its cards come from
            # the cache when the tribe's version (read under that lock) says they are current.
            rnd = round_for_voting(round_id)
            if rnd is None or rnd.tribe_id != squad.tribe_id:
                raise Http404("No such round")
            status = rnd.voting_status()
            cards = round_cards(rnd, rnd.tribe_version)
            form = BallotForm(cards, request.POST)
            saved = False
            if status != "open":
                # Keep what was typed on screen, but store nothing.
                form.is_valid()
                http_status = 409
            elif form.is_valid():
                try:
                    submit(form.answer_inputs(), rnd, {c.pk for c in cards})
                    saved = True
                except BallotRejected as exc:
                    form.add_error(None, str(exc))
                    http_status = 409
        if saved:
            no_colour, no_trend = form.missing()
            answered = len(cards) - len(no_colour)
            messages.success(request, f"Your ballot is saved: answered {answered} of {len(cards)}.")
            if no_colour:
                messages.warning(request, f"Still to answer: {_names(no_colour)}.")
            if no_trend:
                messages.info(request, f"No trend chosen yet for: {_names(no_trend)}.")
            return redirect(request.path)
        key = None  # a form with errors is shown as it was typed, never cached
    else:
        rnd = get_object_or_404(Round, pk=round_id, tribe_id=squad.tribe_id)
        status = rnd.voting_status()
        answers = sorted(
            Answer.objects.filter(
                ballot__round=rnd, ballot__squad=squad, ballot__voter_key=voter_key
            ).values_list("card_id", "colour", "trend", "comment")
        )
        # Keyed by what the page shows, not by who asks: the same answers give the same markup.
        shown = hashlib.sha256(repr(answers).encode()).hexdigest()[:20]
        key = f"vote:{rnd.pk}:{squad.pk}:{squad.tribe.version}:{status}:{shown}"

    def context() -> dict:
        ballot = form or BallotForm(
            round_cards(rnd, squad.tribe.version),
            answers=[SimpleNamespace(card_id=c, colour=co, trend=t, comment=m) for c, co, t, m in answers],
        )
        return {
            "round": rnd,
            "squad": squad,
            "form": ballot,
            "status": status,
            "posted": request.method == "POST",
            "card_fields": ballot.card_fields(),
            "answered": ballot.answered_count(),
            "total": len(ballot.cards),
            "colour_hints": {str(colour): hint for colour, hint in COLOUR_HINTS.items()},
        }

    content = cached_part(request, key, "surveys/_vote.html", context)
    return render(
        request, "surveys/vote.html", {"round": rnd, "squad": squad, "content": content}, status=http_status
    )


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
        lambda answers, locked, card_ids: ballot_submit(
            round=locked, squad=squad, voter_key=key, answers=answers, locked=True, card_ids=card_ids
        ),
    )
