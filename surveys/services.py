"""Writes that span several models. Each is one keyword-only function, atomic as a whole."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import Avg, Case, Count, FloatField, Q, Value, When
from django.urls import reverse
from django.utils import timezone

from .deck import DEFAULT_DECK
from .models import (
    ActionItem,
    Answer,
    Ballot,
    HealthCard,
    InviteLink,
    ReminderLog,
    Result,
    Round,
    RoundCard,
    Squad,
    SquadRole,
    Tribe,
)


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


def round_for_voting(round_id: int) -> Round | None:
    """Read the round inside the ballot's transaction, holding a shared lock on PostgreSQL.

    Closing a round takes an exclusive lock on the same row, so a close waits for the
    ballots in flight, and a ballot that waited sees the round as closed: every ballot
    is either stored whole before the close or rejected. The round comes with its
    tribe's version (tribe_version), read under the same lock.
    """
    lock = " FOR SHARE OF r" if connection.vendor == "postgresql" else ""
    sql = (
        "SELECT r.id, r.tribe_id, r.title, r.opens_at, r.closes_at, r.state, t.version AS tribe_version "
        "FROM surveys_round r JOIN surveys_tribe t ON t.id = r.tribe_id WHERE r.id = %s" + lock
    )
    return next(iter(Round.objects.raw(sql, [round_id])), None)


def ballot_submit(
    *,
    round: Round,
    squad: Squad,
    voter_key: str,
    answers: list[AnswerInput],
    now: datetime | None = None,
    locked: bool = False,
    card_ids: set[int] | None = None,
) -> Ballot:
    """Store a voter's ballot for a squad in a round, replacing their earlier answers.

    A caller that has already read the round with round_for_voting, and its card ids, in
    the same transaction passes locked=True and card_ids, which saves reading them twice.
    With locked=True the caller's transaction is the ballot's, so no savepoint is added: a
    rejection rolls the caller back too, and that caller reads nothing more after one.
    """
    with transaction.atomic(savepoint=not locked):
        current = round if locked else round_for_voting(round.pk)
        if current is None or current.tribe_id != squad.tribe_id:
            raise BallotRejected("This squad does not take part in this health check.")
        status = current.voting_status(now)
        if status == "closed":
            raise BallotRejected("This health check has closed, so ballots can no longer be changed.")
        if status == "not-yet-open":
            raise BallotRejected("This health check is not open for voting yet.")
        if not answers:
            raise BallotRejected("Choose a colour for at least one card before saving.")
        if card_ids is None:
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
        answered = {a.card_id for a in answers}
        if answered != card_ids:  # some cards left blank: drop their earlier answers
            ballot.answers.exclude(card_id__in=answered).delete()
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
    created = Result.objects.bulk_create(rows)
    Tribe.touch(round.tribe_id)
    return created


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


class RoundRejected(Exception):
    """The round change cannot be made; the message says why."""


def rounds_overlapping(*, tribe: Tribe, opens_at: datetime, closes_at: datetime, exclude: int | None = None):
    """The tribe's other rounds whose time overlaps this one (drafts included)."""
    return (
        Round.objects.filter(tribe=tribe, opens_at__lt=closes_at, closes_at__gt=opens_at)
        .exclude(pk=exclude)
        .order_by("opens_at")
    )


def _set_round_cards(round: Round, cards: list[HealthCard]) -> None:
    RoundCard.objects.filter(round=round).delete()
    RoundCard.objects.bulk_create(
        RoundCard(round=round, card=card, position=i) for i, card in enumerate(cards)
    )


@transaction.atomic
def round_create(
    *, tribe: Tribe, title: str, opens_at: datetime, closes_at: datetime, cards: list[HealthCard]
) -> Round:
    """A new draft round of the tribe, asking these cards in the deck's order."""
    rnd = Round.objects.create(tribe=tribe, title=title, opens_at=opens_at, closes_at=closes_at)
    _set_round_cards(rnd, sorted(cards, key=lambda c: (c.position, c.name)))
    Tribe.touch(tribe.pk)
    return rnd


@transaction.atomic
def round_update(
    *, round: Round, title: str, opens_at: datetime, closes_at: datetime, cards: list[HealthCard]
) -> Round:
    """Change a round; its cards only while nobody has voted."""
    current = Round.objects.select_for_update().get(pk=round.pk)
    if current.state == Round.State.CLOSED:
        raise RoundRejected("A closed round cannot be changed.")
    chosen = sorted(cards, key=lambda c: (c.position, c.name))
    if {c.pk for c in chosen} != set(current.round_cards.values_list("card_id", flat=True)):
        if current.ballots.exists():
            raise RoundRejected("People have already voted, so the cards of this round can no longer change.")
        _set_round_cards(current, chosen)
    current.title, current.opens_at, current.closes_at = title, opens_at, closes_at
    current.save(update_fields=["title", "opens_at", "closes_at"])
    Tribe.touch(current.tribe_id)
    return current


