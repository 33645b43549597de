from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import uuid
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.db.models.functions import Length, Lower, Trim
from django.db.models.lookups import Exact, GreaterThan, LessThanOrEqual
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy

COMMENT_MAX_LENGTH = 1000


def not_blank(field: str) -> GreaterThan:
    """A check that the field holds more than spaces."""
    return GreaterThan(Length(Trim(field)), 0)


def languages() -> list[tuple[str, str]]:
    """The languages people can choose, each named in its own language."""
    return list(settings.LANGUAGES)


def language_known(field: str) -> Q:
    """A check that the field names one of the languages of settings.LANGUAGES."""
    return Q(**{f"{field}__in": [code for code, _ in settings.LANGUAGES]})


def new_secret() -> str:
    return secrets.token_hex(32)


def new_salt() -> str:
    return secrets.token_hex(16)


class Tribe(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    # The language its deck starts in (a copy of the default deck in that language) and its
    # channel messages are written in. Cards themselves keep the language they were written in.
    language = models.CharField(
        gettext_lazy("language"), max_length=10, choices=languages, default=settings.LANGUAGE_CODE
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=language_known("language"), name="tribe_language_known")
        ]

    def __str__(self) -> str:
        return self.name


class Squad(models.Model):
    tribe = models.ForeignKey(Tribe, models.PROTECT, related_name="squads")
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=60, unique=True)
    # Squads appear in a fixed order chosen by people, never sorted by results.
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["tribe_id", "position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["tribe", "name"], name="squad_name_unique_in_tribe"),
            models.CheckConstraint(condition=not_blank("name"), name="squad_name_not_blank"),
        ]

    def __str__(self) -> str:
        return self.name


class SquadRoleQuerySet(models.QuerySet):
    def members(self) -> SquadRoleQuerySet:
        return self.filter(role=SquadRole.Role.MEMBER)


class SquadRole(models.Model):
    """A person's place in a squad: a member who votes, or a coach who supports it."""

    class Role(models.TextChoices):
        MEMBER = "member", gettext_lazy("Squad member")
        COACH = "coach", gettext_lazy("Squad coach")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="squad_roles")
    squad = models.ForeignKey(Squad, models.CASCADE, related_name="roles")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)

    objects = SquadRoleQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "squad", "role"], name="squad_role_unique"),
            models.CheckConstraint(condition=Q(role__in=["member", "coach"]), name="squad_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} of {self.squad}"


class TribeRole(models.Model):
    """A person who supports a whole tribe: a tribe coach or the tribe lead."""

    class Role(models.TextChoices):
        COACH = "coach", gettext_lazy("Tribe coach")
        LEAD = "lead", gettext_lazy("Tribe lead")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="tribe_roles")
    tribe = models.ForeignKey(Tribe, models.CASCADE, related_name="roles")
    role = models.CharField(max_length=10, choices=Role.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "tribe", "role"], name="tribe_role_unique"),
            models.CheckConstraint(condition=Q(role__in=["coach", "lead"]), name="tribe_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} of {self.tribe}"


class HealthCard(models.Model):
    """One indicator of the deck. Cards with no tribe form the default deck new tribes copy, once
    in each language; a tribe's own cards are in whatever language their words were written in."""

    tribe = models.ForeignKey(Tribe, models.CASCADE, related_name="cards", null=True, blank=True)
    # Of the default deck's cards only: the language of their words.
    language = models.CharField(max_length=10, choices=languages, default=settings.LANGUAGE_CODE)
    name = models.CharField(max_length=60)
    awesome = models.CharField(gettext_lazy("example of awesome"), max_length=300)
    crappy = models.CharField(gettext_lazy("example of crappy"), max_length=300)
    position = models.PositiveSmallIntegerField(default=0)
    # A card that has answers is retired, never deleted, so history stays readable.
    retired = models.BooleanField(default=False)

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            # "Speed" and "speed" are the same card to people, so to the database too.
            models.UniqueConstraint(Lower("name"), "tribe", name="card_name_unique_in_tribe"),
            models.UniqueConstraint(
                Lower("name"), "language", condition=Q(tribe=None), name="card_name_unique_in_default_deck"
            ),
            models.CheckConstraint(condition=language_known("language"), name="card_language_known"),
            models.CheckConstraint(condition=not_blank("name"), name="card_name_not_blank"),
        ]

    def __str__(self) -> str:
        return self.name


class RoundRejected(Exception):
    """A change to a round that its state does not allow; the message says why, for people."""


def local_time(moment: datetime) -> str:
    """A moment as people of this installation read it: local time, with its zone, written the
    reader's way (healthcheck/formats)."""
    return date_format(timezone.localtime(moment), "DATETIME_FORMAT")


# A round by its state, and what a refused change would have done, for "A draft round cannot be closed."
ROUND_STATES = {
    "draft": gettext_lazy("A draft round"),
    "scheduled": gettext_lazy("A scheduled round"),
    "open": gettext_lazy("An open round"),
    "closed": gettext_lazy("A closed round"),
    "cancelled": gettext_lazy("A cancelled round"),
}
ROUND_DOINGS = {
    "changed": pgettext_lazy("round", "changed"),
    "scheduled": pgettext_lazy("round", "scheduled"),
    "opened": pgettext_lazy("round", "opened"),
    "extended": pgettext_lazy("round", "extended"),
    "closed": pgettext_lazy("round", "closed"),
    "cancelled": pgettext_lazy("round", "cancelled"),
}


class RoundQuerySet(models.QuerySet):
    def accepting_votes(self, now: datetime | None = None) -> RoundQuerySet:
        """Rounds open for voting now: open, or scheduled and past their opening time."""
        now = now or timezone.now()
        return self.filter(
            state__in=[Round.State.SCHEDULED, Round.State.OPEN], opens_at__lte=now, closes_at__gt=now
        )

    def overlapping(self, *, tribe_id: int, opens_at: datetime, closes_at: datetime) -> RoundQuerySet:
        """Rounds of the tribe whose planned times overlap these (drafts and cancelled rounds have none)."""
        return self.filter(
            tribe_id=tribe_id, state__in=TIMED_STATES, opens_at__lt=closes_at, closes_at__gt=opens_at
        ).order_by("opens_at")


# The states in which a round holds its time: these must not overlap within a tribe (drafts and
# cancelled rounds hold none).
TIMED_STATES = ("scheduled", "open", "closed")


