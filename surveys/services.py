"""Writes that span several models. Each is one keyword-only function, atomic as a whole."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from sesame.utils import get_query_string as sesame_query

from . import cadence as rhythm
from .audit import audit
from .deck import DEFAULT_DECKS
from .models import (
    ActionItem,
    AgreedCard,
    Answer,
    ApiKey,
    AuditEvent,
    Ballot,
    Cadence,
    Colour,
    HealthCard,
    InviteLink,
    ReminderLog,
    Round,
    RoundCard,
    RoundRejected,
    RoundSquad,
    Squad,
    SquadRole,
    TickLog,
    Trend,
    Tribe,
    Workshop,
    WorkshopJoin,
    language_of,
    local_time,
)
from .notify import notifications_deliver, notifications_queue

__all__ = ["BallotRejected", "RoundRejected"]  # RoundRejected lives with the round's state machine


logger = logging.getLogger(__name__)


class BallotRejected(Exception):
    """The ballot cannot be stored; the message says why, in words for the voter."""


@dataclass(frozen=True)
class AnswerInput:
    card_id: int
    colour: str
    trend: str = ""
    comment: str = ""


def deck_copy_default(*, tribe: Tribe) -> list[HealthCard]:
    """Give a tribe its own copy of the default deck in the tribe's language, which its lead can
    then change."""
    template = list(
        HealthCard.objects.filter(tribe=None, language=tribe.language).order_by("position", "name")
    )
    if not template:
        deck = DEFAULT_DECKS.get(tribe.language, DEFAULT_DECKS[settings.LANGUAGE_CODE])
        template = [HealthCard(position=i, **card) for i, card in enumerate(deck)]
    return HealthCard.objects.bulk_create(
        HealthCard(tribe=tribe, name=c.name, awesome=c.awesome, crappy=c.crappy, position=c.position)
        for c in template
    )


@transaction.atomic
def tribe_create(*, name: str, slug: str, language: str = "") -> Tribe:
    tribe = Tribe.objects.create(name=name, slug=slug, language=language or settings.LANGUAGE_CODE)
    deck_copy_default(tribe=tribe)
    return tribe


def _part_for_voting(round_id: int, squad: Squad) -> RoundSquad:
    """The squad's part of the round, locked for the ballot's transaction.

    Closing a part locks the same row, so a close waits for the ballots in flight, and a
    ballot that waited sees the part as closed: every ballot is either stored whole before
    the close or rejected. Ballots of the squad are counted after this lock is held, so the
    check that a squad never has more ballots than members sees every ballot committed before.
    A squad added to the tribe while the round is open gets its part here.
    """
    part = RoundSquad.objects.select_for_update().filter(round_id=round_id, squad=squad).first()
    if part is None:
        RoundSquad.objects.bulk_create([RoundSquad(round_id=round_id, squad=squad)], ignore_conflicts=True)
        part = RoundSquad.objects.select_for_update().get(round_id=round_id, squad=squad)
    return part


def _room_for_a_ballot(round_id: int, squad: Squad) -> tuple[int, int]:
    """The squad's ballots and members, counted in one statement (so after the part's lock)."""
    ballots = Ballot.objects.filter(round_id=round_id, squad=squad).values("squad").annotate(n=Count("id"))
    members = (
        SquadRole.objects.members()
        .filter(squad=squad)
        .values("squad")
        .annotate(n=Count("user", distinct=True))
    )
    counts = (
        Squad.objects.filter(pk=squad.pk)
        .annotate(
            ballot_count=Coalesce(Subquery(ballots.values("n")), 0),
            member_count=Coalesce(Subquery(members.values("n")), 0),
        )
        .values_list("ballot_count", "member_count")
    )
    return counts.get()


def ballot_submit(
    *,
    round: Round,
    squad: Squad,
    voter: str,
    answers: list[AnswerInput],
    now: datetime | None = None,
    card_ids: set[int] | None = None,
    on_new: Callable[[], None] | None = None,
    partial: bool = False,
) -> Ballot:
    """Store a voter's ballot for a squad in a round, replacing their earlier answers.

    The voter is "user:<id>" or "guest:<id>"; only a keyed hash of it is stored. A squad never
    has more ballots than members, whichever way they came. A caller that has just read the
    round's cards passes their ids, which saves reading them again; on_new runs, in the same
    transaction, when the voter had no ballot yet. A partial save (one card, from a workshop
    phone) keeps the answers to the other cards.
    """
    with transaction.atomic():
        if round.tribe_id != squad.tribe_id:
            raise BallotRejected(_("This squad does not take part in this health check."))
        part = _part_for_voting(round.pk, squad)
        # The part's state is read under its lock, so a close that finished first is seen. The
        # round's own times and state need no lock: while people can vote, they only move later.
        status = "closed" if part.state == RoundSquad.State.CLOSED else round.voting_status(now)
        if status == "closed":
            raise BallotRejected(_("This health check has closed, so ballots can no longer be changed."))
        if status == "not-yet-open":
            raise BallotRejected(_("This health check is not open for voting yet."))
        if not answers:
            raise BallotRejected(_("Choose a colour for at least one card before saving."))
        if card_ids is None:
            card_ids = set(RoundCard.objects.filter(round=round).values_list("card_id", flat=True))
        if any(answer.card_id not in card_ids for answer in answers):
            raise BallotRejected(_("This ballot names a card that is not part of this health check."))

        voter_key = Ballot.key_for(part=part, voter=voter)
        ballot = Ballot.objects.filter(round=round, squad=squad, voter_key=voter_key).first()
        if ballot is None:
            ballot_count, member_count = _room_for_a_ballot(round.pk, squad)
            if ballot_count >= member_count:
                raise BallotRejected(
                    ngettext(
                        "%(squad)s already has a ballot for each of its %(members)s members, "
                        "so no more can be added. Ask your coach if this looks wrong.",
                        "%(squad)s already has a ballot for each of its %(members)s members, "
                        "so no more can be added. Ask your coach if this looks wrong.",
                        member_count,
                    )
                    % {"squad": squad.name, "members": member_count}
                )
            if on_new is not None:
                on_new()
            ballot = Ballot.objects.create(round=round, squad=squad, voter_key=voter_key)
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
        if not partial and answered != card_ids:  # some cards left blank: drop their earlier answers
            ballot.answers.exclude(card_id__in=answered).delete()
        return ballot


def rounds_advance(*, tribe: Tribe | None = None, now: datetime | None = None) -> list[tuple[Round, str]]:
    """Make the transitions the rounds' times call for: open scheduled rounds, close due ones.

    Each transition is made and audited once, however many callers race to make it.
    """
    now = now or timezone.now()
    due = Round.objects.filter(
        Q(state=Round.State.SCHEDULED, opens_at__lte=now) | Q(state=Round.State.OPEN, closes_at__lte=now)
    ).select_related("tribe")
    if tribe is not None:
        due = due.filter(tribe=tribe)
    done = []
    for rnd in due.order_by("opens_at"):
        try:
            if rnd.closes_at <= now:
                if rnd.close(now=now):
                    audit(AuditEvent.Action.ROUND_CLOSED, rnd, tribe=rnd.tribe.name, by="closing time")
                    done.append((rnd, "closed"))
            elif rnd.open(now=now):
                audit(AuditEvent.Action.ROUND_OPENED, rnd, tribe=rnd.tribe.name, by="opening time")
                done.append((rnd, "opened"))
        except RoundRejected as exc:  # one round that cannot move never holds up the others
            logger.warning("Round %s of %s could not move on: %s", rnd.pk, rnd.tribe.name, exc)
    return done


# The tribe's rhythm: rounds that make themselves


def _plan(cadence: Cadence) -> rhythm.Plan:
    return rhythm.Plan(
        every=cadence.every,
        weekday=cadence.weekday,
        at=cadence.at,
        open_days=cadence.open_days,
        weeks=cadence.weeks,
        anchor=cadence.anchor,
    )


@dataclass(frozen=True)
class Period:
    """One period of a tribe's rhythm: its opening day, its round's title and times."""

    day: date
    title: str
    opens_at: datetime
    closes_at: datetime


def cadence_periods(cadence: Cadence, *, now: datetime, count: int = 24):
    """The rhythm's coming periods whose round would still open in the future, in order."""
    plan, zone = _plan(cadence), timezone.get_default_timezone()
    day = timezone.localdate(now, zone)
    for _step in range(count):
        day = rhythm.next_opening_day(plan, day)
        opens_at, closes_at = rhythm.opening(plan, day, zone)
        if opens_at > now:
            with translation.override(cadence.tribe.language):  # titles in the tribe's language
                title = rhythm.title_for(plan, day)
            yield Period(day=day, title=title, opens_at=opens_at, closes_at=closes_at)
        day += timedelta(days=1)