@transaction.atomic
def round_open(*, round: Round, now: datetime | None = None, scheduled: bool = False) -> Round:
    """Open a draft for voting now, or, when scheduled, from its opening time on."""
    now = now or timezone.now()
    current = Round.objects.select_for_update().get(pk=round.pk)
    if current.state != Round.State.DRAFT:
        raise RoundRejected("Only a draft can be opened.")
    if current.closes_at <= now:
        raise RoundRejected("Its closing time has passed: set a later closing time first.")
    if not current.round_cards.exists():
        raise RoundRejected("Choose at least one card before opening the round.")
    opens_at = current.opens_at if scheduled and current.opens_at > now else now
    clash = rounds_overlapping(
        tribe=current.tribe, opens_at=opens_at, closes_at=current.closes_at, exclude=current.pk
    )
    clash = clash.exclude(state=Round.State.DRAFT).first()
    if clash is not None:
        raise RoundRejected(
            f"It would overlap {clash.title}, which runs until {clash.closes_at:%d %b %Y %H:%M}."
        )
    current.state, current.opens_at = Round.State.OPEN, opens_at
    current.save(update_fields=["state", "opens_at"])
    Tribe.touch(current.tribe_id)
    return current


@transaction.atomic
def round_extend(*, round: Round, closes_at: datetime, now: datetime | None = None) -> Round:
    """Move the closing time of an open round later."""
    now = now or timezone.now()
    current = Round.objects.select_for_update().get(pk=round.pk)
    if current.state != Round.State.OPEN:
        raise RoundRejected("Only an open round can be extended.")
    if closes_at <= max(current.closes_at, now):
        raise RoundRejected("The new closing time must be later than the current one.")
    clash = rounds_overlapping(
        tribe=current.tribe, opens_at=current.opens_at, closes_at=closes_at, exclude=current.pk
    )
    clash = clash.exclude(state=Round.State.DRAFT).first()
    if clash is not None:
        raise RoundRejected(f"It would overlap {clash.title}.")
    current.closes_at = closes_at
    current.save(update_fields=["closes_at"])
    Tribe.touch(current.tribe_id)
    return current


@transaction.atomic
def round_delete(*, round: Round) -> None:
    current = Round.objects.select_for_update().get(pk=round.pk)
    if current.state != Round.State.DRAFT or current.ballots.exists():
        raise RoundRejected("Only a draft without ballots can be deleted.")
    current.delete()
    Tribe.touch(current.tribe_id)


@transaction.atomic
def card_add(*, tribe: Tribe, name: str, awesome: str, crappy: str) -> HealthCard:
    last = (
        HealthCard.objects.filter(tribe=tribe)
        .order_by("-position")
        .values_list("position", flat=True)
        .first()
    )
    Tribe.touch(tribe.pk)
    return HealthCard.objects.create(
        tribe=tribe, name=name, awesome=awesome, crappy=crappy, position=(last or 0) + 1
    )


@transaction.atomic
def card_move(*, card: HealthCard, up: bool) -> None:
    """Swap a card with its neighbour in the tribe's deck."""
    deck = list(
        HealthCard.objects.select_for_update().filter(tribe_id=card.tribe_id).order_by("position", "name")
    )
    index = next(i for i, c in enumerate(deck) if c.pk == card.pk)
    other = index - 1 if up else index + 1
    if 0 <= other < len(deck):
        deck[index], deck[other] = deck[other], deck[index]
    for position, each in enumerate(deck):
        each.position = position
    HealthCard.objects.bulk_update(deck, ["position"])
    Tribe.touch(card.tribe_id)


def card_update(*, card: HealthCard, name: str, awesome: str, crappy: str) -> HealthCard:
    """Change a card's wording; its history stays with it."""
    card.name, card.awesome, card.crappy = name, awesome, crappy
    card.save(update_fields=["name", "awesome", "crappy"])
    Tribe.touch(card.tribe_id)
    return card


def card_retire(*, card: HealthCard, retired: bool = True) -> HealthCard:
    """Take a card out of new rounds (or bring it back); rounds that asked it keep it."""
    card.retired = retired
    card.save(update_fields=["retired"])
    Tribe.touch(card.tribe_id)
    return card


def card_delete(*, card: HealthCard) -> None:
    """Delete a card nobody has answered or been asked; others can only be retired."""
    if card.answers.exists() or card.round_cards.exists():
        raise RoundRejected("This card has been used in a round, so it can only be retired.")
    card.delete()
    Tribe.touch(card.tribe_id)


