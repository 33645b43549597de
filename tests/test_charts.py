"""The chart builders on plain data."""

from __future__ import annotations

from surveys.charts import (
    LIGHT_COLOURS,
    Point,
    light_heatmap,
    participation_bars,
    radar,
    sparkline,
)

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


def test_the_radar_closes_each_loop_and_draws_the_reference_faint_and_first():
    figure = radar(
        ["Speed", "Fun", "Pawns"],
        ("Q3", [0.5, 1.6, None]),
        ("Q2", [None, 1.2, 1.0]),
        ("Tribe median", [1.0, 1.5, 1.25]),
    )
    reference, previous, latest = figure["data"]
    assert [t["name"] for t in figure["data"]] == ["Tribe median", "Q2", "Q3"]
    assert latest["theta"] == ["Speed", "Fun", "Pawns", "Speed"]
    assert latest["r"] == [0.5, 1.6, None, 0.5]  # a gap, never a zero
    assert previous["line"]["dash"] == "dash"
    assert reference["line"]["width"] < latest["line"]["width"] and reference["opacity"] < 1
    assert figure["layout"]["polar"]["radialaxis"]["range"] == [0, 2]


def test_the_radar_without_a_previous_round_or_reference_draws_the_latest_only():
    figure = radar(["Speed"], ("Q1", [1.5]))
    assert [t["name"] for t in figure["data"]] == ["Q1"]


def test_a_sparkline_is_svg_data_with_breaks_below_the_minimum():
    spark = sparkline(series()["Speed"] + [Point("Q4", 1.0, "yellow", 4)])
    # Q2 is below the minimum: Q1 stands alone (a dot, no line), Q3 and Q4 are joined.
    assert len(spark.lines) == 1 and len(spark.lines[0].split()) == 2
    assert [dot.light for dot in spark.dots] == ["green", "red", "yellow"]
    assert spark.dots[0].y < spark.dots[2].y < spark.dots[1].y  # a higher score is drawn higher
    assert spark.dots[0].label == "Q1: green, score 1.50, 5 answers"
    assert [band[0] for band in spark.bands] == ["green", "yellow", "red"]
    assert sum(band[2] for band in spark.bands) == spark.height - 12
    assert (spark.first, spark.last) == ("Q1", "Q4")
    assert spark.text == "Q1 1.50, Q2 not enough votes, Q3 0.50, Q4 1.00"


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


def test_every_figure_is_valid_for_plotly():
    """The figures are plain dicts; plotly's own schema checks each of them here."""
    import plotly.graph_objects as go

    points = {("Speed", "Q1"): Point("Q1", 1.5, "green", 5, "up")}
    figures = [
        participation_bars(ROUNDS, [3, 4, 5], [5, 5, 5]),
        light_heatmap(ROUNDS, ["Speed", "Fun"], points),
        radar(["Speed", "Fun"], ("Q3", [0.5, None]), ("Q2", [1.0, 1.5]), ("Median", [1.0, 1.0])),
    ]
    for figure in figures:
        go.Figure(figure)  # raises ValueError on any property plotly does not know
