"""Freezing results: written once when a squad's part (or the whole round) closes, never again.

Only Round.close() and RoundSquad.close() call these, inside their own transaction and lock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Avg, Case, Count, FloatField, Q, Sum, Value, When

from .models import (
    AgreedCard,
    Answer,
    Ballot,
    InviteLink,
    Result,
    RoundCard,
    SquadRole,
    TribeResult,
    arrow_for,
    light_for,
)

if TYPE_CHECKING:
    from .models import Round, RoundSquad


def _answer_aggregates(rnd: Round, squad_id: int) -> dict[int, dict]:
    """Counts, score and voted trend per card of one squad's ballots, in one grouped query."""
    score = Avg(
        Case(
            *(
                When(colour=colour, then=Value(float(weight)))
                for colour, weight in settings.HEALTHCHECK_SCORE.items()
            ),
            output_field=FloatField(),
        )
    )
    trend = Avg(
        Case(
            When(trend="improving", then=Value(1.0)),
            When(trend="stable", then=Value(0.0)),
            When(trend="worse", then=Value(-1.0)),
            default=None,
            output_field=FloatField(),
        )
    )
    rows = (
        Answer.objects.filter(ballot__round=rnd, ballot__squad_id=squad_id)
        .values("card_id")
        .annotate(
            voters=Count("id"),
            greens=Count("id", filter=Q(colour="green")),
            yellows=Count("id", filter=Q(colour="yellow")),
            reds=Count("id", filter=Q(colour="red")),
            score=score,
            trend_mean=trend,
        )
        .order_by()
    )
    return {row.pop("card_id"): row for row in rows}


def previous_round(rnd: Round) -> Round | None:
    """The closed round of the same tribe just before this one."""
    from .models import Round

    return (
        Round.objects.filter(tribe_id=rnd.tribe_id, state=Round.State.CLOSED, opens_at__lt=rnd.opens_at)
        .order_by("-opens_at")
        .first()
    )


def freeze_squad(
    part: RoundSquad, rnd: Round, *, previous: Round | bool | None = False, card_ids: list[int] | None = None
) -> list[Result]:
    """Write one squad's results of a round, one row per card the round asks.

    The round before this one and the round's cards are read here unless the caller has them.
    """
    aggregates = _answer_aggregates(rnd, part.squad_id)
    ballots = Ballot.objects.filter(round=rnd, squad_id=part.squad_id).count()
    through_open_links = (
        InviteLink.objects.filter(round=rnd, squad_id=part.squad_id, kind=InviteLink.Kind.OPEN).aggregate(
            n=Sum("used")
        )["n"]
        or 0
    )
    members = SquadRole.objects.members().filter(squad_id=part.squad_id).values("user_id").distinct().count()
    before = previous_round(rnd) if previous is False else previous
    previous = {}
    if before is not None:
        previous = {
            r.card_id: r
            for r in Result.objects.filter(round=before, squad_id=part.squad_id).only(
                "card_id", "score", "voters"
            )
        }
    agreed = {
        a.card_id: a
        for a in AgreedCard.objects.filter(workshop__part=part).only("card_id", "colour", "trend", "note")
    }
    if card_ids is None:
        card_ids = list(RoundCard.objects.filter(round=rnd).values_list("card_id", flat=True))
    rows = []
    for card_id in card_ids:
        counts = aggregates.get(card_id, {})
        earlier = previous.get(card_id)
        settled = agreed.get(card_id)
        score, trend_mean = counts.get("score"), counts.get("trend_mean")
        rows.append(
            Result(
                round=rnd,
                squad_id=part.squad_id,
                card_id=card_id,
                voters=counts.get("voters", 0),
                greens=counts.get("greens", 0),
                yellows=counts.get("yellows", 0),
                reds=counts.get("reds", 0),
                score=score,
                trend_mean=trend_mean,
                score_light=light_for(score) or "",
                trend_arrow=arrow_for(trend_mean) or "",
                # A member who left after voting still counts as having voted.
                members=max(members, ballots),
                ballots=ballots,
                open_link_ballots=min(through_open_links, ballots),
                previous_score=earlier.score if earlier else None,
                previous_voters=earlier.voters if earlier else 0,
                agreed_colour=settled.colour if settled else "",
                agreed_trend=settled.trend if settled else "",
                agreed_note=settled.note if settled else "",
            )
        )
    return Result.objects.bulk_create(rows)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def freeze_tribe(rnd: Round) -> list[TribeResult]:
    """Write the tribe column of a closed round: per card, over the squads that reached the minimum."""
    results = list(Result.objects.filter(round=rnd).only("squad_id", "card_id", "score", "voters"))
    before = previous_round(rnd)
    earlier = {}
    if before is not None:
        earlier = {
            (r.squad_id, r.card_id): r.score
            for r in Result.objects.filter(round=before).only("squad_id", "card_id", "score", "voters")
            if r.visible and r.score is not None
        }
    by_card: dict[int, list[Result]] = {}
    for result in results:
        by_card.setdefault(result.card_id, []).append(result)
    rows = []
    for card_id in RoundCard.objects.filter(round=rnd).values_list("card_id", flat=True):
        cells = by_card.get(card_id, [])
        shown = [c for c in cells if c.visible and c.score is not None]
        lights = [light_for(c.score) for c in shown]
        score = _mean([c.score for c in shown])
        # The change over the squads shown in both rounds, so the set of squads is the same.
        both = [c for c in shown if (c.squad_id, card_id) in earlier]
        change = None
        if both:
            change = _mean([c.score for c in both]) - _mean([earlier[(c.squad_id, card_id)] for c in both])
        rows.append(
            TribeResult(
                round=rnd,
                card_id=card_id,
                score=score,
                score_light=light_for(score) or "",
                greens=lights.count("green"),
                yellows=lights.count("yellow"),
                reds=lights.count("red"),
                reached=len(shown),
                total=len(cells),
                compared=len(both),
                change=change,
            )
        )
    return TribeResult.objects.bulk_create(rows)
