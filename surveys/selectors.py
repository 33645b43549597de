"""Reads that several views share. Each runs a fixed number of queries, whatever the history."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest
from django.utils import timezone

from . import charts
from .models import (
    TIMED_STATES,
    Answer,
    HealthCard,
    Result,
    Round,
    RoundCard,
    RoundSquad,
    Squad,
    SquadRole,
    Tribe,
    Workshop,
    WorkshopJoin,
)
from .services import rounds_advance


def round_cards(rnd: Round) -> list[HealthCard]:
    """The cards a round asks, in order."""
    return [rc.card for rc in RoundCard.objects.filter(round_id=rnd.pk).select_related("card")]


def _tribe_rounds(tribe: Tribe, squad: Squad | None = None) -> list[Round]:
    """The tribe's rounds with a time, newest first: with how many squads are done, or whether one is."""
    rounds = Round.objects.filter(tribe=tribe, state__in=TIMED_STATES)
    if squad is None:
        done = Count("parts", filter=Q(parts__state=RoundSquad.State.CLOSED))
        rounds = rounds.annotate(squads_done=done, squads_total=Count("parts"))
    else:
        finished = RoundSquad.objects.filter(round=OuterRef("pk"), squad=squad, state=RoundSquad.State.CLOSED)
        rounds = rounds.annotate(squad_done=Exists(finished))
    return list(rounds.order_by("-opens_at"))


def _current_rounds(tribe: Tribe, squad: Squad | None = None) -> list[Round]:
    """The tribe's rounds, after making any transition their times call for.

    Pages never wait for the scheduler to show what the clock says.
    """
    now = timezone.now()
    rounds = _tribe_rounds(tribe, squad)
    if any(r.is_due(now) for r in rounds):
        rounds_advance(tribe=tribe, now=now)
        rounds = _tribe_rounds(tribe, squad)
    return rounds


def tribe_rounds(tribe: Tribe) -> tuple[list[Round], Round | None]:
    """The tribe's rounds with results, newest first, and the round now running or next, if any.

    Rounds with results are the closed ones and the open one once a squad has finished.
    """
    rounds = _current_rounds(tribe)
    with_results = [r for r in rounds if r.state == Round.State.CLOSED or r.squads_done]
    current = [r for r in rounds if r.state != Round.State.CLOSED]
    return with_results, current[-1] if current else None


def squad_rounds(squad: Squad) -> list[Round]:
    """The rounds in which this squad has finished, newest first: those with its results."""
    return [r for r in _current_rounds(squad.tribe, squad) if r.squad_done]


def selected_round(
    request: HttpRequest, rounds: list[Round], default: Round | None = None
) -> tuple[Round | None, Round | None]:
    """The round chosen with ?round=<id> (else the default, else the newest) and the one before it."""
    wanted = request.GET.get("round")
    ids = [str(r.pk) for r in rounds]
    if wanted and wanted not in ids:
        raise Http404("No such round with results")
    if not rounds:
        return None, None
    index = ids.index(wanted) if wanted else (rounds.index(default) if default in rounds else 0)
    return rounds[index], rounds[index + 1] if index + 1 < len(rounds) else None


def latest_closed(rounds: list[Round]) -> Round | None:
    return next((r for r in rounds if r.state == Round.State.CLOSED), None)


def point_for(title: str, result: Result | None) -> charts.Point:
    """A chart point for one result; below the minimum it becomes a gap, never a zero."""
    if result is None:
        return charts.Point(round=title, score=None, light=None, voters=0)
    return charts.Point(
        round=title,
        score=result.score if result.visible else None,
        light=result.light,
        voters=result.voters,
        trend=result.arrow,
    )


def _count(answers: QuerySet, **where: object) -> Coalesce:
    """The number of answers matching, as a scalar subquery of the workshop's row."""
    grouped = answers.filter(**where).order_by().values("card_id").annotate(n=Count("id")).values("n")[:1]
    return Coalesce(Subquery(grouped), 0)


def workshop_state(workshop_id: int) -> dict | None:
    """Everything the workshop's views show now, from one query: never who has voted, only counts.

    The distribution of the current card appears only after reveal and only when at least k
    people answered it; below that the state says so and holds no counts of colours.
    """
    answers = Answer.objects.filter(
        ballot__round_id=OuterRef("part__round_id"),
        ballot__squad_id=OuterRef("part__squad_id"),
        card_id=OuterRef("current_card_id"),
    )
    joined = WorkshopJoin.objects.filter(workshop=OuterRef("pk")).order_by().values("workshop")
    members = (
        SquadRole.objects.filter(squad=OuterRef("part__squad_id"), role=SquadRole.Role.MEMBER)
        .order_by()
        .values("squad")
        .annotate(n=Count("user", distinct=True))
        .values("n")[:1]
    )
    workshop = (
        Workshop.objects.filter(pk=workshop_id)
        .select_related("current_card", "part__squad", "part__round")
        .annotate(
            voted=_count(answers),
            greens=_count(answers, colour="green"),
            yellows=_count(answers, colour="yellow"),
            reds=_count(answers, colour="red"),
            improving=_count(answers, trend="improving"),
            stable=_count(answers, trend="stable"),
            worse=_count(answers, trend="worse"),
            joined=Coalesce(Subquery(joined.annotate(n=Count("id")).values("n")[:1]), 0),
            members=Coalesce(Subquery(members), 0),
        )
        .first()
    )
    if workshop is None:
        return None
    card = workshop.current_card
    k = settings.HEALTHCHECK_MIN_RESPONSES
    everyone_voted = workshop.joined > 0 and workshop.voted >= workshop.joined
    revealed = workshop.state == Workshop.State.RUNNING and (workshop.revealed or everyone_voted)
    finished = workshop.part.state == RoundSquad.State.CLOSED
    state = {
        # A squad that finished another way (its lead finished it, or the round closed) ends its workshop.
        "state": Workshop.State.FINISHED if finished else workshop.state,
        "squad": workshop.part.squad.name,
        "round": workshop.part.round.title,
        "position": workshop.position,
        "total": len(workshop.card_order),
        "card_id": card.pk if card else None,
        "card_name": card.name if card else "",
        "awesome": card.awesome if card else "",
        "crappy": card.crappy if card else "",
        "voted": workshop.voted,
        "joined": workshop.joined,
        "members": workshop.members,
        "revealed": revealed,
        "enough": workshop.voted >= k,
        "k": k,
        "ends_at": (
            int((workshop.card_started_at + timedelta(seconds=workshop.card_seconds)).timestamp())
            if workshop.card_started_at and workshop.state == Workshop.State.RUNNING
            else None
        ),
        "finished": finished,
    }
    if revealed and workshop.voted >= k:
        colours = {"green": workshop.greens, "yellow": workshop.yellows, "red": workshop.reds}
        trends = {"improving": workshop.improving, "stable": workshop.stable, "worse": workshop.worse}
        state |= {f"n_{name}": n for name, n in {**colours, **trends}.items()}
        top = max(colours.values())
        leaders = [colour for colour, n in colours.items() if n == top]
        state["majority"] = leaders[0] if len(leaders) == 1 else ""
        given = [t for t, n in trends.items() for _ in range(n)]
        state["median_trend"] = given[(len(given) - 1) // 2] if given else ""
    return state
