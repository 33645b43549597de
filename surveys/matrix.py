"""The tribe matrix: health cards as rows, squads as columns, then the tribe column.

Built from the frozen results of one round (and its frozen tribe column once it has closed), so its cost depends on squads x cards only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .models import HealthCard, Result, Squad, TribeResult


@dataclass
class MatrixRow:
    card: HealthCard
    cells: list[Result | None]
    tribe: TribeResult | None  # None until the round closes

    @property
    def systemic(self) -> bool:
        """A row where at least half of the squads with enough votes need support."""
        if self.tribe is None:
            return False
        troubled = self.tribe.yellows + self.tribe.reds
        return self.tribe.reached > 1 and troubled * 2 >= self.tribe.reached


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
