"""Plotly figures built from plain data. No database here: views gather the data, these draw it.

Each function returns the figure as a plain dict in plotly's figure format, ready for
json_script; the page's static charts.js hands it to plotly.js. The dicts are written out
rather than built with plotly.graph_objects, whose validation cost more than the rest of a
trends page together; the tests check every figure against plotly's schema instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.formats import get_format, number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

LIGHT_COLOURS = {"green": "#146c43", "yellow": "#ffc107", "red": "#b02a37"}
LIGHT_CODES = {"red": 0, "yellow": 1, "green": 2}
TREND_WORDS = {
    "up": pgettext_lazy("trend", "improving"),
    "flat": pgettext_lazy("trend", "stable"),
    "down": pgettext_lazy("trend", "getting worse"),
    None: gettext_lazy("not given"),
}
LIGHT_WORDS = {"green": gettext_lazy("green"), "yellow": gettext_lazy("yellow"), "red": gettext_lazy("red")}
NO_RESULT = "\u2013"  # an en dash marks a cell with no result to show
FONT = {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", "size": 12, "color": "#212529"}


@dataclass(frozen=True)
class Point:
    """One card of one squad (or of the tribe) in one round. score is None below the minimum."""

    round: str
    score: float | None
    light: str | None
    voters: int
    trend: str | None = None


def _layout(**extra) -> dict:
    return {
        # The default template adds kilobytes to every figure; the styling here is explicit instead.
        "template": "none",
        "font": FONT,
        "margin": {"l": 48, "r": 16, "t": 16, "b": 40},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        # The decimal and thousands separators of the reader's language ("," and a space in Swedish).
        "separators": get_format("DECIMAL_SEPARATOR") + get_format("THOUSAND_SEPARATOR"),
        **extra,
    }


def _hover(point: Point) -> list:
    return [_light(point.light), point.voters, str(TREND_WORDS.get(point.trend, TREND_WORDS[None]))]


def _light(light: str | None) -> str:
    return str(LIGHT_WORDS[light]) if light in LIGHT_WORDS else _("not enough votes")


def _score(score: float) -> str:
    return number_format(score, 2)


def _round_axis(rounds: list[str]) -> dict:
    """Rounds in order, each label whole: tilted and given room rather than cut short on a phone."""
    return {
        "type": "category",
        "categoryorder": "array",
        "categoryarray": rounds,
        "tickangle": -40 if len(rounds) > 3 else 0,
        "tickfont": {"size": 10},
        "automargin": True,
    }


REFERENCE_GREY = "#6c757d"


def _wrapped(label: str, width: int = 12) -> str:
    """A long label over two lines, so that it fits beside a radar on a phone."""
    if len(label) <= width or " " not in label:
        return label
    middle = len(label) // 2
    cut = min((i for i, ch in enumerate(label) if ch == " "), key=lambda i: abs(i - middle))
    return label[:cut] + "<br>" + label[cut + 1 :]


def radar(
    cards: list[str],
    latest: tuple[str, list[float | None]],
    previous: tuple[str, list[float | None]] | None = None,
    reference: tuple[str, list[float | None]] | None = None,
) -> dict:
    """Scores per card around a circle: the latest round, the one before, and a faint reference.

    Each pair is a legend name and one score per card (None below the minimum, left as a gap).
    The loop is closed by repeating the first card.
    """

    cards = [_wrapped(card) for card in cards]

    def trace(name: str, scores: list[float | None], **style) -> dict:
        return {
            "type": "scatterpolar",
            "r": [*scores, scores[0]] if scores else [],
            "theta": [*cards, cards[0]] if cards else [],
            "name": name,
            "mode": "lines+markers",
            "connectgaps": False,
            "hovertemplate": _("%{theta}: score %{r:.2f}") + "<extra>" + name + "</extra>",
            **style,
        }

    data = []
    if reference is not None:
        data.append(trace(*reference, line={"color": REFERENCE_GREY, "width": 1, "dash": "dot"}, opacity=0.6))
    if previous is not None:
        data.append(trace(*previous, line={"color": "#98c1d9", "width": 2, "dash": "dash"}))
    data.append(
        trace(*latest, line={"color": "#3d5a80", "width": 3}, fill="toself", fillcolor="rgba(61,90,128,0.12)")
    )
    layout = _layout(
        height=420,
        margin={"l": 56, "r": 56, "t": 24, "b": 24},
        polar={
            "radialaxis": {"range": [0, 2], "tickvals": [0, 1, 2], "angle": 90, "tickfont": {"size": 9}},
            "angularaxis": {"direction": "clockwise", "tickfont": {"size": 10}},
        },
        legend={"orientation": "h", "y": -0.08, "x": 0.5, "xanchor": "center"},
        showlegend=True,
    )
    return {"data": data, "layout": layout}


def participation_bars(rounds: list[str], ballots: list[int | None], members: list[int]) -> dict:
    """Share of members who voted, per round; a round whose count is hidden (None) is a gap."""
    shares = [
        round(100 * b / m) if m and b is not None else None for b, m in zip(ballots, members, strict=True)
    ]
    bar = {
        "type": "bar",
        "x": rounds,
        "y": shares,
        "customdata": [[NO_RESULT if b is None else b, m] for b, m in zip(ballots, members, strict=True)],
        "marker": {"color": "#3d5a80"},
        "name": _("Participation"),
        "hovertemplate": _("%{x}: %{y} (%{customdata[0]} of %{customdata[1]} voted)") + "<extra></extra>",
    }
    layout = _layout(
        height=240,
        xaxis=_round_axis(rounds),
        yaxis={"range": [0, 100], "title": {"text": _("Voted (%)")}, "ticksuffix": "%"},
        showlegend=False,
    )
    return {"data": [bar], "layout": layout}


def light_heatmap(rounds: list[str], cards: list[str], cells: dict[tuple[str, str], Point]) -> dict:
    """Round x card, each cell coloured by its light, with the light's word written in it."""
    z, text, custom = [], [], []
    for card in cards:
        row_z, row_text, row_custom = [], [], []
        for rnd in rounds:
            point = cells.get((card, rnd))
            light = point.light if point else None
            row_z.append(LIGHT_CODES.get(light) if light else None)
            row_text.append(str(LIGHT_WORDS[light]) if light in LIGHT_WORDS else NO_RESULT)
            score = _score(point.score) if point and point.score is not None else NO_RESULT
            row_custom.append(
                [*(_hover(point) if point else [_("no result"), 0, str(TREND_WORDS[None])]), score]
            )
        z.append(row_z)
        text.append(row_text)
        custom.append(row_custom)
    colours = [LIGHT_COLOURS["red"], LIGHT_COLOURS["yellow"], LIGHT_COLOURS["green"]]
    scale = [
        [0, colours[0]],
        [1 / 3, colours[0]],
        [1 / 3, colours[1]],
        [2 / 3, colours[1]],
        [2 / 3, colours[2]],
        [1, colours[2]],
    ]
    heatmap = {
        "type": "heatmap",
        "x": rounds,
        "y": cards,
        "z": z,
        "zmin": 0,
        "zmax": 2,
        "text": text,
        "texttemplate": "%{text}",
        "customdata": custom,
        "colorscale": scale,
        "showscale": False,
        "xgap": 2,
        "ygap": 2,
        "hoverongaps": True,
        "hovertemplate": _(
            "<b>%{y}</b>, %{x}<br>score %{customdata[3]} · light %{customdata[0]}<br>"
            "n %{customdata[1]} · voted trend %{customdata[2]}"
        )
        + "<extra></extra>",
    }
    layout = _layout(
        height=max(220, 34 * len(cards) + 80),
        margin={"l": 8, "r": 8, "t": 8, "b": 8},
        xaxis=_round_axis(rounds),
        yaxis={"type": "category", "autorange": "reversed", "automargin": True, "tickfont": {"size": 10}},
    )
    return {"data": [heatmap], "layout": layout}


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    light: str
    label: str


