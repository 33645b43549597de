"""Pages for coaches and leads: trends over time, the support queue, and comments."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Count, OuterRef, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .. import charts
from ..access import get_squad_for_coach, get_tribe_for_coach, squads_supported_by
from ..matrix import tribe_cell
from ..models import ActionItem, Answer, HealthCard, Result, Round, Squad, TribeRole
from ..support import support_queue
from .results import point_for, selected_round, tribe_rounds


def chart_options() -> dict:
    return {
        "green_at": settings.HEALTHCHECK_LIGHT_GREEN_AT,
        "red_below": settings.HEALTHCHECK_LIGHT_RED_BELOW,
    }


def _trend_figures(
    rounds: list[Round],
    cards: list[HealthCard],
    points: dict[tuple[int, int], charts.Point],
    participation: list[tuple[int, int]],
) -> dict:
    titles = [r.title for r in rounds]
    series = {
        card.name: [points.get((r.pk, card.pk), charts.Point(r.title, None, None, 0)) for r in rounds]
        for card in cards
    }
    cells = {(card.name, r.title): p for card in cards for r in rounds if (p := points.get((r.pk, card.pk)))}
    table = [(card, series[card.name]) for card in cards]
    return {
        "titles": titles,
        "table": table,
        "scores": charts.score_lines(titles, series, **chart_options()),
        "participation": charts.participation_bars(
            titles, [b for b, _ in participation], [m for _, m in participation]
        ),
        "heatmap": charts.light_heatmap(titles, [c.name for c in cards], cells),
        "participation_rows": list(zip(titles, participation, strict=True)),
    }


def _cards_in(results: list[Result]) -> list[HealthCard]:
    cards = {r.card_id: r.card for r in results}
    return sorted(cards.values(), key=lambda c: (c.position, c.name))


@login_required
@require_GET
def squad_trends(request: HttpRequest, slug: str) -> HttpResponse:
    squad = get_squad_for_coach(request, slug)
    closed, _ = tribe_rounds(squad.tribe)
    rounds = list(reversed(closed))
    titles = {r.pk: r.title for r in rounds}
    results = list(Result.objects.filter(squad=squad, round__in=rounds).select_related("card"))
    points = {(r.round_id, r.card_id): point_for(titles[r.round_id], r) for r in results}
    participation = {}
    for result in results:
        participation.setdefault(result.round_id, (result.ballots, result.members))
    ctx = {
        "squad": squad,
        "tribe": squad.tribe,
        "rounds": rounds,
        "min_responses": settings.HEALTHCHECK_MIN_RESPONSES,
        **_trend_figures(
            rounds, _cards_in(results), points, [participation.get(r.pk, (0, 0)) for r in rounds]
        ),
    }
    return render(request, "surveys/trends.html", ctx)


@login_required
@require_GET
def tribe_trends(request: HttpRequest, slug: str) -> HttpResponse:
    """The tribe column over time: per card the mean of the squads that reached the minimum."""
    tribe = get_tribe_for_coach(request, slug)
    closed, _ = tribe_rounds(tribe)
    rounds = list(reversed(closed))
    results = list(Result.objects.filter(round__in=rounds).select_related("card"))
    by_cell: dict[tuple[int, int], list[Result]] = {}
    participation: dict[int, dict[int, tuple[int, int]]] = {}
    for result in results:
        by_cell.setdefault((result.round_id, result.card_id), []).append(result)
        participation.setdefault(result.round_id, {}).setdefault(
            result.squad_id, (result.ballots, result.members)
        )
    points = {}
    for rnd in rounds:
        for card in _cards_in(results):
            cells = by_cell.get((rnd.pk, card.pk))
            if cells:
                cell = tribe_cell(cells)
                points[(rnd.pk, card.pk)] = charts.Point(rnd.title, cell.score, cell.light, cell.reached)
    totals = []
    for rnd in rounds:
        squads = participation.get(rnd.pk, {}).values()
        totals.append((sum(b for b, _ in squads), sum(m for _, m in squads)))
    ctx = {
        "tribe": tribe,
        "rounds": rounds,
        "min_responses": settings.HEALTHCHECK_MIN_RESPONSES,
        **_trend_figures(rounds, _cards_in(results), points, totals),
    }
    return render(request, "surveys/trends.html", ctx)


@login_required
@require_GET
def coach_queue(request: HttpRequest) -> HttpResponse:
    latest = Round.objects.filter(tribe=OuterRef("tribe"), state=Round.State.CLOSED).order_by("-opens_at")
    squads = list(
        squads_supported_by(request.user).annotate(latest_round_id=Subquery(latest.values("pk")[:1]))
    )
    if not squads and not TribeRole.objects.filter(user=request.user).exists():
        raise Http404("Only coaches and leads have a support queue")
    round_ids = {s.latest_round_id for s in squads if s.latest_round_id}
    rounds = {r.tribe_id: r for r in Round.objects.filter(pk__in=round_ids)}
    results = list(
        Result.objects.filter(round__in=round_ids, squad__in=[s.pk for s in squads]).select_related("card")
    )
    overdue = dict(
        ActionItem.objects.overdue()
        .filter(squad__in=[s.pk for s in squads])
        .values("squad")
        .annotate(n=Count("id"))
        .values_list("squad", "n")
    )
    entries = support_queue(squads, rounds, results, overdue)
    ctx = {
        "needing": [e for e in entries if e.reasons],
        "fine": [e for e in entries if not e.reasons],
    }
    return render(request, "surveys/coach_queue.html", ctx)


@login_required
@require_GET
def tribe_comments(request: HttpRequest, slug: str) -> HttpResponse:
    """Per card, the comments of each squad that reached the minimum, sorted by text."""
    tribe = get_tribe_for_coach(request, slug)
    closed, _ = tribe_rounds(tribe)
    rnd, _ = selected_round(request, closed)
    squads = (
        list(squads_supported_by(request.user).filter(tribe=tribe))
        if not request.user.is_staff
        else list(Squad.objects.filter(tribe=tribe))
    )
    ctx = {
        "tribe": tribe,
        "rounds": closed,
        "round": rnd,
        "squads": squads,
        "cards": [],
        "min_responses": settings.HEALTHCHECK_MIN_RESPONSES,
    }
    if rnd is not None:
        results = list(Result.objects.filter(round=rnd, squad__in=squads).select_related("card"))
        shown = {(r.squad_id, r.card_id) for r in results if r.visible}
        comments: dict[tuple[int, int], list[str]] = {}
        for card_id, squad_id, text in (
            Answer.objects.filter(ballot__round=rnd, ballot__squad__in=squads)
            .exclude(comment="")
            .order_by("card_id", "comment")
            .values_list("card_id", "ballot__squad_id", "comment")
        ):
            if (squad_id, card_id) in shown:
                comments.setdefault((card_id, squad_id), []).append(text)
        for card in _cards_in(results):
            per_squad = [(s, comments.get((card.pk, s.pk), [])) for s in squads if (s.pk, card.pk) in shown]
            ctx["cards"].append((card, [(s, texts) for s, texts in per_squad if texts]))
        ctx["hidden"] = [
            s for s in squads if not any((s.pk, c) in shown for c in {r.card_id for r in results})
        ]
    return render(request, "surveys/tribe_comments.html", ctx)
