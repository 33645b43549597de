"""Pages for coaches and leads: trends over time, the support queue, and comments."""

from __future__ import annotations

import statistics

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Count, OuterRef, Q, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from .. import charts
from ..access import get_squad_for_coach, get_tribe_for_coach, roles_of, squads_supported_by
from ..models import ActionItem, Answer, HealthCard, Result, Round, RoundSquad, Squad, SquadRole, TribeResult
from ..release import fragment_key
from ..selectors import latest_closed, point_for, selected_round, squad_rounds, tribe_rounds
from ..support import Headline, support_queue


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
    reference: list[float | None] | None = None,
) -> dict:
    """Every chart of a trends page, with the tables that carry the same numbers.

    reference is a faint line on the radar (the tribe's median per card), when there is one.
    """
    titles = [r.title for r in rounds]
    series = {
        card.pk: [points.get((r.pk, card.pk), charts.Point(r.title, None, None, 0)) for r in rounds]
        for card in cards
    }
    cells = {(card.name, r.title): p for card in cards for r in rounds if (p := points.get((r.pk, card.pk)))}
    names = [card.name for card in cards]
    latest = (titles[-1], [series[card.pk][-1].score for card in cards])
    previous = (titles[-2], [series[card.pk][-2].score for card in cards]) if len(rounds) > 1 else None
    return {
        "titles": titles,
        "table": [(card, series[card.pk]) for card in cards],
        # Small multiples drawn on the server: eleven chart-library plots cost a phone seconds.
        "cards": [(card, charts.sparkline(series[card.pk], **chart_options())) for card in cards],
        "radar": charts.radar(
            names,
            latest,
            previous,
            (_("Tribe median"), reference) if reference else None,
        ),
        "radar_rows": [
            (
                card,
                latest[1][i],
                previous[1][i] if previous else None,
                reference[i] if reference else None,
            )
            for i, card in enumerate(cards)
        ],
        "has_reference": bool(reference),
        # Below k voters even the count of ballots stays hidden: it would tell who did not vote.
        "participation": charts.participation_bars(
            titles,
            [b if b >= settings.HEALTHCHECK_MIN_RESPONSES else None for b, _ in participation],
            [m for _, m in participation],
        ),
        "heatmap": charts.light_heatmap(titles, names, cells),
        "participation_rows": list(zip(titles, participation, strict=True)),
    }


# The tribe median is drawn only over this many squads with a score: fewer would be one squad's own.
MEDIAN_MIN_SQUADS = 3


def tribe_median(rnd: Round, cards: list[HealthCard]) -> list[float | None] | None:
    """Per card, the median score of the squads above the minimum in a closed round; no names."""
    if rnd.state != Round.State.CLOSED:
        return None
    scores: dict[int, list[float]] = {}
    for result in Result.objects.filter(round=rnd, card__in=cards).only(
        "card_id", "score", "voters", "round_id"
    ):
        if result.visible and result.score is not None:
            scores.setdefault(result.card_id, []).append(result.score)
    medians = [
        statistics.median(scores[c.pk]) if len(scores.get(c.pk, [])) >= MEDIAN_MIN_SQUADS else None
        for c in cards
    ]
    return medians if any(m is not None for m in medians) else None


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
    cards = _cards_in(results)
    return _trend_figures(
        rounds,
        cards,
        points,
        [participation.get(r.pk, (0, 0)) for r in rounds],
        reference=tribe_median(rounds[-1], cards),
    )


def _tribe_trends(rounds: list[Round]) -> dict:
    """The frozen tribe column of each round, and the tribe's participation (squads summed)."""
    titles = {r.pk: r.title for r in rounds}
    tribe_results = list(TribeResult.objects.filter(round__in=rounds).select_related("card"))
    points = {
        (t.round_id, t.card_id): charts.Point(titles[t.round_id], t.score, t.light, t.reached)
        for t in tribe_results
    }
    totals: dict[int, tuple[int, int]] = {}
    for round_id, _squad, ballots, members in (
        Result.objects.filter(round__in=rounds)
        .values_list("round_id", "squad_id", "ballots", "members")
        .distinct()
        .order_by()
    ):
        before = totals.get(round_id, (0, 0))
        totals[round_id] = (before[0] + ballots, before[1] + members)
    participation = [totals.get(r.pk, (0, 0)) for r in rounds]
    return _trend_figures(rounds, _cards_in(tribe_results), points, participation)