class Round(models.Model):
    """One health check of one tribe: every squad of the tribe takes part.

    Its state is a small machine: draft -> scheduled -> open -> closed, or cancelled from draft
    or scheduled. The methods below are the only code that writes the state and the times;
    each locks the row, checks the transition and raises RoundRejected when it is not allowed.
    """

    class State(models.TextChoices):
        DRAFT = "draft", gettext_lazy("Draft")
        SCHEDULED = "scheduled", gettext_lazy("Scheduled")
        OPEN = "open", gettext_lazy("Open")
        CLOSED = "closed", gettext_lazy("Closed")
        CANCELLED = "cancelled", gettext_lazy("Cancelled")

    tribe = models.ForeignKey(Tribe, models.PROTECT, related_name="rounds")
    title = models.CharField(max_length=80)
    opens_at = models.DateTimeField()
    closes_at = models.DateTimeField()
    state = models.CharField(max_length=9, choices=State.choices, default=State.DRAFT, editable=False)
    # When the round was closed and its results frozen (a little after closes_at when the
    # scheduler closed it): what reporting tools ask for when they want what is new.
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    cards = models.ManyToManyField(HealthCard, through="RoundCard", related_name="rounds")
    # The period of the tribe's rhythm this round was made for (its planned opening day), or none
    # for a round a person made.
    cadence_day = models.DateField(null=True, blank=True, editable=False)

    objects = RoundQuerySet.as_manager()

    class Meta:
        ordering = ["-opens_at"]
        constraints = [
            models.UniqueConstraint(fields=["tribe", "title"], name="round_title_unique_in_tribe"),
            models.CheckConstraint(
                condition=Q(closes_at__gt=models.F("opens_at")), name="round_closes_after_opening"
            ),
            models.CheckConstraint(
                condition=Q(state__in=["draft", "scheduled", "open", "closed", "cancelled"]),
                name="round_state_valid",
            ),
            models.CheckConstraint(condition=not_blank("title"), name="round_title_not_blank"),
            # One round per period of the rhythm, however many schedulers run at once.
            models.UniqueConstraint(fields=["tribe", "cadence_day"], name="one_round_per_cadence_period"),
        ]
        indexes = [models.Index(fields=["tribe", "state", "closes_at"], name="round_tribe_state_idx")]

    def __str__(self) -> str:
        return self.title

    # Reading

    def accepts_votes(self, now: datetime | None = None) -> bool:
        return self.voting_status(now) == "open"

    def voting_status(self, now: datetime | None = None) -> str:
        """Say whether votes are accepted by the round's state and times: "open", "not-yet-open" or "closed"."""
        now = now or timezone.now()
        if self.state in (self.State.CLOSED, self.State.CANCELLED) or now >= self.closes_at:
            return "closed"
        if self.state == self.State.DRAFT or now < self.opens_at:
            return "not-yet-open"
        return "open"

    def refusal(self, doing: str) -> str:
        """Why the round cannot be changed in a way (doing: "changed", "opened"…), in words."""
        return _("%(round)s cannot be %(doing)s.") % {
            "round": ROUND_STATES[self.state],
            "doing": ROUND_DOINGS[doing],
        }

    def is_due(self, now: datetime | None = None) -> bool:
        """Whether its times call for a transition the scheduler has not made yet."""
        now = now or timezone.now()
        if self.state == self.State.SCHEDULED:
            return self.opens_at <= now
        return self.state == self.State.OPEN and self.closes_at <= now

    # Transitions: the only writers of state and times

    def lock(self) -> Round:
        """Lock this round's row for the transaction and take its current values."""
        # FOR NO KEY UPDATE: a ballot's insert takes a key-share lock on its round, and must not
        # wait on a close that waits on the ballot's own lock of the squad's part.
        current = Round.objects.select_for_update(no_key=True).get(pk=self.pk)
        self.state, self.opens_at, self.closes_at = current.state, current.opens_at, current.closes_at
        return self

    def _refuse_overlap(self, opens_at: datetime, closes_at: datetime) -> None:
        clash = (
            Round.objects.overlapping(tribe_id=self.tribe_id, opens_at=opens_at, closes_at=closes_at)
            .exclude(pk=self.pk)
            .first()
        )
        if clash is not None:
            raise RoundRejected(
                _(
                    "It would overlap %(round)s, which runs from %(opens)s to %(closes)s; "
                    "rounds of a tribe must not overlap."
                )
                % {
                    "round": clash.title,
                    "opens": local_time(clash.opens_at),
                    "closes": local_time(clash.closes_at),
                }
            )

    def _save(self, *fields: str) -> None:
        try:
            with transaction.atomic():
                self.save(update_fields=list(fields))
        except IntegrityError:  # another round took the time between the check and the write
            raise RoundRejected(_("That would make two rounds of the tribe overlap.")) from None

    def _refuse_unless(self, *states: str, doing: str) -> None:
        if self.state not in states:
            raise RoundRejected(self.refusal(doing))

    @transaction.atomic
    def set_times(self, *, opens_at: datetime, closes_at: datetime, now: datetime | None = None) -> None:
        """Change when the round runs: freely while it is a plan; once open, only its close, and only later."""
        now = now or timezone.now()
        self.lock()
        self._refuse_unless(self.State.DRAFT, self.State.SCHEDULED, self.State.OPEN, doing="changed")
        if self.state == self.State.OPEN:
            if opens_at != self.opens_at:
                raise RoundRejected(_("The round is open, so its opening time can no longer change."))
            if closes_at != self.closes_at:
                self.extend(closes_at=closes_at, now=now)
            return
        if closes_at <= opens_at:
            raise RoundRejected(_("The closing time must be after the opening time."))
        if self.state == self.State.SCHEDULED:
            if opens_at <= now:
                raise RoundRejected(_("A scheduled round must open in the future; to start it now, open it."))
            self._refuse_overlap(opens_at, closes_at)
        self.opens_at, self.closes_at = opens_at, closes_at
        self._save("opens_at", "closes_at")

    @transaction.atomic
    def schedule(self, *, now: datetime | None = None) -> None:
        """Plan a draft to open by itself at its opening time."""
        now = now or timezone.now()
        self.lock()
        self._refuse_unless(self.State.DRAFT, doing="scheduled")
        if self.opens_at <= now:
            raise RoundRejected(_("Its opening time has passed: open it now, or set a later opening time."))
        self._check_ready()
        self._refuse_overlap(self.opens_at, self.closes_at)
        self.state = self.State.SCHEDULED
        self._save("state")

    def _check_ready(self) -> None:
        if not self.round_cards.exists():
            raise RoundRejected(_("Choose at least one card first."))

    @transaction.atomic
    def open(self, *, now: datetime | None = None) -> bool:
        """Open a draft or scheduled round for voting; every squad of the tribe gets its part.

        A scheduled round whose time has come keeps its opening time; one opened early opens now.
        Returns False when it was open already.
        """
        now = now or timezone.now()
        self.lock()
        if self.state == self.State.OPEN:
            return False
        self._refuse_unless(self.State.DRAFT, self.State.SCHEDULED, doing="opened")
        if self.closes_at <= now:
            raise RoundRejected(_("Its closing time has passed: set a later closing time first."))
        self._check_ready()
        opens_at = min(self.opens_at, now)
        self._refuse_overlap(opens_at, self.closes_at)
        self.state, self.opens_at = self.State.OPEN, opens_at
        self._save("state", "opens_at")
        RoundSquad.objects.bulk_create(
            [RoundSquad(round=self, squad=squad) for squad in Squad.objects.filter(tribe_id=self.tribe_id)],
            ignore_conflicts=True,
        )
        return True

    @transaction.atomic
    def extend(self, *, closes_at: datetime, now: datetime | None = None) -> None:
        """Move the closing time of an open round later."""
        now = now or timezone.now()
        self.lock()
        self._refuse_unless(self.State.OPEN, doing="extended")
        if closes_at <= max(self.closes_at, now):
            raise RoundRejected(
                _("The new closing time must be later than the current one (and in the future).")
            )
        self._refuse_overlap(self.opens_at, closes_at)
        self.closes_at = closes_at
        self._save("closes_at")

    @transaction.atomic
    def close(self, *, now: datetime | None = None) -> bool:
        """Close the round: every squad still voting closes, and the tribe's results are frozen.

        A scheduled round past its opening time has been open by its times and closes too.
        Returns False when it was closed already, so a close is done (and recorded) once.
        """
        from .snapshot import freeze_tribe

        now = now or timezone.now()
        self.lock()
        if self.state == self.State.CLOSED:
            return False
        if not (self.state == self.State.SCHEDULED and self.opens_at <= now):
            self._refuse_unless(self.State.OPEN, doing="closed")
        self.state = self.State.CLOSED
        if now < self.closes_at:
            self.closes_at = max(now, self.opens_at + timedelta(seconds=1))
        self.closed_at = now
        self._save("state", "closes_at", "closed_at")
        RoundSquad.objects.bulk_create(
            [RoundSquad(round=self, squad=squad) for squad in Squad.objects.filter(tribe_id=self.tribe_id)],
            ignore_conflicts=True,
        )
        from .snapshot import previous_round

        before = previous_round(self)
        card_ids = list(RoundCard.objects.filter(round=self).values_list("card_id", flat=True))
        for part in RoundSquad.objects.select_for_update().filter(round=self, state=RoundSquad.State.OPEN):
            part.close(now=now, round=self, previous=before, card_ids=card_ids)
        # Reminder records of people who left the squads while the round ran go too.
        ReminderLog.objects.filter(round=self).delete()
        freeze_tribe(self)
        return True

    @transaction.atomic
    def cancel(self) -> None:
        """Call off a draft or scheduled round; it never counts as a result."""
        self.lock()
        self._refuse_unless(self.State.DRAFT, self.State.SCHEDULED, doing="cancelled")
        if self.state == self.State.SCHEDULED and self.opens_at <= timezone.now():
            raise RoundRejected(_("It has opened already, and people may have voted: close it instead."))
        self.state = self.State.CANCELLED
        self._save("state")


