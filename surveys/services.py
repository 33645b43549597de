"""Writes that span several models. Each is one keyword-only function, atomic as a whole."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Avg, Case, Count, FloatField, Q, Value, When
from django.utils import timezone

from .deck import DEFAULT_DECK
from .models import ActionItem, Answer, Ballot, HealthCard, Result, Round, RoundCard, Squad, SquadRole, Tribe


class BallotRejected(Exception):
    """The ballot cannot be stored; the message says why, in words for the voter."""


@dataclass(frozen=True)
class AnswerInput:
    card_id: int
    colour: str
    trend: str = ""
    comment: str = ""


def deck_copy_default(*, tribe: Tribe) -> list[HealthCard]:
    """Give a tribe its own copy of the default deck, which its lead can then change."""
    template = list(HealthCard.objects.filter(tribe=None).order_by("position", "name"))
    if not template:
        template = [HealthCard(position=i, **card) for i, card in enumerate(DEFAULT_DECK)]
    return HealthCard.objects.bulk_create(
        HealthCard(tribe=tribe, name=c.name, awesome=c.awesome, crappy=c.crappy, position=c.position)
        for c in template
    )


@transaction.atomic
def tribe_create(*, name: str, slug: str) -> Tribe:
    tribe = Tribe.objects.create(name=name, slug=slug)
    deck_copy_default(tribe=tribe)
    return tribe


def _round_for_voting(round_id: int) -> Round | None:
    """Read the round inside the ballot's transaction, holding a shared lock on PostgreSQL.

    Closing a round takes an exclusive lock on the same row, so a close waits for the
    ballots in flight, and a ballot that waited sees the round as closed: every ballot
    is either stored whole before the close or rejected.
    """
    queryset = Round.objects.filter(pk=round_id)
    if connection.vendor == "postgresql":
        sql, params = queryset.query.sql_with_params()
        return next(iter(Round.objects.raw(f"{sql} FOR SHARE", params)), None)
    return queryset.first()


@transaction.atomic
def ballot_submit(
    *,
    round: Round,
    squad: Squad,
    voter_key: str,
    answers: list[AnswerInput],
    now: datetime | None = None,
) -> Ballot:
    """Store a voter's ballot for a squad in a round, replacing their earlier answers."""
    current = _round_for_voting(round.pk)
    if current is None or current.tribe_id != squad.tribe_id:
        raise BallotRejected("This squad does not take part in this health check.")
    status = current.voting_status(now)
    if status == "closed":
        raise BallotRejected("This health check has closed, so ballots can no longer be changed.")
    if status == "not-yet-open":
        raise BallotRejected("This health check is not open for voting yet.")
    if not answers:
        raise BallotRejected("Choose a colour for at least one card before saving.")
    card_ids = set(RoundCard.objects.filter(round=current).values_list("card_id", flat=True))
    if any(answer.card_id not in card_ids for answer in answers):
        raise BallotRejected("This ballot names a card that is not part of this health check.")

    ballot, _ = Ballot.objects.get_or_create(round=current, squad=squad, voter_key=voter_key)
    # An upsert keeps concurrent saves of the same ballot from colliding on (ballot, card).
    Answer.objects.bulk_create(
        [
            Answer(ballot=ballot, card_id=a.card_id, colour=a.colour, trend=a.trend, comment=a.comment)
            for a in answers
        ],
        update_conflicts=True,
        unique_fields=["ballot", "card"],
        update_fields=["colour", "trend", "comment"],
    )
    ballot.answers.exclude(card_id__in=[a.card_id for a in answers]).delete()
    return ballot


