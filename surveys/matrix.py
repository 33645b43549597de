"""The tribe matrix: health cards as rows, squads as columns, then the tribe column.

Built from the frozen results of one round, so its cost depends on squads x cards only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .models import HealthCard, Result, Squad, direction_of, light_for


@dataclass
class TribeCell:
    """Per card, the mean of the scores of the squads that reached the minimum, each squad once."""

    score: float | None
    light: str | None
    reached: int
    total: int
    counts: dict[str, int]
    previous_score: float | None = None

    @property
    def previous_light(self) -> str | None:
        return light_for(self.previous_score)

    @property
    def change(self) -> float | None:
        if self.score is None or self.previous_score is None:
            return None
        return self.score - self.previous_score

    @property
    def change_direction(self) -> str | None:
        return direction_of(self.change)


@dataclass
class MatrixRow:
    card: HealthCard
    cells: list[Result | None]
    tribe: TribeCell
    systemic: bool = False


@dataclass
class Matrix:
    squads: list[Squad]
    rows: list[MatrixRow] = field(default_factory=list)
    participation: list[tuple[Squad, int, int]] = field(default_factory=list)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def tribe_cell(cells: list[Result | None]) -> TribeCell:
    shown = [c for c in cells if c is not None and c.visible and c.score is not None]
    counts = {"green": 0, "yellow": 0, "red": 0}
    for cell in shown:
        counts[cell.light] += 1
    score = _mean([c.score for c in shown])
    return TribeCell(
        score=score,
        light=light_for(score),
        reached=len(shown),
        total=len(cells),
        counts=counts,
        previous_score=_mean([c.previous_score for c in cells if c is not None and c.previous_visible]),
    )


def build_matrix(squads: list[Squad], cards: list[HealthCard], results: list[Result]) -> Matrix:
    by_cell = {(r.squad_id, r.card_id): r for r in results}
    matrix = Matrix(squads=squads)
    for card in cards:
        cells = [by_cell.get((squad.pk, card.pk)) for squad in squads]
        tribe = tribe_cell(cells)
        troubled = tribe.counts["yellow"] + tribe.counts["red"]
        # A row where at least half of the squads with enough votes need support.
        systemic = tribe.reached > 1 and troubled * 2 >= tribe.reached
        matrix.rows.append(MatrixRow(card=card, cells=cells, tribe=tribe, systemic=systemic))
    first = {}
    for result in results:
        first.setdefault(result.squad_id, result)
    matrix.participation = [
        (squad, first[squad.pk].ballots, first[squad.pk].members) if squad.pk in first else (squad, 0, 0)
        for squad in squads
    ]
    return matrix