class RoundSquad(models.Model):
    """One squad's part in a round: open while the squad votes, closed once it has finished.

    A squad can finish before the round closes (after its workshop, say), and its results are
    frozen at that moment; closing the round closes every part still open.
    """

    class State(models.TextChoices):
        OPEN = "open", gettext_lazy("Voting")
        CLOSED = "closed", gettext_lazy("Done")

    round = models.ForeignKey(Round, models.CASCADE, related_name="parts")
    squad = models.ForeignKey(Squad, models.PROTECT, related_name="parts")
    state = models.CharField(max_length=6, choices=State.choices, default=State.OPEN, editable=False)
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # While the part is open, voter keys are keyed by this and BALLOT_SECRET together. It is
    # destroyed when the part closes, so that nobody can recompute a key afterwards.
    secret = models.CharField(max_length=64, default=new_secret, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round", "squad"], name="one_part_per_squad"),
            models.CheckConstraint(condition=Q(state__in=["open", "closed"]), name="part_state_valid"),
            models.CheckConstraint(
                condition=Q(state="open", closed_at=None) | Q(state="closed", closed_at__isnull=False),
                name="part_closed_has_time",
            ),
            models.CheckConstraint(
                condition=Q(state="open", secret__regex=r"^[0-9a-f]{64}$") | Q(state="closed", secret=""),
                name="part_secret_only_while_open",
            ),
        ]
        indexes = [models.Index(fields=["squad", "state"], name="part_squad_state_idx")]

    def __str__(self) -> str:
        return f"{self.squad} in {self.round}"

    @transaction.atomic
    def close(
        self,
        *,
        now: datetime | None = None,
        round: Round | None = None,
        previous: Round | bool | None = False,
        card_ids: list[int] | None = None,
    ) -> bool:
        """Close this squad's part and freeze its results; False when it was closed already.

        Round.close passes the round, the round before it and the round's cards, read once for
        all its squads.
        """
        from .snapshot import freeze_squad

        now = now or timezone.now()
        current = RoundSquad.objects.select_for_update().get(pk=self.pk)
        if current.state == self.State.CLOSED:
            return False
        rnd = round or Round.objects.get(pk=self.round_id)
        if (
            rnd.state not in (Round.State.OPEN, Round.State.CLOSED, Round.State.SCHEDULED)
            or rnd.opens_at > now
        ):
            raise RoundRejected(_("Only a squad of an open round can finish."))
        freeze_squad(self, rnd, previous=previous, card_ids=card_ids)
        self.forget_voters()
        self.state, self.closed_at, self.secret = self.State.CLOSED, now, ""
        self.save(update_fields=["state", "closed_at", "secret"])
        return True

    def forget_voters(self) -> None:
        """Cut every tie between the squad's ballots and the people who cast them.

        Every voter key becomes a random value, and the ballots and answers are written again
        under new ids in random order, so neither their keys nor their place in the table (row
        ids, physical order, transaction ids) follows who voted or when. The round's reminder
        records of the squad's members go too (they told who had not voted yet), and so do the
        workshop's records of which phones joined.
        """
        ballots = list(
            Ballot.objects.filter(round_id=self.round_id, squad_id=self.squad_id).values_list("id", flat=True)
        )
        answers = list(
            Answer.objects.filter(ballot_id__in=ballots).values_list(
                "ballot_id", "card_id", "colour", "trend", "comment"
            )
        )
        Answer.objects.filter(ballot_id__in=ballots).delete()
        Ballot.objects.filter(id__in=ballots).delete()
        shuffle = secrets.SystemRandom().shuffle
        shuffle(ballots)
        renamed = {old: uuid.uuid4() for old in ballots}
        Ballot.objects.bulk_create(
            Ballot(
                id=renamed[old],
                round_id=self.round_id,
                squad_id=self.squad_id,
                voter_key=secrets.token_hex(32),
            )
            for old in ballots
        )
        shuffle(answers)
        Answer.objects.bulk_create(
            Answer(
                id=uuid.uuid4(),
                ballot_id=renamed[ballot],
                card_id=card,
                colour=colour,
                trend=trend,
                comment=comment,
            )
            for ballot, card, colour, trend, comment in answers
        )
        ReminderLog.objects.filter(round_id=self.round_id, user__squad_roles__squad_id=self.squad_id).delete()
        WorkshopJoin.objects.filter(workshop__part=self).delete()