def cadence_next_round(tribe: Tribe) -> Round | None:
    """The round the rhythm has made and scheduled next, which a lead may skip or shift."""
    return (
        Round.objects.filter(tribe=tribe, cadence_day__isnull=False, state=Round.State.SCHEDULED)
        .order_by("opens_at")
        .first()
    )


def _in_the_way(tribe: Tribe, period: Period) -> Round | None:
    """A round that stops this period's round from being made: one at the same time, or of the same title."""
    return (
        Round.objects.overlapping(
            tribe_id=tribe.pk, opens_at=period.opens_at, closes_at=period.closes_at
        ).first()
        or Round.objects.filter(tribe=tribe, title=period.title).first()
    )


def cadence_plan(*, cadence: Cadence, now: datetime | None = None) -> list[str]:
    """Make sure the tribe's next period has its round: created, with its cards, and scheduled.

    One round ahead is enough: the next is made once this one has opened, been skipped (cancelled)
    or shifted. A period whose round was made before (and perhaps skipped) is never made again;
    one with a person's round in the way (the same time or the same title) is passed over, and
    said so. Two schedulers at once make it once: the rhythm's row is locked, and a round per
    period is unique in the database.
    """
    now = now or timezone.now()
    did: list[str] = []
    with transaction.atomic():
        cadence = Cadence.objects.select_for_update().select_related("tribe").filter(pk=cadence.pk).first()
        if cadence is None or cadence.every == Cadence.Every.OFF:
            return did
        tribe = cadence.tribe
        if cadence_next_round(tribe) is not None:
            return did
        cards = list(cadence.cards.filter(retired=False)) or list(
            HealthCard.objects.filter(tribe=tribe, retired=False)
        )
        if not cards:  # the manage page says so; the log would say it every minute
            logger.warning("The rhythm of %s makes no round: its deck has no active cards", tribe.name)
            return did
        made = set(
            Round.objects.filter(tribe=tribe, cadence_day__isnull=False).values_list("cadence_day", flat=True)
        )
        for period in cadence_periods(cadence, now=now):
            if period.day in made:
                continue  # made before, and skipped or shifted by the lead
            clash = _in_the_way(tribe, period)
            if clash is not None:  # said once: the next tick finds the following period's round made
                did.append(f"passed over {tribe.name}: {period.title}, because {clash.title} is in the way")
                continue
            rnd = Round.objects.create(
                tribe=tribe,
                title=period.title,
                opens_at=period.opens_at,
                closes_at=period.closes_at,
                cadence_day=period.day,
            )
            _set_round_cards(rnd, cards)
            rnd.schedule(now=now)
            audit(AuditEvent.Action.ROUND_CREATED, rnd, tribe=tribe.name, by="the tribe's rhythm")
            audit(AuditEvent.Action.ROUND_SCHEDULED, rnd, tribe=tribe.name, by="the tribe's rhythm")
            did.append(f"scheduled {tribe.name}: {rnd.title}, opening {local_time(rnd.opens_at)}")
            break
    return did


