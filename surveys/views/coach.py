"""Pages for coaches and leads: trends over time, the support queue, and comments."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .. import charts
from ..access import get_squad_for_coach, get_tribe_for_coach, roles_of, squads_supported_by
from ..matrix import tribe_cell
from ..models import ActionItem, Answer, HealthCard, Result, Round, Squad, SquadRole
from ..pagecache import cached_part
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


def _squad_trends(squad: Squad, rounds: list[Round]) -> dict:
    titles = {r.pk: r.title for r in rounds}
    results = list(Result.objects.filter(squad=squad, round__in=rounds).select_related("card"))
    points = {(r.round_id, r.card_id): point_for(titles[r.round_id], r) for r in results}
    participation = {}
    for result in results:
        participation.setdefault(result.round_id, (result.ballots, result.members))
    return _trend_figures(
        rounds, _cards_in(results), points, [participation.get(r.pk, (0, 0)) for r in rounds]
    )


def _tribe_trends(rounds: list[Round]) -> dict:
    results = list(Result.objects.filter(round__in=rounds).select_related("card"))
    by_cell: dict[tuple[int, int], list[Result]] = {}
    participation: dict[int, dict[int, tuple[int, int]]] = {}
    for result in results:
        by_cell.setdefault((result.round_id, result.card_id), []).append(result)
        participation.setdefault(result.round_id, {}).setdefault(
            result.squad_id, (result.ballots, result.members)
        )
    cards = _cards_in(results)
    points = {}
    for rnd in rounds:
        for card in cards:
            cells = by_cell.get((rnd.pk, card.pk))
            if cells:
                cell = tribe_cell(cells)
                points[(rnd.pk, card.pk)] = charts.Point(rnd.title, cell.score, cell.light, cell.reached)
    totals = []
    for rnd in rounds:
        squads = participation.get(rnd.pk, {}).values()
        totals.append((sum(b for b, _ in squads), sum(m for _, m in squads)))
    return _trend_figures(rounds, cards, points, totals)


def _trends_page(request: HttpRequest, key: str, ctx: dict, figures) -> HttpResponse:
    rounds = ctx["rounds"]
    content = cached_part(
        request,
        key,
        "surveys/_trends.html",
        lambda: {**ctx, "min_responses": settings.HEALTHCHECK_MIN_RESPONSES, **(figures() if rounds else {})},
    )
    return render(request, "surveys/trends.html", {**ctx, "content": content, "has_charts": bool(rounds)})


@login_required
@require_GET
def squad_trends(request: HttpRequest, slug: str) -> HttpResponse:
    squad = get_squad_for_coach(request, slug)
    closed, _ = tribe_rounds(squad.tribe)
    rounds = list(reversed(closed))
    ctx = {"squad": squad, "tribe": squad.tribe, "rounds": rounds}
    key = f"squad-trends:{squad.pk}:{squad.tribe.version}"
    return _trends_page(request, key, ctx, lambda: _squad_trends(squad, rounds))


@login_required
@require_GET
def tribe_trends(request: HttpRequest, slug: str) -> HttpResponse:
    """The tribe column over time: per card the mean of the squads that reached the minimum."""
    tribe = get_tribe_for_coach(request, slug)
    closed, _ = tribe_rounds(tribe)
    rounds = list(reversed(closed))
    ctx = {"tribe": tribe, "rounds": rounds}
    return _trends_page(
        request, f"tribe-trends:{tribe.pk}:{tribe.version}", ctx, lambda: _tribe_trends(rounds)
    )


@login_required
@require_GET
def coach_queue(request: HttpRequest) -> HttpResponse:
    roles = roles_of(request)
    coached = {squad.pk for squad, kinds in roles.squads.values() if SquadRole.Role.COACH in kinds}
    if not coached and not roles.tribe_roles:
        raise Http404("Only coaches and leads have a support queue")
    tribes = {tribe.pk: tribe for tribe in roles.tribes.values()}
    squads = list(
        Squad.objects.filter(Q(pk__in=coached) | Q(tribe_id__in=list(roles.tribe_roles))).only(
            "id", "name", "slug", "position", "tribe_id"
        )
    )
    latest: dict[int, Round] = {}
    for tribe_id in {s.tribe_id for s in squads}:
        closed, _ = tribe_rounds(tribes[tribe_id])
        if closed:
            latest[tribe_id] = closed[0]
    for squad in squads:
        squad.tribe = tribes[squad.tribe_id]
    overdue = dict(
        ActionItem.objects.overdue()
        .filter(squad__in=[s.pk for s in squads])
        .values("squad")
        .annotate(n=Count("id"))
        .values_list("squad", "n")
    )

    def context() -> dict:
        results = list(
            Result.objects.filter(
                round__in=[r.pk for r in latest.values()], squad__in=[s.pk for s in squads]
            ).select_related("card")
        )
        entries = support_queue(squads, latest, results, overdue)
        return {"needing": [e for e in entries if e.reasons], "fine": [e for e in entries if not e.reasons]}

    # Everything the queue is made of is in the key: the squads, their tribes' versions, overdue counts.
    state = sorted((s.pk, s.tribe_id, tribes[s.tribe_id].version, overdue.get(s.pk, 0)) for s in squads)
    key = "queue:" + hashlib.sha256(repr(state).encode()).hexdigest()[:20]
    content = cached_part(request, key, "surveys/_coach_queue.html", context)
    return render(request, "surveys/coach_queue.html", {"content": content})


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