class RoundCard(models.Model):
    round = models.ForeignKey(Round, models.CASCADE, related_name="round_cards")
    card = models.ForeignKey(HealthCard, models.PROTECT, related_name="round_cards")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "card__name"]
        constraints = [models.UniqueConstraint(fields=["round", "card"], name="round_card_unique")]

    def __str__(self) -> str:
        return f"{self.card} in {self.round}"


class Colour(models.TextChoices):
    GREEN = "green", gettext_lazy("Green")
    YELLOW = "yellow", gettext_lazy("Yellow")
    RED = "red", gettext_lazy("Red")


class Trend(models.TextChoices):
    IMPROVING = "improving", gettext_lazy("Improving")
    STABLE = "stable", gettext_lazy("Stable")
    WORSE = "worse", gettext_lazy("Getting worse")


class Ballot(models.Model):
    """One person's answers for one squad in one round.

    The voter is not stored. While the squad's part is open, voter_key is an HMAC of the
    round, the squad and the person under BALLOT_SECRET and the part's own secret: the server
    can recompute it to find someone's own ballot and to enforce one ballot each. When the part
    closes, the keys become random values and the rows are rewritten in random order (see
    RoundSquad.forget_voters). Ids are random UUIDs and there are no timestamps.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    round = models.ForeignKey(Round, models.PROTECT, related_name="ballots")
    squad = models.ForeignKey(Squad, models.PROTECT, related_name="ballots")
    voter_key = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round", "squad", "voter_key"], name="one_ballot_per_voter"),
            models.CheckConstraint(condition=Exact(Length("voter_key"), 64), name="ballot_voter_key_is_hash"),
        ]

    def __str__(self) -> str:
        return "Anonymous ballot"

    @staticmethod
    def key_for(*, part: RoundSquad, voter: str) -> str:
        """The voter key of a person ("user:<id>") or a workshop guest ("guest:<id>") in an open part.

        Keyed by BALLOT_SECRET and the part's own secret together: the operator's secret alone
        recomputes nothing, and once the part closes its secret is gone for good.
        """
        if not part.secret:
            raise ValueError(_("This squad's part has closed: its voters can no longer be found."))
        key = hashlib.sha256(settings.BALLOT_SECRET.encode() + bytes.fromhex(part.secret)).digest()
        message = f"ballot:{part.round_id}:{part.squad_id}:{voter}".encode()
        return hmac.new(key, message, hashlib.sha256).hexdigest()

    @classmethod
    def key_for_user(cls, *, part: RoundSquad, user_id: int) -> str:
        return cls.key_for(part=part, voter=f"user:{user_id}")


class Answer(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    ballot = models.ForeignKey(Ballot, models.CASCADE, related_name="answers")
    card = models.ForeignKey(HealthCard, models.PROTECT, related_name="answers")
    colour = models.CharField(max_length=6, choices=Colour.choices)
    trend = models.CharField(max_length=9, choices=Trend.choices, blank=True)
    comment = models.TextField(max_length=COMMENT_MAX_LENGTH, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ballot", "card"], name="one_answer_per_card"),
            models.CheckConstraint(condition=Q(colour__in=Colour.values), name="answer_colour_valid"),
            models.CheckConstraint(condition=Q(trend__in=[*Trend.values, ""]), name="answer_trend_valid"),
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("comment"), COMMENT_MAX_LENGTH),
                name="answer_comment_max_length",
            ),
        ]

    def __str__(self) -> str:
        return "Anonymous answer"


# Float scores are means of small integers; compare thresholds with a little slack.
EPSILON = 1e-9


class Light(models.TextChoices):
    GREEN = "green", gettext_lazy("Green")
    YELLOW = "yellow", gettext_lazy("Yellow")
    RED = "red", gettext_lazy("Red")


def light_for(score: float | None) -> str | None:
    if score is None:
        return None
    if score >= settings.HEALTHCHECK_LIGHT_GREEN_AT - EPSILON:
        return Light.GREEN
    if score < settings.HEALTHCHECK_LIGHT_RED_BELOW - EPSILON:
        return Light.RED
    return Light.YELLOW


def arrow_for(trend_mean: float | None) -> str | None:
    """The voted trend as "up", "flat" or "down"."""
    if trend_mean is None:
        return None
    if trend_mean >= settings.HEALTHCHECK_TREND_ARROW_AT - EPSILON:
        return "up"
    if trend_mean <= -settings.HEALTHCHECK_TREND_ARROW_AT + EPSILON:
        return "down"
    return "flat"


def direction_of(change: float | None) -> str | None:
    """A measured change as "up", "same" or "down"."""
    if change is None:
        return None
    if change >= settings.HEALTHCHECK_CHANGE_AT - EPSILON:
        return "up"
    if change <= -settings.HEALTHCHECK_CHANGE_AT + EPSILON:
        return "down"
    return "same"


class Result(models.Model):
    """The frozen aggregate of one card for one squad in one round.

    Rows are written once, when the squad's part of the round closes, from one grouped
    query over the answers, and never written again; every page reads them as they are.
    The light and the voted trend's arrow keep the rules of that moment. Counts are stored
    whole, and the minimums are applied when they are shown, so changing those in settings
    takes effect everywhere at once.
    """

    round = models.ForeignKey(Round, models.CASCADE, related_name="results")
    squad = models.ForeignKey(Squad, models.CASCADE, related_name="results")
    card = models.ForeignKey(HealthCard, models.PROTECT, related_name="results")
    voters = models.PositiveIntegerField(default=0)
    greens = models.PositiveIntegerField(default=0)
    yellows = models.PositiveIntegerField(default=0)
    reds = models.PositiveIntegerField(default=0)
    score = models.FloatField(null=True)
    trend_mean = models.FloatField(null=True)
    # The light and the voted trend's arrow as the rules gave them when the part closed.
    score_light = models.CharField(max_length=6, choices=Light.choices, blank=True)
    trend_arrow = models.CharField(max_length=4, blank=True)
    # The squad's participation in the round: ballots cast over members at closing time, and
    # how many of those ballots came through an open workshop link.
    ballots = models.PositiveIntegerField(default=0)
    members = models.PositiveIntegerField(default=0)
    open_link_ballots = models.PositiveIntegerField(default=0)
    # The same squad and card in the previous closed round of the tribe.
    previous_score = models.FloatField(null=True)
    previous_voters = models.PositiveIntegerField(default=0)
    # What the squad agreed in its workshop, where one recorded it; the vote stays under it.
    agreed_colour = models.CharField(max_length=6, choices=Colour.choices, blank=True)
    agreed_trend = models.CharField(max_length=9, choices=Trend.choices, blank=True)
    agreed_note = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round", "squad", "card"], name="one_result_per_cell"),
            models.CheckConstraint(
                condition=Q(voters=models.F("greens") + models.F("yellows") + models.F("reds")),
                name="result_counts_add_up",
            ),
            models.CheckConstraint(
                condition=Q(ballots__lte=models.F("members")) | Q(members=0),
                name="result_ballots_within_members",
            ),
            models.CheckConstraint(
                condition=Q(open_link_ballots__lte=models.F("ballots")),
                name="result_open_link_within_ballots",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.card} for {self.squad} in {self.round}"

    @property
    def visible(self) -> bool:
        """Whether enough people answered for colours and comments to be shown."""
        return self.voters >= settings.HEALTHCHECK_MIN_RESPONSES

    @property
    def comments_visible(self) -> bool:
        """Whether enough people answered for comments to be shown (a higher bar than colours)."""
        return self.voters >= settings.HEALTHCHECK_MIN_COMMENT_RESPONSES

    @property
    def light(self) -> str | None:
        return (self.score_light or None) if self.visible else None

    @property
    def arrow(self) -> str | None:
        return (self.trend_arrow or None) if self.visible else None

    @property
    def split(self) -> bool:
        return self.visible and self.greens > 0 and self.reds > 0

    @property
    def previous_visible(self) -> bool:
        return self.previous_score is not None and self.previous_voters >= settings.HEALTHCHECK_MIN_RESPONSES

    @property
    def previous_light(self) -> str | None:
        return light_for(self.previous_score) if self.previous_visible else None

    @property
    def change(self) -> float | None:
        if not (self.visible and self.previous_visible) or self.score is None:
            return None
        return self.score - self.previous_score

    @property
    def change_direction(self) -> str | None:
        return direction_of(self.change)

    @property
    def divergence(self) -> str:
        """Say so when the voted trend and the measured change point different ways."""
        arrow, direction = self.arrow, self.change_direction
        if arrow == "up" and direction == "down":
            return _("says improving, scores fell")
        if arrow == "down" and direction == "up":
            return _("says getting worse, scores rose")
        return ""

    @property
    def participation(self) -> float | None:
        return self.ballots / self.members if self.members else None


class TribeResult(models.Model):
    """The tribe column of one card in one closed round, frozen when the round closes.

    The score is the mean over the squads that reached the minimum, each squad once. The
    change compares the same squads in both rounds (those that reached the minimum in each),
    so a squad falling below the minimum moves nothing; `compared` says how many they are.
    """

    round = models.ForeignKey(Round, models.CASCADE, related_name="tribe_results")
    card = models.ForeignKey(HealthCard, models.PROTECT, related_name="tribe_results")
    score = models.FloatField(null=True)
    score_light = models.CharField(max_length=6, choices=Light.choices, blank=True)
    # Squads by light, among the `reached` squads with enough votes, of `total` squads.
    greens = models.PositiveIntegerField(default=0)
    yellows = models.PositiveIntegerField(default=0)
    reds = models.PositiveIntegerField(default=0)
    reached = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    compared = models.PositiveIntegerField(default=0)
    change = models.FloatField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round", "card"], name="one_tribe_result_per_card"),
            models.CheckConstraint(
                condition=Q(reached=models.F("greens") + models.F("yellows") + models.F("reds")),
                name="tribe_result_counts_add_up",
            ),
            models.CheckConstraint(
                condition=Q(reached__lte=models.F("total"), compared__lte=models.F("reached")),
                name="tribe_result_within_total",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.card} for the tribe in {self.round}"

    @property
    def light(self) -> str | None:
        return self.score_light or None

    @property
    def counts(self) -> dict[str, int]:
        return {"green": self.greens, "yellow": self.yellows, "red": self.reds}

    @property
    def change_direction(self) -> str | None:
        return direction_of(self.change)


class Workshop(models.Model):
    """A facilitated session in which one squad goes through the cards together and agrees.

    The facilitator moves card by card and reveals how the squad voted; the squad agrees on a
    colour and a trend per card. Finishing closes the squad's part of the round.
    """

    class Flow(models.TextChoices):
        LIVE = "live", gettext_lazy("Card by card: vote together, then discuss")
        SURVEY = "survey", gettext_lazy("Survey first: people vote in their own time, the workshop discusses")

    class State(models.TextChoices):
        LOBBY = "lobby", gettext_lazy("Lobby")
        RUNNING = "running", gettext_lazy("Running")
        FINISHED = "finished", gettext_lazy("Finished")

    part = models.OneToOneField(RoundSquad, models.CASCADE, related_name="workshop")
    link = models.ForeignKey("InviteLink", models.SET_NULL, null=True, blank=True, related_name="+")
    flow = models.CharField(max_length=6, choices=Flow.choices, default=Flow.LIVE)
    state = models.CharField(max_length=8, choices=State.choices, default=State.LOBBY)
    # The cards in the order the workshop walks them: the round's order, or widest spread first.
    card_order = models.JSONField(default=list)
    position = models.PositiveSmallIntegerField(default=0)
    current_card = models.ForeignKey(HealthCard, models.PROTECT, null=True, blank=True, related_name="+")
    revealed = models.BooleanField(default=False)
    card_started_at = models.DateTimeField(null=True, blank=True)
    card_seconds = models.PositiveIntegerField(default=300)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(flow__in=["live", "survey"]), name="workshop_flow_valid"),
            models.CheckConstraint(
                condition=Q(state__in=["lobby", "running", "finished"]), name="workshop_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(card_seconds__gte=30, card_seconds__lte=3600), name="workshop_timer_in_range"
            ),
        ]

    def __str__(self) -> str:
        return f"Workshop of {self.part}"


class AgreedCard(models.Model):
    """What a squad agreed in its workshop for one card: a colour, a trend and a note."""

    workshop = models.ForeignKey(Workshop, models.CASCADE, related_name="agreed")
    card = models.ForeignKey(HealthCard, models.PROTECT, related_name="+")
    colour = models.CharField(max_length=6, choices=Colour.choices)
    trend = models.CharField(max_length=9, choices=Trend.choices, blank=True)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workshop", "card"], name="one_agreement_per_card"),
            models.CheckConstraint(condition=Q(colour__in=Colour.values), name="agreed_colour_valid"),
            models.CheckConstraint(condition=Q(trend__in=[*Trend.values, ""]), name="agreed_trend_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.card}: {self.colour}"


class WorkshopJoin(models.Model):
    """That a phone joined a workshop: a keyed hash like a voter key, so it says nobody's name.

    It lets the workshop reveal by itself once everyone who joined has voted; the rows go when
    the squad's part closes.
    """

    workshop = models.ForeignKey(Workshop, models.CASCADE, related_name="joins")
    key = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workshop", "key"], name="one_join_per_phone")]

    def __str__(self) -> str:
        return "A phone that joined"


class ActionItemQuerySet(models.QuerySet):
    def overdue(self, today: date | None = None) -> ActionItemQuerySet:
        return self.filter(done=False, due_date__lt=today or timezone.localdate())


class ActionItem(models.Model):
    """Something a squad decided to do about a card, carried from round to round until done."""

    squad = models.ForeignKey(Squad, models.CASCADE, related_name="actions")
    card = models.ForeignKey(HealthCard, models.PROTECT, related_name="actions")
    title = models.CharField(max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="owned_actions"
    )
    due_date = models.DateField(null=True, blank=True)
    done = models.BooleanField(default=False)
    # The latest closed round when the action was agreed: the card's movement is measured from it.
    baseline_round = models.ForeignKey(Round, models.SET_NULL, null=True, blank=True, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="created_actions"
    )
    created_on = models.DateField(default=timezone.localdate)

    objects = ActionItemQuerySet.as_manager()

    class Meta:
        ordering = ["done", "due_date", "title"]
        constraints = [
            models.CheckConstraint(condition=not_blank("title"), name="action_title_not_blank"),
        ]
        indexes = [models.Index(fields=["squad", "done"], name="action_squad_done_idx")]

    def __str__(self) -> str:
        return self.title

    def is_overdue(self, today: date | None = None) -> bool:
        return not self.done and self.due_date is not None and self.due_date < (today or timezone.localdate())


INVITE_ID = re.compile(r"[0-9]{1,11}")


class InviteLink(models.Model):
    """A workshop link for one squad in one round, shown as a QR code.

    A sign-in link leads to sign-in and then to the person's own ballot. An open link lets
    anyone holding it vote without an account, once per browser; results say how many ballots
    came through one. The token is never stored: it is an HMAC of the link's id and a random
    salt under a server secret, so the link can be shown again, yet the table alone does not
    give it away.
    """

    class Kind(models.TextChoices):
        SIGN_IN = "signin", gettext_lazy("Sign-in link")
        OPEN = "open", gettext_lazy("Open link")

    round = models.ForeignKey(Round, models.CASCADE, related_name="invites")
    squad = models.ForeignKey(Squad, models.CASCADE, related_name="invites")
    kind = models.CharField(max_length=6, choices=Kind.choices, default=Kind.SIGN_IN)
    salt = models.CharField(max_length=32, default=new_salt, editable=False)
    # Ballots cast through an open link; the squad's ballots never exceed its members.
    used = models.PositiveIntegerField(default=0)
    revoked = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=["signin", "open"]), name="invite_kind_valid"),
            # One live link of each kind per squad and round: links cannot be multiplied.
            models.UniqueConstraint(
                fields=["round", "squad", "kind"], condition=Q(revoked=False), name="one_live_link_per_kind"
            ),
            models.CheckConstraint(
                condition=Q(kind="open") | Q(used=0), name="invite_used_only_by_open_links"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.round} for {self.squad}"

    def _mac(self) -> str:
        message = f"invite:{self.pk}:{self.salt}".encode()
        digest = hmac.new(settings.BALLOT_SECRET.encode(), message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    @property
    def token(self) -> str:
        return f"{self.pk}.{self._mac()}"

    def matches(self, token: str) -> bool:
        return hmac.compare_digest(self.token.encode(), token.encode())

    @staticmethod
    def id_in(token: str) -> int | None:
        head, _, mac = token.partition(".")
        # str.isdigit() accepts digits of every script ("²"); an id is ASCII digits only.
        return int(head) if INVITE_ID.fullmatch(head) and len(mac) == 43 else None


class RateLimit(models.Model):
    """A counter per key and time window, kept in the database so every app server shares it."""

    key = models.CharField(max_length=120)
    # The window's length in seconds, and its number (seconds since the epoch // period): rows
    # expire among those of the same length only, since numbers of other lengths do not compare.
    period = models.PositiveIntegerField(default=600)
    window = models.BigIntegerField()
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "window"], name="rate_limit_unique_window")]
        indexes = [models.Index(fields=["period", "window"], name="rate_limit_period_window_idx")]

    def __str__(self) -> str:
        return f"{self.key} @ {self.window}: {self.hits}"


class Profile(models.Model):
    """What a person chose for themselves; no row means the choices have their defaults."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, models.CASCADE, related_name="profile")
    # Empty: follow the browser's Accept-Language. Emails go out in this language, else English.
    language = models.CharField(gettext_lazy("language"), max_length=10, blank=True, choices=languages)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(language="") | language_known("language"), name="profile_language_known"
            )
        ]

    def __str__(self) -> str:
        return f"Profile of {self.user}"


