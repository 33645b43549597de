"""When a tribe's recurring health checks open: pure date arithmetic, in the installation's time zone.

A round opens on the first chosen weekday of its month (monthly) or of its quarter's first month
(quarterly), or every N weeks from an anchor date, at a local time of day. Local times stay the
same across daylight-saving changes; the moments in UTC move instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils.formats import date_format
from django.utils.translation import gettext as _


@dataclass(frozen=True)
class Plan:
    """A tribe's rhythm, as plain values."""

    every: str  # "monthly", "quarterly" or "weeks"
    weekday: int  # Monday is 0
    at: time
    open_days: int
    weeks: int = 6
    anchor: date | None = None


def _first_weekday(year: int, month: int, weekday: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7)


def next_opening_day(plan: Plan, on_or_after: date) -> date:
    """The first day on or after the given one on which a round of the plan opens."""
    if plan.every == "weeks":
        anchor = plan.anchor or on_or_after
        anchor += timedelta(days=(plan.weekday - anchor.weekday()) % 7)
        if on_or_after <= anchor:
            return anchor
        step = 7 * plan.weeks
        periods = -(-(on_or_after - anchor).days // step)  # rounded up
        return anchor + timedelta(days=periods * step)
    months = 1 if plan.every == "monthly" else 3
    year, month = on_or_after.year, on_or_after.month
    month -= (month - 1) % months  # back to the first month of the quarter
    while True:
        day = _first_weekday(year, month, plan.weekday)
        if day >= on_or_after:
            return day
        month += months
        if month > 12:
            year, month = year + 1, month - 12


def opening(plan: Plan, day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The round's opening and closing moments for an opening day, at the plan's local time."""
    opens = datetime.combine(day, plan.at, tzinfo=zone)
    closes = datetime.combine(day + timedelta(days=plan.open_days), plan.at, tzinfo=zone)
    return opens, closes


def title_for(plan: Plan, day: date) -> str:
    """A clear title in the active language: "2027 Q1", "March 2027", or "Week of 5 Mar 2027"."""
    if plan.every == "quarterly":
        return _("%(year)s Q%(quarter)s") % {"year": day.year, "quarter": (day.month - 1) // 3 + 1}
    if plan.every == "monthly":
        return date_format(day, "F Y")
    return _("Week of %(day)s") % {"day": date_format(day, "DATE_FORMAT")}