def rounds_plan(*, now: datetime | None = None) -> list[str]:
    """Give every tribe with a rhythm its next round; one tribe that fails never holds up the others."""
    did: list[str] = []
    for cadence in Cadence.objects.exclude(every=Cadence.Every.OFF):
        try:
            did += cadence_plan(cadence=cadence, now=now)
        except (RoundRejected, IntegrityError) as exc:  # another scheduler made it in the meantime
            logger.info("The rhythm of tribe %s made nothing this time: %s", cadence.tribe_id, exc)
    return did


@transaction.atomic
def cadence_save(
    *, cadence: Cadence, cards: list[HealthCard], by: AbstractBaseUser, now: datetime | None = None
) -> Cadence:
    """Store a changed rhythm and plan again: the round it had made and not yet opened goes."""
    now = now or timezone.now()
    if cadence.every == Cadence.Every.WEEKS and cadence.anchor is None:
        # The count of weeks starts at the first coming weekday, and stays there.
        today = timezone.localdate(now)
        cadence.anchor = today + timedelta(days=(cadence.weekday - today.weekday()) % 7)
    cadence.save()
    cadence.cards.set(cards)
    for rnd in Round.objects.select_for_update().filter(
        tribe=cadence.tribe, cadence_day__isnull=False, state=Round.State.SCHEDULED, opens_at__gt=now
    ):
        audit(
            AuditEvent.Action.ROUND_DELETED, rnd, actor=by, tribe=cadence.tribe.name, by="the rhythm changed"
        )
        rnd.delete()
    audit(AuditEvent.Action.CADENCE_CHANGED, cadence.tribe, actor=by, rhythm=cadence.described())
    cadence_plan(cadence=cadence, now=now)
    return cadence