def language_of(user, default: str = "") -> str:
    """The language to write to a person in: their choice, else the default given (their tribe's),
    else the site's."""
    profile = getattr(user, "profile", None) if user is not None else None
    return (profile.language if profile is not None else "") or default or settings.LANGUAGE_CODE


class ReminderPreference(models.Model):
    """A person's choice about reminder emails; no row means reminders are on."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, models.CASCADE, related_name="reminder_preference")
    enabled = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"Reminders {'on' if self.enabled else 'off'} for {self.user}"


class ReminderLog(models.Model):
    """That a person got a reminder about a round on a day: nobody gets two on the same day.

    It tells who had not voted yet, so the rows of a squad go when its part of the round closes.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="+")
    round = models.ForeignKey(Round, models.CASCADE, related_name="+")
    sent_on = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "round", "sent_on"], name="one_reminder_a_day_per_round")
        ]

    def __str__(self) -> str:
        return f"Reminder to {self.user} on {self.sent_on}"


# The longest a monthly or quarterly round may stay open, so that it ends before the next period's
# round opens: the first Monday of February can be the 7th and that of March the 1st, 22 days later.
LONGEST_OPEN = {"monthly": 21, "quarterly": 84}


class Cadence(models.Model):
    """A tribe's rhythm of health checks: the scheduler creates and opens each round on time."""

    class Every(models.TextChoices):
        OFF = "off", gettext_lazy("Off: rounds are made by hand")
        MONTHLY = "monthly", gettext_lazy("Every month")
        QUARTERLY = "quarterly", gettext_lazy("Every quarter")
        WEEKS = "weeks", gettext_lazy("Every few weeks")

    class Weekday(models.IntegerChoices):
        MONDAY = 0, gettext_lazy("Monday")
        TUESDAY = 1, gettext_lazy("Tuesday")
        WEDNESDAY = 2, gettext_lazy("Wednesday")
        THURSDAY = 3, gettext_lazy("Thursday")
        FRIDAY = 4, gettext_lazy("Friday")
        SATURDAY = 5, gettext_lazy("Saturday")
        SUNDAY = 6, gettext_lazy("Sunday")

    tribe = models.OneToOneField(Tribe, models.CASCADE, related_name="cadence")
    every = models.CharField(max_length=9, choices=Every.choices, default=Every.OFF)
    weeks = models.PositiveSmallIntegerField(gettext_lazy("number of weeks"), default=6)
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices, default=Weekday.MONDAY)
    at = models.TimeField(gettext_lazy("opens at"), default=time(9, 0))
    open_days = models.PositiveSmallIntegerField(gettext_lazy("days open"), default=7)
    # For "every few weeks": the first opening day (moved to the weekday); the count starts there.
    anchor = models.DateField(gettext_lazy("starting"), null=True, blank=True)
    # None chosen means the tribe's active deck at the time each round is made.
    cards = models.ManyToManyField(HealthCard, blank=True, related_name="+")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(every__in=["off", "monthly", "quarterly", "weeks"]), name="cadence_every_valid"
            ),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="cadence_weekday_valid"),
            models.CheckConstraint(
                condition=~Q(every="weeks") | Q(anchor__isnull=False), name="cadence_weeks_counted_from_a_day"
            ),
            models.CheckConstraint(condition=Q(weeks__gte=1, weeks__lte=26), name="cadence_weeks_valid"),
            models.CheckConstraint(
                condition=Q(open_days__gte=1)
                & (
                    Q(every="off")
                    | Q(every="monthly", open_days__lte=LONGEST_OPEN["monthly"])
                    | Q(every="quarterly", open_days__lte=LONGEST_OPEN["quarterly"])
                    | Q(every="weeks", open_days__lt=models.F("weeks") * 7)
                ),
                name="cadence_open_shorter_than_period",
                violation_error_message="A round must stay open at least a day, and close before the next one opens.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tribe}: {self.described()}"

    def described(self) -> str:
        """The rhythm in words: "every quarter, on the first Monday at 09:00, open 7 days"."""
        if self.every == self.Every.OFF:
            return _("off")
        day = self.get_weekday_display()
        when = {
            "monthly": _("every month, on the first %(day)s"),
            "quarterly": _("every quarter, on the first %(day)s"),
            "weeks": ngettext("every week, on %(day)s", "every %(weeks)s weeks, on %(day)s", self.weeks),
        }[self.every] % {"day": day, "weeks": self.weeks}
        return ngettext(
            "%(when)s at %(at)s, open %(days)s day", "%(when)s at %(at)s, open %(days)s days", self.open_days
        ) % {"when": when, "at": f"{self.at:%H:%M}", "days": self.open_days}

    def longest_open(self) -> int:
        return self.weeks * 7 - 1 if self.every == self.Every.WEEKS else LONGEST_OPEN[self.every]


class Channel(models.Model):
    """A tribe's chat channel (a Slack or Microsoft Teams incoming webhook) that hears about rounds.

    The webhook URL is a secret: it is stored encrypted and never shown again in full.
    """

    class Kind(models.TextChoices):
        SLACK = "slack", gettext_lazy("Slack")
        TEAMS = "teams", gettext_lazy("Microsoft Teams")

    tribe = models.ForeignKey(Tribe, models.CASCADE, related_name="channels")
    kind = models.CharField(max_length=5, choices=Kind.choices)
    sealed_url = models.TextField(editable=False)
    url_hint = models.CharField(max_length=80, editable=False)
    added_at = models.DateTimeField(default=timezone.now, editable=False)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["kind", "added_at"]
        constraints = [
            models.UniqueConstraint(fields=["tribe", "kind"], name="one_channel_per_kind_per_tribe"),
            models.CheckConstraint(condition=Q(kind__in=["slack", "teams"]), name="channel_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.tribe}: {self.url_hint}"


API_KEY_PREFIX = "shc_"


class ApiKey(models.Model):
    """A read-only key for reporting tools: one tribe's results, or every tribe's (made by staff).

    The key is shown once, when it is made. The database keeps its public prefix (to find it)
    and a keyed hash of the whole key (to check it), so a copy of the database opens nothing.
    """

    name = models.CharField(max_length=100)
    tribe = models.ForeignKey(Tribe, models.CASCADE, null=True, blank=True, related_name="api_keys")
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    digest = models.CharField(max_length=64, editable=False)
    read_comments = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=not_blank("name"), name="api_key_name_not_blank")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def digest_of(key: str) -> str:
        return hmac.new(settings.SECRET_KEY.encode(), f"api-key:{key}".encode(), hashlib.sha256).hexdigest()

    @classmethod
    def issue(cls, **fields) -> tuple[ApiKey, str]:
        """A new key (unsaved) and its secret text, which nobody will see again once shown."""
        prefix = secrets.token_hex(4)
        key = f"{API_KEY_PREFIX}{prefix}.{secrets.token_urlsafe(32)}"
        return cls(prefix=prefix, digest=cls.digest_of(key), **fields), key

    @classmethod
    def usable(cls) -> models.QuerySet:
        """Keys that work: not revoked, and their maker may still make them (a lead of the key's
        tribe, or staff); a key made by someone who has left, or lost the role, stops working."""
        leads = TribeRole.objects.filter(
            tribe=models.OuterRef("tribe"), user=models.OuterRef("created_by"), role=TribeRole.Role.LEAD
        )
        return cls.objects.filter(revoked_at=None, created_by__is_active=True).filter(
            Q(created_by__is_staff=True) | (Q(tribe__isnull=False) & models.Exists(leads))
        )

    @classmethod
    def find(cls, key: str) -> ApiKey | None:
        """The live key this text is, or None; the comparison takes the same time whatever matches."""
        if not key.startswith(API_KEY_PREFIX) or "." not in key:
            return None
        prefix = key[len(API_KEY_PREFIX) :].split(".", 1)[0]
        found = cls.usable().filter(prefix=prefix).select_related("tribe").first()
        if found is None or not hmac.compare_digest(found.digest, cls.digest_of(key)):
            return None
        return found

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


class Notification(models.Model):
    """One message to one channel about one round: queued by the scheduler, posted with retries.

    It holds the message as sent: the round's title, counts of squads, a link; never a person.
    """

    class Event(models.TextChoices):
        OPENED = "opened", gettext_lazy("Round opened")
        CLOSING = "closing", gettext_lazy("Closing tomorrow")
        PUBLISHED = "published", gettext_lazy("Results published")

    class State(models.TextChoices):
        PENDING = "pending", gettext_lazy("Waiting")
        SENDING = "sending", gettext_lazy("Sending")
        SENT = "sent", gettext_lazy("Sent")
        FAILED = "failed", gettext_lazy("Gave up")

    channel = models.ForeignKey(Channel, models.CASCADE, related_name="notifications")
    round = models.ForeignKey(Round, models.CASCADE, related_name="+")
    event = models.CharField(max_length=9, choices=Event.choices)
    text = models.TextField()
    link = models.URLField(max_length=300)
    state = models.CharField(max_length=7, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "round", "event"], name="one_notification_per_event"),
            models.CheckConstraint(
                condition=Q(state__in=["pending", "sending", "sent", "failed"]),
                name="notification_state_valid",
            ),
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="notification_due_idx")]

    def __str__(self) -> str:
        return f"{self.get_event_display()}: {self.round} to {self.channel}"


