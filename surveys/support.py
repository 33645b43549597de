"""The coach's support queue: which squads may need support first, and why.

Reasons come from the frozen results of the latest round each squad has finished and from its
action items. The order puts those who may need support first; it is not a ranking of
how good squads are, and the page says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.urls import reverse

from .models import Result, Round, Squad

# How much each kind of reason weighs when ordering the queue.
WEIGHTS = {
    "no-ballots": 5,
    "red": 3,
    "fell": 2,
    "low-participation": 2,
    "overdue": 2,
    "divergence": 1,
    "split": 1,
}
LOW_PARTICIPATION = 0.5


@dataclass
class Reason:
    kind: str
    text: str
    url: str


@dataclass
class QueueEntry:
    squad: Squad
    round: Round | None
    reasons: list[Reason] = field(default_factory=list)

    @property
    def weight(self) -> int:
        return sum(WEIGHTS[r.kind] for r in self.reasons)


def _names(results: list[Result]) -> str:
    return ", ".join(r.card.name for r in results)


def squad_reasons(squad: Squad, rnd: Round | None, results: list[Result], overdue: int) -> QueueEntry:
    """Every reason this squad may need support, each with a link to where it shows."""
    entry = QueueEntry(squad=squad, round=rnd)
    page = reverse("surveys:squad", args=[squad.slug])
    if rnd is not None and results:
        page_round = f"{page}?round={rnd.pk}"
        first = results[0]
        if first.ballots == 0:
            entry.reasons.append(Reason("no-ballots", f"No ballot at all in {rnd.title}", page_round))
        elif first.participation is not None and first.participation < LOW_PARTICIPATION:
            entry.reasons.append(
                Reason(
                    "low-participation",
                    f"Participation {first.ballots} of {first.members} ({first.participation:.0%}) in {rnd.title}",
                    page_round,
                )
            )
        for kind, label, chosen, url in (
            ("red", "Red", [r for r in results if r.light == "red"], page_round),
            (
                "fell",
                "Score fell by 0.25 or more",
                [r for r in results if r.change_direction == "down"],
                page_round,
            ),
            (
                "divergence",
                "Voted trend and measured change disagree",
                [r for r in results if r.divergence],
                page_round,
            ),
            ("split", "Split votes", [r for r in results if r.split], page_round),
        ):
            for result in chosen:
                entry.reasons.append(
                    Reason(kind, f"{label}: {result.card.name}", f"{url}#card-{result.card_id}")
                )
    if overdue:
        entry.reasons.append(
            Reason(
                "overdue", f"{overdue} overdue action item{'s' if overdue != 1 else ''}", f"{page}#actions"
            )
        )
    return entry


def support_queue(
    squads: list[Squad],
    latest_round: dict[int, Round],  # squad id -> the squad's latest finished round
    results: list[Result],
    overdue: dict[int, int],
) -> list[QueueEntry]:
    """Squads with reasons first, the heaviest first; squads in their usual order among equals."""
    by_squad: dict[int, list[Result]] = {}
    for result in results:
        by_squad.setdefault(result.squad_id, []).append(result)
    entries = []
    for position, squad in enumerate(squads):
        cells = sorted(by_squad.get(squad.pk, []), key=lambda r: (r.card.position, r.card.name))
        entry = squad_reasons(squad, latest_round.get(squad.pk), cells, overdue.get(squad.pk, 0))
        entries.append((-entry.weight, position, entry))
    return [entry for *_, entry in sorted(entries, key=lambda item: item[:2])]