@transaction.atomic
def cadence_shift(*, round: Round, opens_at: datetime, now: datetime | None = None) -> Round:
    """Move the rhythm's next round to another opening time; it stays open as long as planned."""
    round.lock()
    round.set_times(opens_at=opens_at, closes_at=opens_at + (round.closes_at - round.opens_at), now=now)
    return round


def action_create(
    *,
    squad: Squad,
    card: HealthCard,
    title: str,
    created_by: AbstractBaseUser,
    owner: AbstractBaseUser | None = None,
    due_date: date | None = None,
) -> ActionItem:
    """Record an action; its card's movement is measured from the squad's latest finished round."""
    baseline = (
        Round.objects.filter(parts__squad=squad, parts__state=RoundSquad.State.CLOSED)
        .order_by("-opens_at")
        .first()
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


def _set_round_cards(round: Round, cards: list[HealthCard]) -> None:
    RoundCard.objects.filter(round=round).delete()
    RoundCard.objects.bulk_create(
        RoundCard(round=round, card=card, position=i)
        for i, card in enumerate(sorted(cards, key=lambda c: (c.position, c.name)))
    )


@transaction.atomic
def round_create(
    *, tribe: Tribe, title: str, opens_at: datetime, closes_at: datetime, cards: list[HealthCard]
) -> Round:
    """A new draft round of the tribe, asking these cards in the deck's order."""
    rnd = Round.objects.create(tribe=tribe, title=title, opens_at=opens_at, closes_at=closes_at)
    _set_round_cards(rnd, cards)
    return rnd


@transaction.atomic
def round_update(
    *, round: Round, title: str, opens_at: datetime, closes_at: datetime, cards: list[HealthCard]
) -> Round:
    """Change a round's title, cards (only while nobody has voted) and times (as its state allows)."""
    round.lock()
    if round.state in (Round.State.CLOSED, Round.State.CANCELLED):
        raise RoundRejected(round.refusal("changed"))
    if {c.pk for c in cards} != set(round.round_cards.values_list("card_id", flat=True)):
        if round.ballots.exists():
            raise RoundRejected(
                _("People have already voted, so the cards of this round can no longer change.")
            )
        _set_round_cards(round, cards)
    round.set_times(opens_at=opens_at, closes_at=closes_at)
    round.title = title
    round.save(update_fields=["title"])
    return round


@transaction.atomic
def round_delete(*, round: Round) -> None:
    """Delete a draft: it was never more than a plan."""
    round.lock()
    if round.state != Round.State.DRAFT:
        raise RoundRejected(_("Only a draft can be deleted; a scheduled round can be cancelled."))
    round.delete()


@transaction.atomic
def card_add(*, tribe: Tribe, name: str, awesome: str, crappy: str) -> HealthCard:
    last = (
        HealthCard.objects.filter(tribe=tribe)
        .order_by("-position")
        .values_list("position", flat=True)
        .first()
    )
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


def card_update(*, card: HealthCard, name: str, awesome: str, crappy: str) -> HealthCard:
    """Change a card's wording; its history stays with it."""
    card.name, card.awesome, card.crappy = name, awesome, crappy
    card.save(update_fields=["name", "awesome", "crappy"])
    return card


def card_retire(*, card: HealthCard, retired: bool = True) -> HealthCard:
    """Take a card out of new rounds (or bring it back); rounds that asked it keep it."""
    card.retired = retired
    card.save(update_fields=["retired"])
    return card


def card_delete(*, card: HealthCard) -> None:
    """Delete a card nobody has answered or been asked; others can only be retired."""
    if card.answers.exists() or card.round_cards.exists():
        raise RoundRejected(_("This card has been used in a round, so it can only be retired."))
    card.delete()


def invite_create(*, round: Round, squad: Squad, created_by: AbstractBaseUser, kind: str) -> InviteLink:
    """The squad's live workshop link of this kind in an open round: the one there is, or a new one."""
    if not round.accepts_votes():
        raise RoundRejected(_("Workshop links are for open rounds."))
    if squad.tribe_id != round.tribe_id:
        raise RoundRejected(_("This squad does not take part in this round."))
    if RoundSquad.objects.filter(round=round, squad=squad, state=RoundSquad.State.CLOSED).exists():
        raise RoundRejected(_("%(squad)s has finished this round.") % {"squad": squad.name})
    RoundSquad.objects.get_or_create(round=round, squad=squad)
    live = InviteLink.objects.filter(round=round, squad=squad, kind=kind, revoked=False).first()
    if live is not None:
        return live
    return InviteLink.objects.create(round=round, squad=squad, kind=kind, created_by=created_by)


def invite_is_live(invite: InviteLink) -> bool:
    """Whether a link still works: not withdrawn, its squad still voting, its maker still supporting it."""
    from .access import squads_for_inviter

    if invite.revoked or not invite.round.accepts_votes() or invite.created_by is None:
        return False
    if RoundSquad.objects.filter(
        round=invite.round, squad=invite.squad, state=RoundSquad.State.CLOSED
    ).exists():
        return False
    return squads_for_inviter(invite.created_by, invite.round).filter(pk=invite.squad_id).exists()


def guest_ballot_submit(
    *, invite: InviteLink, guest_id: str, answers: list[AnswerInput], card_ids: set[int] | None = None
) -> Ballot:
    """Store the ballot of a guest who came through an open link; a first ballot counts on the link."""
    with transaction.atomic():
        link = InviteLink.objects.select_for_update().get(pk=invite.pk)
        if link.revoked or link.kind != InviteLink.Kind.OPEN:
            raise BallotRejected(_("This workshop link has been withdrawn."))

        def count_on_link() -> None:
            InviteLink.objects.filter(pk=link.pk).update(used=F("used") + 1)

        return ballot_submit(
            round=invite.round,
            squad=invite.squad,
            voter=f"guest:{guest_id}",
            answers=answers,
            card_ids=card_ids,
            on_new=count_on_link,
        )


def ballot_link_scope(*, round_id: int, squad_id: int) -> str:
    return f"ballot:{round_id}:{squad_id}"


def ballot_link(*, user: AbstractBaseUser, round: Round, squad: Squad) -> str:
    """A personal link that signs the person in on their own ballot, and nowhere else.

    The ballot page takes it only while the squad's part of the round is open; the token is
    scoped to that ballot, so no other page (and no other squad's ballot) accepts it.
    """
    query = sesame_query(user, scope=ballot_link_scope(round_id=round.pk, squad_id=squad.pk))
    return f"{settings.SITE_URL}{reverse('surveys:vote', args=[round.pk, squad.slug])}{query}"


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
        .select_related("user__profile", "squad")
    )
    # Every squad of the tribe takes part, even one added while the round was open.
    RoundSquad.objects.bulk_create(
        [
            RoundSquad(round=rnd, squad=squad)
            for rnd in rounds
            for squad in Squad.objects.filter(tribe=rnd.tribe_id)
        ],
        ignore_conflicts=True,
    )
    parts = {
        (part.round_id, part.squad_id): part
        for part in RoundSquad.objects.filter(round__in=rounds, state=RoundSquad.State.OPEN)
    }
    waiting = {
        Ballot.key_for_user(part=parts[(rnd.pk, role.squad_id)], user_id=role.user_id): (rnd, role)
        for rnd in rounds
        for role in roles
        if role.squad.tribe_id == rnd.tribe_id and (rnd.pk, role.squad_id) in parts
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
        items.sort(key=lambda item: (item[0].closes_at, item[0].pk))
        try:
            with transaction.atomic():
                # The first record is the claim: a second scheduler running at once fails to write
                # it, and so sends nothing.
                ReminderLog.objects.create(user=user, round=items[0][0], sent_on=today)
        except IntegrityError:
            continue
        with transaction.atomic():
            ReminderLog.objects.bulk_create(
                [ReminderLog(user=user, round=rnd, sent_on=today) for rnd, _ in items[1:]],
                ignore_conflicts=True,
            )
            language = language_of(user, default=items[0][0].tribe.language)
            with translation.override(language):  # in the recipient's language
                subject, body = _reminder_email(user, sorted(items, key=lambda item: item[0].closes_at))
            EmailMessage(subject, body, None, [user.email], headers={"Content-Language": language}).send()
            sent += 1
    return sent


def _reminder_email(user, items: list[tuple[Round, SquadRole]]) -> tuple[str, str]:
    """The subject and text of a reminder, in the active language."""
    lines = [
        _("- %(round)s, %(squad)s: closes %(closes)s")
        % {"round": rnd.title, "squad": role.squad.name, "closes": local_time(rnd.closes_at)}
        + f"\n  {ballot_link(user=user, round=rnd, squad=role.squad)}"
        for rnd, role in items
    ]
    body = (
        _("Hello %(name)s,") % {"name": user.get_short_name() or user.get_username()}
        + "\n\n"
        + _(
            "Your squad health check is waiting for you. It takes about five minutes, and your answers "
            "are anonymous: nobody can see what you chose."
        )
        + "\n\n"
        + "\n".join(lines)
        + "\n\n"
        + _("To stop these reminders: %(url)s")
        % {"url": settings.SITE_URL + reverse("surveys:reminder-settings")}
        + "\n"
    )
    return _("Your squad health check closes soon"), body


def comments_purge(*, older_than: timedelta, now: datetime | None = None) -> int:
    """Blank the comment text of rounds closed longer ago than older_than; counts and scores stay."""
    cutoff = (now or timezone.now()) - older_than
    old_rounds = Round.objects.filter(state=Round.State.CLOSED, closes_at__lt=cutoff)
    removed = Answer.objects.filter(ballot__round__in=old_rounds).exclude(comment="").update(comment="")
    return removed


# The live workshop


def _disagreement_order(part: RoundSquad, card_ids: list[int]) -> list[int]:
    """The cards ordered by how far the squad's answers spread, widest first, then in deck order.

    With fewer than k ballots the order would tell something about a few votes: then it stays.
    """
    if (
        Ballot.objects.filter(round_id=part.round_id, squad_id=part.squad_id).count()
        < settings.HEALTHCHECK_MIN_RESPONSES
    ):
        return card_ids
    spread = {}
    rows = (
        Answer.objects.filter(ballot__round_id=part.round_id, ballot__squad_id=part.squad_id)
        .values("card_id", "colour")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[int, dict[str, int]] = {}
    for row in rows:
        counts.setdefault(row["card_id"], {})[row["colour"]] = row["n"]
    weights = settings.HEALTHCHECK_SCORE
    for card_id, by_colour in counts.items():
        total = sum(by_colour.values())
        mean = sum(weights[c] * n for c, n in by_colour.items()) / total
        spread[card_id] = sum(n * (weights[c] - mean) ** 2 for c, n in by_colour.items()) / total
    return sorted(card_ids, key=lambda card_id: -spread.get(card_id, 0.0))


@transaction.atomic
def workshop_start(
    *, round: Round, squad: Squad, started_by: AbstractBaseUser, flow: str, kind: str, card_seconds: int
) -> Workshop:
    """Start the workshop of a squad still voting in an open round, with its link for the lobby."""
    if squad.tribe_id != round.tribe_id or not round.accepts_votes():
        raise RoundRejected(
            _("%(squad)s is not voting in an open round, so there is no workshop to run.")
            % {"squad": squad.name}
        )
    RoundSquad.objects.bulk_create([RoundSquad(round=round, squad=squad)], ignore_conflicts=True)
    part = (
        RoundSquad.objects.select_for_update().select_related("round", "squad").get(round=round, squad=squad)
    )
    if part.state != RoundSquad.State.OPEN:
        raise RoundRejected(_("%(squad)s has finished this round.") % {"squad": squad.name})
    existing = Workshop.objects.filter(part=part).first()
    if existing is not None:
        return existing
    link = invite_create(round=round, squad=squad, created_by=started_by, kind=kind)
    card_ids = list(RoundCard.objects.filter(round=round).values_list("card_id", flat=True))
    return Workshop.objects.create(
        part=part,
        link=link,
        flow=flow,
        card_order=card_ids,
        current_card_id=card_ids[0] if card_ids else None,
        card_seconds=card_seconds,
        started_by=started_by,
    )


@transaction.atomic
def workshop_step(*, workshop: Workshop, step: str, now: datetime | None = None) -> Workshop:
    """Start, move to the next or previous card, or reveal the current one."""
    now = now or timezone.now()
    current = Workshop.objects.select_for_update().select_related("part").get(pk=workshop.pk)
    if current.state == Workshop.State.FINISHED:
        raise RoundRejected(_("This workshop has finished."))
    if current.part.state != RoundSquad.State.OPEN:
        raise RoundRejected(_("The squad has finished this round, so the workshop is over."))
    if step == "start":
        current.state, current.position, current.revealed = Workshop.State.RUNNING, 0, False
        if current.flow == Workshop.Flow.SURVEY:
            # The squad has voted in its own time: discuss the widest spread of answers first.
            current.card_order = _disagreement_order(current.part, current.card_order)
    elif step in ("next", "previous"):
        if current.state != Workshop.State.RUNNING:
            raise RoundRejected(_("Start the workshop first."))
        position = current.position + (1 if step == "next" else -1)
        if not 0 <= position < len(current.card_order):
            raise RoundRejected(_("There is no card that way."))
        current.position, current.revealed = position, False
    elif step == "reveal":
        current.revealed = True
    else:
        raise RoundRejected(_("Unknown step."))
    current.current_card_id = current.card_order[current.position] if current.card_order else None
    if step != "reveal":
        current.card_started_at = now
    current.save(
        update_fields=["state", "position", "revealed", "current_card", "card_started_at", "card_order"]
    )
    return current


def workshop_agree(*, workshop: Workshop, card: HealthCard, colour: str, trend: str, note: str) -> AgreedCard:
    """Record what the squad agreed for a card: a colour, a trend and a note, frozen when it finishes."""
    if workshop.state != Workshop.State.RUNNING or workshop.part.state != RoundSquad.State.OPEN:
        raise RoundRejected(_("Record what the squad agreed while its workshop runs."))
    agreed, _created = AgreedCard.objects.update_or_create(
        workshop=workshop, card=card, defaults={"colour": colour, "trend": trend, "note": note}
    )
    return agreed


@transaction.atomic
def workshop_finish(*, workshop: Workshop) -> bool:
    """Finish: the squad's part closes and its results, with what it agreed, are frozen and shown.

    Returns whether this closed the squad's part (not when it had closed already).
    """
    current = Workshop.objects.select_for_update().select_related("part").get(pk=workshop.pk)
    closed = current.part.close()
    current.state = Workshop.State.FINISHED
    current.save(update_fields=["state"])
    return closed


def workshop_join(*, workshop: Workshop, voter: str) -> dict[str, str]:
    """Count a phone as joined (never who), and give back its own answer to the current card."""
    part = workshop.part
    if part.state != RoundSquad.State.OPEN:
        return {}
    key = Ballot.key_for(part=part, voter=voter)
    WorkshopJoin.objects.bulk_create([WorkshopJoin(workshop=workshop, key=key)], ignore_conflicts=True)
    answer = (
        Answer.objects.filter(
            ballot__round_id=part.round_id,
            ballot__squad_id=part.squad_id,
            ballot__voter_key=key,
            card_id=workshop.current_card_id,
        )
        .values("colour", "trend")
        .first()
    )
    return answer or {}


def workshop_answer(
    *,
    workshop: Workshop,
    voter: str,
    card_id: str,
    colour: str,
    trend: str,
    through_link: InviteLink | None = None,
) -> Ballot:
    """Save a phone's answer to the current card into the voter's ballot; other cards stay as they are.

    Once the card is revealed its votes stay as they are, so that the counts on the screen never
    change one vote at a time. A guest's first ballot counts on the open link it came through.
    """
    from .selectors import workshop_state

    if str(workshop.current_card_id) != card_id:
        raise BallotRejected(_("The workshop has moved on to another card; your phone shows it now."))
    if (workshop_state(workshop.pk) or {}).get("revealed"):
        raise BallotRejected(
            _("The votes on this card are revealed: talk it through. The next card comes soon.")
        )
    if colour not in Colour.values or trend not in [*Trend.values, ""]:
        raise BallotRejected(_("Choose green, yellow or red."))
    return ballot_submit(
        round=workshop.part.round,
        squad=workshop.part.squad,
        voter=voter,
        answers=[AnswerInput(card_id=workshop.current_card_id, colour=colour, trend=trend)],
        partial=True,
        on_new=(lambda: InviteLink.objects.filter(pk=through_link.pk).update(used=F("used") + 1))
        if through_link is not None
        else None,
    )


def tick(*, now: datetime | None = None) -> list[str]:
    """Everything the clock calls for, once: round transitions, the rhythm's next rounds, the day's
    reminders, and the chat channels' notifications.

    Safe to run every minute and from several machines at once: each transition and each
    reminder is claimed under a lock or a unique row, so it happens once. What it did is
    recorded (readable by staff in the admin) when it did anything.
    """
    now = now or timezone.now()
    did = [f"{what} {rnd.tribe.name}: {rnd.title}" for rnd, what in rounds_advance(now=now)]
    did += rounds_plan(now=now)
    if settings.REMINDER_DAYS:
        sent = reminders_send(days=settings.REMINDER_DAYS, now=now)
        if sent:
            did.append(f"sent {sent} reminder{'s' if sent != 1 else ''}")
    notifications_queue(now=now)
    posted, failed = notifications_deliver(now=now)
    if posted:
        did.append(f"posted {posted} notification{'s' if posted != 1 else ''}")
    if failed:
        did.append(f"could not post {failed} notification{'s' if failed != 1 else ''} (will try again)")
    if did:
        TickLog.objects.create(at=now, did=did)
    return did


def api_key_create(
    *, name: str, tribe: Tribe | None, read_comments: bool, created_by: AbstractBaseUser
) -> tuple[ApiKey, str]:
    """A new key and its text, which is shown once and kept nowhere."""
    key, text = ApiKey.issue(name=name, tribe=tribe, read_comments=read_comments, created_by=created_by)
    key.save()
    return key, text


def api_key_revoke(*, key: ApiKey) -> bool:
    """Revoke the key from now on; False when it was revoked already."""
    return bool(ApiKey.objects.filter(pk=key.pk, revoked_at=None).update(revoked_at=timezone.now()))
