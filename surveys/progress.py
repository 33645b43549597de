"""How the open rounds of the squads someone supports are going: for a lead's and a coach's home.

Counts only (squads done, ballots against members), never who voted. Four queries, however many
rounds and squads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from .access import Roles
from .models import Ballot, Round, RoundSquad, Squad, SquadRole, TribeRole

CLOSING_SOON = timedelta(days=2)


@dataclass
class SquadProgress:
    squad: Squad
    members: int
    ballots: int
    done: bool

    @property
    def hidden(self) -> bool:
        """Finished below the minimum: like its results, it shows "fewer than k", not the count."""
        return self.done and self.ballots < settings.HEALTHCHECK_MIN_RESPONSES

    @property
    def share(self) -> int:
        return round(100 * min(self.ballots, self.members) / self.members) if self.members else 0


@dataclass
class RoundProgress:
    round: Round
    manages: bool  # leads or coaches the tribe: the round is theirs to run
    squads: list[SquadProgress] = field(default_factory=list)
    next_step: str = ""
    next_url: str = ""
    next_label: str = ""

    @property
    def squads_done(self) -> int:
        return sum(1 for s in self.squads if s.done)


def _next_step(progress: RoundProgress, now) -> None:
    """The one thing most worth doing next for this round, with where to do it."""
    rnd = progress.round
    if progress.manages:
        run = (reverse("surveys:round-detail", args=[rnd.pk]), _("Run this round"))
    else:  # a squad coach starts their squad's workshop from the manage page
        run = (reverse("surveys:manage"), _("Start a workshop"))
    waiting = [s for s in progress.squads if not s.done]
    silent = [s.squad.name for s in waiting if s.ballots == 0]
    short = [s.squad.name for s in waiting if 0 < s.ballots < settings.HEALTHCHECK_MIN_RESPONSES]
    if rnd.state == Round.State.SCHEDULED:
        step = _("It has not opened yet: check its cards and dates.")
        link = (
            (reverse("surveys:round-detail", args=[rnd.pk]), _("See the round"))
            if progress.manages
            else ("", "")
        )
    elif not waiting:
        step = _("Every squad here is done: talk the results through with each of them.")
        link = (reverse("surveys:coach-queue"), _("Support queue"))
    elif silent:
        step = _("No ballot yet from %(squads)s: run a workshop, or remind them.") % {
            "squads": ", ".join(silent)
        }
        link = run
    elif short:
        step = _("Fewer than %(k)s ballots from %(squads)s: below that, nothing of theirs can be shown.") % {
            "k": settings.HEALTHCHECK_MIN_RESPONSES,
            "squads": ", ".join(short),
        }
        link = run
    elif rnd.closes_at - now < CLOSING_SOON:
        step = _("It closes soon, with enough ballots from every squad.")
        link = run
    else:
        step = _("Every squad has enough ballots; each finishes when it is ready.")
        link = run
    progress.next_step = step
    progress.next_url, progress.next_label = link


def supported_rounds(roles: Roles) -> list[RoundProgress]:
    """Each open or scheduled round of the tribes someone leads or coaches, with every squad of the
    tribe, and of the tribes of squads they coach, with those squads only."""
    now = timezone.now()
    managed = {
        tribe_id
        for tribe_id, kinds in roles.tribe_roles.items()
        if kinds & {TribeRole.Role.LEAD, TribeRole.Role.COACH}
    }
    coached = {squad.pk: squad for squad, kinds in roles.squads.values() if SquadRole.Role.COACH in kinds}
    tribes = managed | {squad.tribe_id for squad in coached.values()}
    if not tribes:
        return []
    rounds = list(
        Round.objects.filter(
            tribe__in=tribes, state__in=[Round.State.SCHEDULED, Round.State.OPEN], closes_at__gt=now
        )
        .select_related("tribe")
        .order_by("opens_at", "title")
    )
    if not rounds:
        return []
    squads = list(
        Squad.objects.filter(Q(tribe__in=managed) | Q(pk__in=list(coached)))
        .annotate(members=Count("roles", filter=Q(roles__role=SquadRole.Role.MEMBER)))
        .order_by("position", "name")
    )
    done = set(
        RoundSquad.objects.filter(round__in=rounds, state=RoundSquad.State.CLOSED).values_list(
            "round_id", "squad_id"
        )
    )
    ballots = {
        (row["round"], row["squad"]): row["n"]
        for row in Ballot.objects.filter(round__in=rounds)
        .values("round", "squad")
        .annotate(n=Count("id"))
        .order_by()
    }
    found = []
    for rnd in rounds:
        progress = RoundProgress(round=rnd, manages=rnd.tribe_id in managed)
        progress.squads = [
            SquadProgress(
                squad,
                squad.members,
                ballots.get((rnd.pk, squad.pk), 0),
                (rnd.pk, squad.pk) in done,
            )
            for squad in squads
            if squad.tribe_id == rnd.tribe_id
        ]
        _next_step(progress, now)
        found.append(progress)
    return found
