"""The tribe matrix: health cards as rows, squads as columns, then the tribe column.

Built from the frozen results of one round (and its frozen tribe column once it has closed), so its cost depends on squads x cards only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext as _

from .models import HealthCard, Result, Squad, TribeResult


def is_systemic(reds: int, yellows: int, visible: int) -> bool:
    """A card troubles the tribe as a whole: of the squads with enough votes (enough of them),
    at least half are red, or at least two thirds yellow or red (the shares are settings)."""
    if visible < settings.HEALTHCHECK_SYSTEMIC_MIN_SQUADS:
        return False
    return (
        reds >= settings.HEALTHCHECK_SYSTEMIC_RED_SHARE * visible - 1e-9
        or reds + yellows >= settings.HEALTHCHECK_SYSTEMIC_TROUBLED_SHARE * visible - 1e-9
    )


def systemic_rule() -> dict:
    """The rule in words for the legend (and in the key of any markup that applies it)."""
    return {
        "min_squads": settings.HEALTHCHECK_SYSTEMIC_MIN_SQUADS,
        "red_share": _share(settings.HEALTHCHECK_SYSTEMIC_RED_SHARE),
        "troubled_share": _share(settings.HEALTHCHECK_SYSTEMIC_TROUBLED_SHARE),
    }


def _share(value: float) -> str:
    """A share in words where it has a common name (2 of 3 is "two thirds", not 67%)."""
    for words, share in (
        (_("half"), 1 / 2),
        (_("two thirds"), 2 / 3),
        (_("a third"), 1 / 3),
        (_("three quarters"), 3 / 4),
    ):
        if abs(value - share) < 0.005:
            return words
    return percent(value)


def percent(value: float) -> str:
    """A share as a whole percentage written the reader's way: "67%" in English, "67 %" in Swedish."""
    return _("%(percent)s%%") % {"percent": round(value * 100)}


@dataclass
class MatrixRow:
    card: HealthCard
    cells: list[Result | None]
    tribe: TribeResult | None  # None until the round closes

    @property
    def systemic(self) -> bool:
        return self.tribe is not None and is_systemic(self.tribe.reds, self.tribe.yellows, self.tribe.reached)


@dataclass
class Matrix:
    squads: list[Squad]
    rows: list[MatrixRow] = field(default_factory=list)
    participation: list[tuple[Squad, int, int]] = field(default_factory=list)


def build_matrix(
    squads: list[Squad], cards: list[HealthCard], results: list[Result], tribe_results: list[TribeResult]
) -> Matrix:
    """The matrix of the squads that have finished the round (those with results), in their usual order."""
    by_cell = {(r.squad_id, r.card_id): r for r in results}
    tribe_by_card = {t.card_id: t for t in tribe_results}
    first: dict[int, Result] = {}
    for result in results:
        first.setdefault(result.squad_id, result)
    matrix = Matrix(squads=[squad for squad in squads if squad.pk in first])
    for card in cards:
        cells = [by_cell.get((squad.pk, card.pk)) for squad in matrix.squads]
        matrix.rows.append(MatrixRow(card=card, cells=cells, tribe=tribe_by_card.get(card.pk)))
    matrix.participation = [
        (squad, first[squad.pk].ballots, first[squad.pk].members) for squad in matrix.squads
    ]
    return matrix