@dataclass(frozen=True)
class Sparkline:
    """A card's history drawn as a small SVG on the server: no chart library on the squad page."""

    width: int
    height: int
    bands: list[tuple[str, float, float]]  # light, top, height
    lines: list[str]  # polyline points, one per run of rounds with a score
    dots: list[Dot]
    first: str
    last: str
    text: str  # the same history in words


SPARK_WIDTH, SPARK_HEIGHT, SPARK_PAD = 240, 56, 6


def sparkline(points: list[Point], *, green_at: float = 1.5, red_below: float = 0.75) -> Sparkline:
    """Score per round over the light bands; a round below the minimum breaks the line."""
    inner = SPARK_HEIGHT - 2 * SPARK_PAD

    def y(score: float) -> float:
        return round(SPARK_PAD + (2 - score) / 2 * inner, 1)

    step = (SPARK_WIDTH - 2 * SPARK_PAD) / max(len(points) - 1, 1)
    lines, run, dots = [], [], []
    for index, point in enumerate(points):
        x = round(SPARK_PAD + index * step if len(points) > 1 else SPARK_WIDTH / 2, 1)
        if point.score is None:
            if run:
                lines.append(" ".join(run))
            run = []
            continue
        run.append(f"{x},{y(point.score)}")
        label = _("%(round)s: %(light)s, score %(score)s, %(voters)s answers") % {
            "round": point.round,
            "light": _light(point.light),
            "score": _score(point.score),
            "voters": point.voters,
        }
        dots.append(Dot(x, y(point.score), point.light or "none", label))
    if run:
        lines.append(" ".join(run))
    edges = [("green", 2, green_at), ("yellow", green_at, red_below), ("red", red_below, 0)]
    bands = [(light, y(top), round(y(bottom) - y(top), 1)) for light, top, bottom in edges]
    text = ", ".join(f"{p.round} {_light(None) if p.score is None else _score(p.score)}" for p in points)
    return Sparkline(
        width=SPARK_WIDTH,
        height=SPARK_HEIGHT,
        bands=bands,
        lines=[line for line in lines if " " in line],
        dots=dots,
        first=points[0].round if points else "",
        last=points[-1].round if points else "",
        text=text,
    )
