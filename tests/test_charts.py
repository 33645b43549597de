"""The chart builders on plain data."""

from __future__ import annotations

import json

from surveys.charts import LIGHT_COLOURS, Point, light_heatmap, participation_bars, score_lines, sparkline

ROUNDS = ["Q1", "Q2", "Q3"]


def series() -> dict[str, list[Point]]:
    return {
        "Speed": [
            Point("Q1", 1.5, "green", 5, "up"),
            Point("Q2", None, None, 2),
            Point("Q3", 0.5, "red", 4, "down"),
        ],
        "Fun": [Point("Q1", 1.0, "yellow", 5), Point("Q2", 1.2, "yellow", 3), Point("Q3", 1.6, "green", 4)],
    }


def test_score_lines_draw_one_trace_per_card_with_gaps_below_the_minimum():
    figure = score_lines(ROUNDS, series())
    assert [trace["name"] for trace in figure["data"]] == ["Speed", "Fun"]
    speed = figure["data"][0]
    assert list(speed["y"]) == [1.5, None, 0.5]  # a gap, never a zero
    assert speed["connectgaps"] is False
    assert list(speed["x"]) == ROUNDS
    json.dumps(figure)  # plain data, ready for json_script


def test_score_lines_hover_shows_round_score_light_n_and_voted_trend():
    speed = score_lines(ROUNDS, series())["data"][0]
    assert list(speed["customdata"][0]) == ["green", 5, "improving"]
    assert list(speed["customdata"][1]) == ["not enough votes", 2, "not given"]
    for part in ("%{x}", "%{y", "customdata[0]", "customdata[1]", "customdata[2]"):
        assert part in speed["hovertemplate"]


def test_score_lines_draw_light_bands_at_the_thresholds():
    shapes = score_lines(ROUNDS, series(), green_at=1.6, red_below=0.5)["layout"]["shapes"]
    bands = {(shape["fillcolor"], shape["y0"], shape["y1"]) for shape in shapes}
    assert bands == {
        (LIGHT_COLOURS["red"], 0, 0.5),
        (LIGHT_COLOURS["yellow"], 0.5, 1.6),
        (LIGHT_COLOURS["green"], 1.6, 2),
    }


def test_the_heatmap_colours_cells_by_light_and_leaves_gaps():
    cells = {
        ("Speed", "Q1"): series()["Speed"][0],
        ("Speed", "Q3"): series()["Speed"][2],
        ("Fun", "Q2"): series()["Fun"][1],
    }
    figure = light_heatmap(ROUNDS, ["Speed", "Fun"], cells)
    heatmap = figure["data"][0]
    assert [list(row) for row in heatmap["z"]] == [[2, None, 0], [None, 1, None]]
    assert [list(row) for row in heatmap["text"]] == [
        ["green", "\u2013", "red"],
        ["\u2013", "yellow", "\u2013"],
    ]
    scale = [tuple(stop) for stop in heatmap["colorscale"]]
    assert scale[0][1] == LIGHT_COLOURS["red"] and scale[-1][1] == LIGHT_COLOURS["green"]
    assert (1 / 3, LIGHT_COLOURS["yellow"]) in scale


def test_participation_bars_are_shares_of_members():
    figure = participation_bars(ROUNDS, [3, 0, 4], [4, 5, 0])
    assert list(figure["data"][0]["y"]) == [75, 0, None]


def test_a_sparkline_marks_each_round_with_its_light():
    figure = sparkline(series()["Speed"])
    trace = figure["data"][0]
    assert list(trace["y"]) == [1.5, None, 0.5]
    assert list(trace["marker"]["color"]) == [LIGHT_COLOURS["green"], "#6c757d", LIGHT_COLOURS["red"]]
    assert len(figure["layout"]["shapes"]) == 3


def test_every_figure_is_valid_for_plotly():
    """The figures are plain dicts; plotly's own schema checks each of them here."""
    import plotly.graph_objects as go

    points = {("Speed", "Q1"): Point("Q1", 1.5, "green", 5, "up")}
    figures = [
        score_lines(ROUNDS, series()),
        participation_bars(ROUNDS, [3, 4, 5], [5, 5, 5]),
        light_heatmap(ROUNDS, ["Speed", "Fun"], points),
        sparkline(series()["Speed"]),
    ]
    for figure in figures:
        go.Figure(figure)  # raises ValueError on any property plotly does not know