class TickLog(models.Model):
    """What one run of the scheduler (manage.py tick) did, when it did anything."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    did = models.JSONField(default=list)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M}: {'; '.join(self.did)}"


class AuditEvent(models.Model):
    """Who did what and when: round, deck and role changes, sign-ins and denied access.

    Never a vote: ballots are not audited at all, so no event can tie a person to one.
    """

    class Action(models.TextChoices):
        ROUND_CREATED = "round.created", gettext_lazy("Round created")
        ROUND_CHANGED = "round.changed", gettext_lazy("Round changed")
        ROUND_SCHEDULED = "round.scheduled", gettext_lazy("Round scheduled")
        ROUND_OPENED = "round.opened", gettext_lazy("Round opened")
        ROUND_EXTENDED = "round.extended", gettext_lazy("Round extended")
        ROUND_CLOSED = "round.closed", gettext_lazy("Round closed")
        ROUND_CANCELLED = "round.cancelled", gettext_lazy("Round cancelled")
        SQUAD_FINISHED = "round.squad_finished", gettext_lazy("Squad finished its round")
        WORKSHOP_STARTED = "workshop.started", gettext_lazy("Workshop started")
        CADENCE_CHANGED = "cadence.changed", gettext_lazy("Rhythm of rounds changed")
        CHANNEL_ADDED = "channel.added", gettext_lazy("Chat channel added")
        CHANNEL_REMOVED = "channel.removed", gettext_lazy("Chat channel removed")
        ROUND_DELETED = "round.deleted", gettext_lazy("Round deleted")
        DECK_CHANGED = "deck.changed", gettext_lazy("Deck changed")
        ROLE_CHANGED = "role.changed", gettext_lazy("Role changed")
        ORGANISATION_CHANGED = "org.changed", gettext_lazy("Tribe or squad changed")
        INVITE_CREATED = "invite.created", gettext_lazy("Invite link created")
        INVITE_REVOKED = "invite.revoked", gettext_lazy("Invite link withdrawn")
        INVITATION_SENT = "person.invited", gettext_lazy("Invitation to set a password sent")
        PASSWORD_CHANGED = "auth.password_changed", gettext_lazy("Password set or changed")
        API_KEY_CREATED = "api_key.created", gettext_lazy("API key created")
        API_KEY_REVOKED = "api_key.revoked", gettext_lazy("API key revoked")
        SIGNED_IN = "auth.signed_in", gettext_lazy("Signed in")
        SIGN_IN_FAILED = "auth.sign_in_failed", gettext_lazy("Sign-in failed")
        ACCESS_DENIED = "access.denied", gettext_lazy("Access denied")

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Kept as text so the event stays readable after the person is deleted.
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=30, choices=Action.choices)
    target = models.CharField(max_length=200, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name or 'system'}: {self.get_action_display()} {self.target}"
