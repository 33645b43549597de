from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def signed(value: float | None) -> str:
    """A change with its sign, using a true minus sign (U+2212) for typography."""
    if value is None:
        return ""
    if abs(value) < 0.005:
        return "±0.00"
    return f"+{value:.2f}" if value > 0 else f"\u2212{abs(value):.2f}"


@register.filter
def bar_segments(result) -> list[dict]:
    """The green, yellow and red parts of a distribution bar, as x and width in percent."""
    total = result.voters or 1
    segments, x = [], 0.0
    for colour, count in (("green", result.greens), ("yellow", result.yellows), ("red", result.reds)):
        width = 100 * count / total
        if count:
            segments.append({"colour": colour, "count": count, "x": f"{x:.2f}", "width": f"{width:.2f}"})
        x += width
    return segments
