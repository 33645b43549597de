"""Writes that span several models. Each is one keyword-only function, atomic as a whole."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from .deck import DEFAULT_DECK
from .models import Answer, Ballot, HealthCard, Round, RoundCard, Squad, Tribe


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


@transaction.atomic
def round_close(*, round: Round, now: datetime | None = None) -> Round:
    """Close a round now (or record that it closed at its time); closing twice changes nothing."""
    current = Round.objects.select_for_update().get(pk=round.pk)
    if current.state == Round.State.CLOSED:
        return current
    now = now or timezone.now()
    current.state = Round.State.CLOSED
    if now < current.closes_at:
        current.closes_at = max(now, current.opens_at + timedelta(seconds=1))
    current.save(update_fields=["state", "closes_at"])
    return current
