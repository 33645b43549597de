"""Reads that several views share. Each runs a fixed number of queries, whatever the history."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Q
from django.http import Http404, HttpRequest
from django.utils import timezone

from . import charts
from .models import HealthCard, Result, Round, RoundCard, RoundSquad, Squad, Tribe
from .services import rounds_advance

SHOWN_STATES = (Round.State.SCHEDULED, Round.State.OPEN, Round.State.CLOSED)


def round_cards(rnd: Round) -> list[HealthCard]:
    """The cards a round asks, in order."""
    return [rc.card for rc in RoundCard.objects.filter(round_id=rnd.pk).select_related("card")]


def _tribe_rounds(tribe: Tribe, squad: Squad | None = None) -> list[Round]:
    done = Count("parts", filter=Q(parts__state=RoundSquad.State.CLOSED))
    rounds = Round.objects.filter(tribe=tribe, state__in=SHOWN_STATES).annotate(
        squads_done=done, squads_total=Count("parts")
    )
    if squad is not None:
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
