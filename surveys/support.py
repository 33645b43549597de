"""The coach's support queue: one headline per squad, from the reasons its last two rounds give.

Reasons come from the frozen results of the last two rounds each squad has finished and from its
action items. Reasons of one kind are folded into one line ("split votes on 9 cards"). Each
kind weighs something; the sum picks the headline, and the queue is sorted by headline only,
squads in their usual order within it. The weights and sums never reach the page: this is
where to help next, not a ranking of squads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from django.conf import settings
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .matrix import percent
from .models import Result, Round, Squad

# How much one card (or one occurrence) of each kind weighs, and how many of them count at most.
WEIGHTS = {
    "no-ballots": 6,
    "no-round": 2,
    "below-minimum": 2,
    "still-red": 6,
    "red": 3,
    "low-participation": 2,
    "fell": 2,
    "overdue": 2,
    "divergence": 1,
    "split": 1,
}
COUNTED_AT_MOST = 3
LOW_PARTICIPATION = 0.5
# A squad needs support now from this weight on, with at least one of the SERIOUS reasons (falls,
# splits and the like alone make it worth a look), and is worth a look from WORTH_A_LOOK_AT on.
SUPPORT_NOW_AT = 6
WORTH_A_LOOK_AT = 2
SERIOUS = {"no-ballots", "still-red", "red"}


class Headline(IntEnum):
    """Sorted as listed: who may need support first."""

    SUPPORT_NOW = 0
    WORTH_A_LOOK = 1
    FINE = 2

    @property
    def label(self) -> str:
        return (_("Needs support now"), _("Worth a look"), _("Doing fine"))[self]

    @property
    def css(self) -> str:
        return ("now", "look", "fine")[self]


@dataclass
class Reason:
    """One kind of reason, folded: the cards it covers, and a link to where it shows."""

    kind: str
    text: str
    url: str
    cards: list[str] = field(default_factory=list)
    count: int = 0  # how many times it happens, when that is not a number of cards

    @property
    def weight(self) -> int:
        return WEIGHTS[self.kind] * min(max(len(self.cards), self.count, 1), COUNTED_AT_MOST)


@dataclass
class QueueEntry:
    squad: Squad
    round: Round | None
    previous: Round | None = None
    reasons: list[Reason] = field(default_factory=list)

    @property
    def weight(self) -> int:
        return sum(reason.weight for reason in self.reasons)

    @property
    def headline(self) -> Headline:
        if self.weight >= SUPPORT_NOW_AT and any(r.kind in SERIOUS for r in self.reasons):
            return Headline.SUPPORT_NOW
        if self.weight >= WORTH_A_LOOK_AT:
            return Headline.WORTH_A_LOOK
        return Headline.FINE


def _cards(count: int) -> str:
    return ngettext("%(count)s card", "%(count)s cards", count) % {"count": count}


def _folded(kind: str, label: str, results: list[Result], url: str) -> Reason | None:
    """All cards of one kind in one line: "Red on 2 cards", linking to the first of them."""
    if not results:
        return None
    return Reason(
        kind,
        _("%(reason)s on %(cards)s") % {"reason": label, "cards": _cards(len(results))},
        f"{url}#card-{results[0].card_id}",
        [r.card.name for r in results],
    )


def squad_reasons(
    squad: Squad,
    rounds: list[Round],  # the squad's last two finished rounds, newest first
    results: dict[int, list[Result]],  # round id -> the squad's results in it, in card order
    overdue: int,
) -> QueueEntry:
    """Every reason this squad may need support, folded by kind, each with a link to where it shows."""
    latest = rounds[0] if rounds else None
    previous = rounds[1] if len(rounds) > 1 else None
    entry = QueueEntry(squad=squad, round=latest, previous=previous)
    page = reverse("surveys:squad", args=[squad.slug])
    if latest is None:
        entry.reasons.append(Reason("no-round", _("No finished round yet"), page))
    minimum = settings.HEALTHCHECK_MIN_RESPONSES
    now = results.get(latest.pk, []) if latest else []
    if now:
        url = f"{page}?round={latest.pk}"
        first = now[0]
        if first.ballots == 0:
            entry.reasons.append(
                Reason("no-ballots", _("No ballot at all in %(round)s") % {"round": latest.title}, url)
            )
        elif first.ballots < minimum:  # "fewer than k", never the count: it would tell who did not vote
            text = _("Fewer than %(k)s of %(members)s members voted in %(round)s: nothing can be shown") % {
                "k": minimum,
                "members": first.members,
                "round": latest.title,
            }
            entry.reasons.append(Reason("below-minimum", text, url))
        elif first.participation is not None and first.participation < LOW_PARTICIPATION:
            text = _("Participation %(ballots)s of %(members)s (%(share)s) in %(round)s") % {
                "ballots": first.ballots,
                "members": first.members,
                "share": percent(first.participation),
                "round": latest.title,
            }
            entry.reasons.append(Reason("low-participation", text, url))
        # Only cards with enough answers: the light of any other is not to be told.
        now = [r for r in now if r.visible]
        before = {r.card_id: r for r in results.get(previous.pk, []) if r.visible} if previous else {}
        red = [r for r in now if r.light == "red"]
        still_red = [r for r in red if getattr(before.get(r.card_id), "light", None) == "red"]
        for reason in (
            _folded("still-red", _("Red two rounds running"), still_red, url),
            _folded("red", _("Red"), [r for r in red if r not in still_red], url),
            _folded(
                "fell",
                _("Score fell by %(step)s or more")
                % {"step": number_format(settings.HEALTHCHECK_CHANGE_AT, 2)},
                [r for r in now if r.change_direction == "down"],
                url,
            ),
            _folded(
                "divergence",
                _("Voted trend and measured change disagree"),
                [r for r in now if r.divergence],
                url,
            ),
            _folded("split", _("Split votes"), [r for r in now if r.split], url),
        ):
            if reason is not None:
                entry.reasons.append(reason)
    if overdue:
        entry.reasons.append(
            Reason(
                "overdue",
                ngettext("%(count)s overdue action item", "%(count)s overdue action items", overdue)
                % {"count": overdue},
                f"{page}#actions",
                count=overdue,
            )
        )
    return entry


def support_queue(
    squads: list[Squad],
    finished: dict[int, list[Round]],  # squad id -> its last two finished rounds, newest first
    results: list[Result],
    overdue: dict[int, int],
) -> list[QueueEntry]:
    """Every squad with its headline and reasons: those needing support now first, then those
    worth a look, then those doing fine; within a headline, squads keep their usual order."""
    by_round: dict[tuple[int, int], list[Result]] = {}
    for result in sorted(results, key=lambda r: (r.card.position, r.card.name)):
        by_round.setdefault((result.squad_id, result.round_id), []).append(result)
    entries = []
    for position, squad in enumerate(squads):
        rounds = finished.get(squad.pk, [])
        mine = {rnd.pk: by_round.get((squad.pk, rnd.pk), []) for rnd in rounds}
        entry = squad_reasons(squad, rounds, mine, overdue.get(squad.pk, 0))
        entries.append((entry.headline, position, entry))
    return [entry for *_, entry in sorted(entries, key=lambda item: item[:2])]