def invite_create(
    *, round: Round, squad: Squad, created_by: AbstractBaseUser, cap: int | None = None
) -> InviteLink:
    """A workshop link for one squad in an open round; by default it accepts one ballot per member."""
    if round.voting_status() == "closed" or round.state != Round.State.OPEN:
        raise RoundRejected("Invite links are for open rounds.")
    if squad.tribe_id != round.tribe_id:
        raise RoundRejected("This squad does not take part in this round.")
    if cap is None:
        cap = max(1, SquadRole.objects.members().filter(squad=squad).count())
    return InviteLink.objects.create(round=round, squad=squad, cap=cap, created_by=created_by)


@transaction.atomic
def guest_ballot_submit(*, invite: InviteLink, guest_id: str, answers: list[AnswerInput]) -> Ballot:
    """Store a workshop guest's ballot; a first ballot uses up one place on the link."""
    key = Ballot.key_for(round_id=invite.round_id, squad_id=invite.squad_id, voter=f"guest:{guest_id}")
    link = InviteLink.objects.select_for_update().get(pk=invite.pk)
    if link.revoked:
        raise BallotRejected("This invite link has been withdrawn.")
    if not Ballot.objects.filter(round_id=link.round_id, squad_id=link.squad_id, voter_key=key).exists():
        if link.used >= link.cap:
            raise BallotRejected(f"This invite link has already taken its {link.cap} ballots.")
        link.used += 1
        link.save(update_fields=["used"])
    return ballot_submit(round=link.round, squad=link.squad, voter_key=key, answers=answers)


def reminders_send(*, days: int, now: datetime | None = None) -> int:
    """Email members who have not voted yet in rounds closing within `days` days.

    Who voted is found by recomputing each member's voter key, as for their own ballot:
    nothing links people to ballots. Nobody gets more than one reminder a day, and an
    email only says which health checks are waiting, never anything about votes.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    rounds = list(
        Round.objects.accepting_votes(now)
        .filter(closes_at__lte=now + timedelta(days=days))
        .select_related("tribe")
    )
    roles = list(
        SquadRole.objects.members()
        .filter(squad__tribe__in={r.tribe_id for r in rounds}, user__is_active=True)
        .exclude(user__email="")
        .exclude(user__reminder_preference__enabled=False)
        .select_related("user", "squad")
    )
    waiting = {
        Ballot.key_for_user(round_id=rnd.pk, squad_id=role.squad_id, user_id=role.user_id): (rnd, role)
        for rnd in rounds
        for role in roles
        if role.squad.tribe_id == rnd.tribe_id
    }
    voted = set(Ballot.objects.filter(voter_key__in=list(waiting)).values_list("voter_key", flat=True))
    reminded_today = set(ReminderLog.objects.filter(sent_on=today).values_list("user_id", flat=True))
    pending: dict[int, list[tuple[Round, SquadRole]]] = {}
    for key, (rnd, role) in waiting.items():
        if key not in voted and role.user_id not in reminded_today:
            pending.setdefault(role.user_id, []).append((rnd, role))

    sent = 0
    for items in pending.values():
        user = items[0][1].user
        with transaction.atomic():
            _, created = ReminderLog.objects.get_or_create(user=user, sent_on=today)
            if not created:
                continue
            lines = [
                f"- {rnd.title}, {role.squad.name}: closes {timezone.localtime(rnd.closes_at):%a %d %b %Y %H:%M}\n"
                f"  {settings.SITE_URL}{reverse('surveys:vote', args=[rnd.pk, role.squad.slug])}"
                for rnd, role in sorted(items, key=lambda item: item[0].closes_at)
            ]
            body = (
                f"Hello {user.get_short_name() or user.get_username()},\n\n"
                "Your squad health check is waiting for you. It takes about five minutes, and your answers "
                "are anonymous: nobody can see what you chose.\n\n"
                + "\n".join(lines)
                + f"\n\nTo stop these reminders: {settings.SITE_URL}{reverse('surveys:reminder-settings')}\n"
            )
            send_mail("Your squad health check closes soon", body, None, [user.email])
            sent += 1
    return sent


def comments_purge(*, older_than: timedelta, now: datetime | None = None) -> int:
    """Blank the comment text of rounds closed longer ago than older_than; counts and scores stay."""
    cutoff = (now or timezone.now()) - older_than
    old_rounds = Round.objects.filter(state=Round.State.CLOSED, closes_at__lt=cutoff)
    removed = Answer.objects.filter(ballot__round__in=old_rounds).exclude(comment="").update(comment="")
    for tribe_id in set(old_rounds.values_list("tribe_id", flat=True)):
        Tribe.touch(tribe_id)
    return removed
