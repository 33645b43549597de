"""The date arithmetic of a tribe's rhythm of rounds: pure functions, no database."""

from __future__ import annotations

from datetime import UTC, date, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from surveys.cadence import Plan, next_opening_day, opening, title_for

STOCKHOLM = ZoneInfo("Europe/Stockholm")
MONDAY, WEDNESDAY = 0, 2


def quarterly(weekday: int = MONDAY) -> Plan:
    return Plan(every="quarterly", weekday=weekday, at=time(9, 0), open_days=14)


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (date(2026, 11, 21), date(2027, 1, 4)),  # across the year's end: the first Monday of 2027
        (date(2027, 1, 4), date(2027, 1, 4)),  # on the day itself
        (date(2027, 1, 5), date(2027, 4, 5)),  # the next quarter
        (date(2027, 6, 30), date(2027, 7, 5)),
    ],
)
def test_quarterly_rounds_open_on_the_first_weekday_of_each_quarter(after, expected):
    assert next_opening_day(quarterly(), after) == expected


def test_monthly_rounds_cross_month_and_year_ends():
    plan = Plan(every="monthly", weekday=WEDNESDAY, at=time(10, 0), open_days=7)
    days, day = [], date(2026, 11, 5)
    for _ in range(4):
        day = next_opening_day(plan, day)
        days.append(day)
        day += timedelta(days=1)
    assert days == [date(2026, 12, 2), date(2027, 1, 6), date(2027, 2, 3), date(2027, 3, 3)]


def test_every_n_weeks_counts_from_the_anchor():
    plan = Plan(every="weeks", weekday=MONDAY, at=time(9, 0), open_days=5, weeks=6, anchor=date(2026, 11, 23))
    assert next_opening_day(plan, date(2026, 11, 1)) == date(2026, 11, 23)
    assert next_opening_day(plan, date(2026, 11, 24)) == date(2027, 1, 4)
    assert next_opening_day(plan, date(2027, 1, 4)) == date(2027, 1, 4)


def test_a_skipped_period_moves_to_the_next_one():
    skipped = next_opening_day(quarterly(), date(2027, 1, 1)) + timedelta(days=1)
    assert next_opening_day(quarterly(), skipped) == date(2027, 4, 5)


def test_the_local_time_holds_across_daylight_saving_changes():
    plan = Plan(every="monthly", weekday=MONDAY, at=time(9, 0), open_days=14)
    winter, _ = opening(plan, date(2027, 3, 1), STOCKHOLM)  # CET, UTC+1
    summer, closes = opening(plan, date(2027, 4, 5), STOCKHOLM)  # CEST, UTC+2
    assert (winter.hour, summer.hour) == (9, 9)
    assert winter.astimezone(UTC).hour == 8 and summer.astimezone(UTC).hour == 7
    assert closes - summer == timedelta(days=14)


def test_titles_are_clear():
    assert title_for(quarterly(), date(2027, 1, 4)) == "2027 Q1"
    assert (
        title_for(Plan(every="monthly", weekday=0, at=time(9), open_days=7), date(2027, 3, 1)) == "March 2027"
    )
    weeks = Plan(every="weeks", weekday=0, at=time(9), open_days=5)
    assert title_for(weeks, date(2027, 3, 5)) == "Week of 5 Mar 2027"