def _trends_page(request: HttpRequest, ctx: dict, figures) -> HttpResponse:
    """A trends page. Its rounds are all finished, so its charts never change: the markup is cached
    under a key that holds everything else they show (titles, card names, the release)."""
    rounds, tribe = ctx["rounds"], ctx["tribe"]
    cards = list(HealthCard.objects.filter(tribe=tribe).values_list("pk", "name", "position"))
    subject = ("squad", ctx["squad"].pk) if ctx.get("squad") else ("tribe", tribe.pk)
    ctx = {
        **ctx,
        "min_responses": settings.HEALTHCHECK_MIN_RESPONSES,
        "has_charts": bool(rounds),
        "figures": SimpleLazyObject(figures),
        # The state is in the key: the tribe median shows once the newest round has closed for all.
        "figures_key": fragment_key("trends", subject, [(r.pk, r.title, r.state) for r in rounds], cards),
    }
    return render(request, "surveys/trends.html", ctx)


@login_required
@require_GET
def squad_trends(request: HttpRequest, slug: str) -> HttpResponse:
    squad = get_squad_for_coach(request, slug)
    rounds = list(reversed(squad_rounds(squad)))
    ctx = {"squad": squad, "tribe": squad.tribe, "rounds": rounds}
    return _trends_page(request, ctx, lambda: _squad_trends(squad, rounds))


@login_required
@require_GET
def tribe_trends(request: HttpRequest, slug: str) -> HttpResponse:
    """The tribe column over time: per card the mean of the squads that reached the minimum."""
    tribe = get_tribe_for_coach(request, slug)
    rounds = list(reversed([r for r in tribe_rounds(tribe)[0] if r.state == Round.State.CLOSED]))
    ctx = {"tribe": tribe, "rounds": rounds}
    return _trends_page(request, ctx, lambda: _tribe_trends(rounds))


@login_required
@require_GET
def coach_queue(request: HttpRequest) -> HttpResponse:
    roles = roles_of(request)
    coached = {squad.pk for squad, kinds in roles.squads.values() if SquadRole.Role.COACH in kinds}
    if not coached and not roles.tribe_roles:
        raise Http404("Only coaches and leads have a support queue")
    tribes = {tribe.pk: tribe for tribe in roles.tribes.values()}
    # Each squad with its last two finished rounds, newest first, in the same query.
    finished_parts = RoundSquad.objects.filter(squad=OuterRef("pk"), state=RoundSquad.State.CLOSED).order_by(
        "-round__opens_at"
    )
    squads = list(
        Squad.objects.filter(Q(pk__in=coached) | Q(tribe_id__in=list(roles.tribe_roles)))
        .only("id", "name", "slug", "position", "tribe_id")
        .annotate(
            latest_id=Subquery(finished_parts.values("round_id")[:1]),
            previous_id=Subquery(finished_parts.values("round_id")[1:2]),
        )
    )
    for squad in squads:
        squad.tribe = tribes[squad.tribe_id]
    squads.sort(key=lambda s: (s.tribe.name, s.position, s.name))
    ids = {pk for s in squads for pk in (s.latest_id, s.previous_id) if pk}
    rounds = {r.pk: r for r in Round.objects.filter(pk__in=ids)}
    finished = {
        s.pk: [rounds[pk] for pk in (s.latest_id, s.previous_id) if pk] for s in squads if s.latest_id
    }
    wanted = {(squad_id, rnd.pk) for squad_id, rounds in finished.items() for rnd in rounds}
    results = [
        result
        for result in Result.objects.filter(
            round__in={pk for _, pk in wanted}, squad__in=list(finished)
        ).select_related("card")
        if (result.squad_id, result.round_id) in wanted
    ]
    overdue = dict(
        ActionItem.objects.overdue()
        .filter(squad__in=[s.pk for s in squads])
        .values("squad")
        .annotate(n=Count("id"))
        .values_list("squad", "n")
    )
    entries = support_queue(squads, finished, results, overdue)
    groups = [(headline, [e for e in entries if e.headline == headline]) for headline in Headline]
    ctx = {"groups": [(headline, group) for headline, group in groups if group]}
    return render(request, "surveys/coach_queue.html", ctx)


@login_required
@require_GET
def tribe_comments(request: HttpRequest, slug: str) -> HttpResponse:
    """Per card, the comments of each squad that reached the minimum, sorted by text."""
    tribe = get_tribe_for_coach(request, slug)
    closed, _open = tribe_rounds(tribe)
    rnd, _picked = selected_round(request, closed, default=latest_closed(closed))
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
        "min_comment_responses": settings.HEALTHCHECK_MIN_COMMENT_RESPONSES,
    }
    if rnd is not None:
        results = list(Result.objects.filter(round=rnd, squad__in=squads).select_related("card"))
        shown = {(r.squad_id, r.card_id) for r in results if r.comments_visible}
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