def _answer_aggregates(round: Round) -> dict[tuple[int, int], dict]:
    """Counts, score and voted trend per (squad, card) of a round, in one grouped query."""
    weights = settings.HEALTHCHECK_SCORE
    score = Avg(
        Case(
            *(When(colour=colour, then=Value(float(weight))) for colour, weight in weights.items()),
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
        Answer.objects.filter(ballot__round=round)
        .values("ballot__squad_id", "card_id")
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
    return {(row.pop("ballot__squad_id"), row.pop("card_id")): row for row in rows}


def round_previous(round: Round) -> Round | None:
    """The closed round of the same tribe just before this one."""
    return (
        Round.objects.filter(tribe_id=round.tribe_id, state=Round.State.CLOSED, opens_at__lt=round.opens_at)
        .order_by("-opens_at")
        .first()
    )


@transaction.atomic
def round_freeze_results(*, round: Round) -> list[Result]:
    """Write the results of a round, one row per squad and card. Running it again gives the same rows."""
    aggregates = _answer_aggregates(round)
    ballots = dict(
        Ballot.objects.filter(round=round)
        .values("squad_id")
        .annotate(n=Count("id"))
        .values_list("squad_id", "n")
    )
    members = dict(
        SquadRole.objects.members()
        .filter(squad__tribe_id=round.tribe_id)
        .values("squad_id")
        .annotate(n=Count("user_id", distinct=True))
        .values_list("squad_id", "n")
    )
    previous_round = round_previous(round)
    previous = {}
    if previous_round is not None:
        previous = {
            (r.squad_id, r.card_id): r
            for r in Result.objects.filter(round=previous_round).only(
                "squad_id", "card_id", "score", "voters"
            )
        }
    card_ids = list(RoundCard.objects.filter(round=round).values_list("card_id", flat=True))
    rows = []
    for squad_id in Squad.objects.filter(tribe_id=round.tribe_id).values_list("id", flat=True):
        for card_id in card_ids:
            counts = aggregates.get((squad_id, card_id), {})
            before = previous.get((squad_id, card_id))
            rows.append(
                Result(
                    round=round,
                    squad_id=squad_id,
                    card_id=card_id,
                    voters=counts.get("voters", 0),
                    greens=counts.get("greens", 0),
                    yellows=counts.get("yellows", 0),
                    reds=counts.get("reds", 0),
                    score=counts.get("score"),
                    trend_mean=counts.get("trend_mean"),
                    # A member who left after voting still counts as having voted.
                    members=max(members.get(squad_id, 0), ballots.get(squad_id, 0)),
                    ballots=ballots.get(squad_id, 0),
                    previous_score=before.score if before else None,
                    previous_voters=before.voters if before else 0,
                )
            )
    Result.objects.filter(round=round).delete()
    return Result.objects.bulk_create(rows)


@transaction.atomic
def round_close(*, round: Round, now: datetime | None = None) -> Round:
    """Close a round and freeze its results; closing twice changes nothing."""
    current = Round.objects.select_for_update().get(pk=round.pk)
    if current.state == Round.State.CLOSED:
        return current
    now = now or timezone.now()
    current.state = Round.State.CLOSED
    if now < current.closes_at:
        current.closes_at = max(now, current.opens_at + timedelta(seconds=1))
    current.save(update_fields=["state", "closes_at"])
    round_freeze_results(round=current)
    return current


def rounds_close_due(*, tribe: Tribe | None = None, now: datetime | None = None) -> list[Round]:
    """Close every open round whose closing time has passed, oldest first."""
    now = now or timezone.now()
    due = Round.objects.filter(state=Round.State.OPEN, closes_at__lte=now).order_by("opens_at")
    if tribe is not None:
        due = due.filter(tribe=tribe)
    return [round_close(round=rnd, now=now) for rnd in due]


def action_create(
    *,
    squad: Squad,
    card: HealthCard,
    title: str,
    created_by: AbstractBaseUser,
    owner: AbstractBaseUser | None = None,
    due_date: date | None = None,
) -> ActionItem:
    """Record an action; its card's movement is measured from the tribe's latest closed round."""
    baseline = (
        Round.objects.filter(tribe_id=squad.tribe_id, state=Round.State.CLOSED).order_by("-opens_at").first()
    )
    return ActionItem.objects.create(
        squad=squad,
        card=card,
        title=title,
        owner=owner,
        due_date=due_date,
        baseline_round=baseline,
        created_by=created_by,
    )
