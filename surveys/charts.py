"""Plotly figures built from plain data. No database here: views gather the data, these draw it.

Each function returns the figure as a plain dict in plotly's figure format, ready for
json_script; the page's static charts.js hands it to plotly.js. The dicts are written out
rather than built with plotly.graph_objects, whose validation cost more than the rest of a
trends page together; the tests check every figure against plotly's schema instead.
"""

from __future__ import annotations

from dataclasses import dataclass

LIGHT_COLOURS = {"green": "#146c43", "yellow": "#ffc107", "red": "#b02a37"}
LIGHT_CODES = {"red": 0, "yellow": 1, "green": 2}
TREND_WORDS = {"up": "improving", "flat": "stable", "down": "getting worse", None: "not given"}
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


def _light_bands(green_at: float, red_below: float) -> list[dict]:
    """Pale bands behind a score axis, so a line reads against the thresholds."""
    bands = [("red", 0, red_below), ("yellow", red_below, green_at), ("green", green_at, 2)]
    return [
        {
            "type": "rect",
            "xref": "paper",
            "x0": 0,
            "x1": 1,
            "yref": "y",
            "y0": low,
            "y1": high,
            "fillcolor": LIGHT_COLOURS[light],
            "opacity": 0.1,
            "layer": "below",
            "line": {"width": 0},
        }
        for light, low, high in bands
    ]


def _layout(**extra) -> dict:
    return {
        # The default template adds kilobytes to every figure; the styling here is explicit instead.
        "template": "none",
        "font": FONT,
        "margin": {"l": 48, "r": 16, "t": 16, "b": 40},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        **extra,
    }


def _hover(point: Point) -> list:
    return [point.light or "not enough votes", point.voters, TREND_WORDS.get(point.trend, "not given")]


def score_lines(
    rounds: list[str], series: dict[str, list[Point]], *, green_at: float = 1.5, red_below: float = 0.75
) -> dict:
    """Score of each card across rounds, one trace per card; rounds below the minimum are gaps."""
    data = [
        {
            "type": "scatter",
            "x": [p.round for p in points],
            "y": [p.score for p in points],
            "customdata": [_hover(p) for p in points],
            "name": name,
            "mode": "lines+markers",
            "connectgaps": False,
            "hovertemplate": "<b>%{fullData.name}</b><br>%{x}: score %{y:.2f}<br>"
            "light %{customdata[0]} · n %{customdata[1]} · voted trend %{customdata[2]}<extra></extra>",
        }
        for name, points in series.items()
    ]
    layout = _layout(
        height=380,
        shapes=_light_bands(green_at, red_below),
        xaxis={
            "type": "category",
            "categoryorder": "array",
            "categoryarray": rounds,
            "title": {"text": "Round"},
        },
        yaxis={"range": [-0.05, 2.05], "title": {"text": "Score (0 red … 2 green)"}, "zeroline": False},
        legend={"orientation": "h", "y": -0.25},
        hovermode="closest",
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
        "name": "Participation",
        "hovertemplate": "%{x}: %{y}% (%{customdata[0]} of %{customdata[1]} voted)<extra></extra>",
    }
    layout = _layout(
        height=240,
        xaxis={"type": "category", "title": {"text": "Round"}},
        yaxis={"range": [0, 100], "title": {"text": "Voted (%)"}, "ticksuffix": "%"},
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
            row_text.append(light or NO_RESULT)
            score = f"{point.score:.2f}" if point and point.score is not None else NO_RESULT
            row_custom.append([*(_hover(point) if point else ["no result", 0, "not given"]), score])
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
        "hovertemplate": "<b>%{y}</b>, %{x}<br>score %{customdata[3]} · light %{customdata[0]}<br>"
        "n %{customdata[1]} · voted trend %{customdata[2]}<extra></extra>",
    }
    layout = _layout(
        height=max(220, 34 * len(cards) + 80),
        margin={"l": 130, "r": 16, "t": 16, "b": 40},
        xaxis={"type": "category", "side": "bottom"},
        yaxis={"type": "category", "autorange": "reversed"},
    )
    return {"data": [heatmap], "layout": layout}


def _sparkline_layout(green_at: float, red_below: float) -> dict:
    return _layout(
        height=110,
        margin={"l": 24, "r": 8, "t": 6, "b": 22},
        shapes=_light_bands(green_at, red_below),
        xaxis={"type": "category", "tickfont": {"size": 9}},
        yaxis={"range": [-0.1, 2.1], "tickvals": [0, 1, 2], "tickfont": {"size": 9}},
        showlegend=False,
    )


def sparkline(points: list[Point], *, green_at: float = 1.5, red_below: float = 0.75) -> dict:
    """A small history of one card: score per round over the light bands, gaps below the minimum."""
    trace = {
        "type": "scatter",
        "x": [p.round for p in points],
        "y": [p.score for p in points],
        "customdata": [_hover(p) for p in points],
        "mode": "lines+markers",
        "connectgaps": False,
        "line": {"color": "#212529", "width": 2},
        "marker": {"color": [LIGHT_COLOURS.get(p.light, "#6c757d") for p in points], "size": 7},
        "hovertemplate": "%{x}: score %{y:.2f}<br>light %{customdata[0]} · n %{customdata[1]}<br>"
        "voted trend %{customdata[2]}<extra></extra>",
    }
    return {"data": [trace], "layout": _sparkline_layout(green_at, red_below)}
