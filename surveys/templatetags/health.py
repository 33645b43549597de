from __future__ import annotations

from django import template
from django.utils.formats import number_format
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy

register = template.Library()


@register.filter
def signed(value: float | None) -> str:
    """A change with its sign, using a true minus sign (U+2212) for typography."""
    if value is None:
        return ""
    if abs(value) < 0.005:
        return "±" + number_format(0, 2)
    return ("+" if value > 0 else "\u2212") + number_format(abs(value), 2)


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


# Marks drawn many times a page (every cell of the matrix, every choice of the ballot) are
# built here rather than included as templates: an include costs more than the markup itself.

LIGHTS = {
    "green": ("✓", gettext_lazy("Green"), ""),
    "yellow": ("!", gettext_lazy("Yellow"), ""),
    "red": ("✕", gettext_lazy("Red"), gettext_lazy(": may need support")),
}
ARROWS = {
    "up": ("↑", pgettext_lazy("trend", "improving")),
    "flat": ("→", pgettext_lazy("trend", "stable")),
    "down": ("↓", pgettext_lazy("trend", "getting worse")),
}
SYMBOLS = {"green": "✓", "yellow": "!", "red": "✕", "improving": "↑", "stable": "→", "worse": "↓"}


def _light(value: str | None) -> str:
    if value not in LIGHTS:
        too_few = escape(_("not enough votes"))
        return f'<span class="light light-none">{too_few}</span>'
    symbol, word, note = LIGHTS[value]
    hidden = f'<span class="visually-hidden">{escape(note)}</span>' if note else ""
    return f'<span class="light light-{value}"><span aria-hidden="true">{symbol}</span> {escape(word)}{hidden}</span>'


def _arrow(value: str | None) -> str:
    if value not in ARROWS:
        return ""
    symbol, words = ARROWS[value]
    title = escape(_("Voted trend: %(trend)s") % {"trend": words})
    hidden = escape(_("voted trend %(trend)s") % {"trend": words})
    return (
        f'<span class="arrow" title="{title}"><span aria-hidden="true">{symbol}</span>'
        f'<span class="visually-hidden">{hidden}</span></span>'
    )


def _change(value: float | None, direction: str | None) -> str:
    if value is None:
        return ""
    mark, css = {"up": ("▲", " change-up"), "down": ("▼", " change-down")}.get(direction, ("=", ""))
    return f'<span class="change{css}">{mark} {signed(value)}</span>'


# The helpers above write only fixed words (escaped, as translations), symbols and numbers;
# nothing a person typed.


@register.simple_tag
def light(value: str | None) -> str:
    """A light with a symbol and a word, so it reads without colour."""
    return mark_safe(_light(value))  # noqa: S308


@register.simple_tag
def arrow(value: str | None) -> str:
    """The voted trend as an arrow, with words for screen readers."""
    return mark_safe(_arrow(value))  # noqa: S308


@register.simple_tag
def change(value: float | None, direction: str | None) -> str:
    """A measured change: a triangle and the signed difference."""
    return mark_safe(_change(value, direction))  # noqa: S308


@register.simple_tag
def colour_counts(greens: int, yellows: int, reds: int, separator: str = " · ") -> str:
    """How many were green, yellow and red, each counted in the reader's language ("3 gröna")."""
    return separator.join(
        [
            ngettext("%(count)s green", "%(count)s green", greens) % {"count": greens},
            ngettext("%(count)s yellow", "%(count)s yellow", yellows) % {"count": yellows},
            ngettext("%(count)s red", "%(count)s red", reds) % {"count": reds},
        ]
    )


@register.filter
def light_word(value: str | None) -> str:
    """A light in words ("Green"), in the reader's language."""
    return str(LIGHTS[value][1]) if value in LIGHTS else _("not enough votes")


@register.simple_tag
def symbol(value: str) -> str:
    return SYMBOLS.get(value, "")


TREND_ARROWS = {"improving": "up", "stable": "flat", "worse": "down"}


@register.filter
def as_arrow(trend: str) -> str | None:
    """An agreed trend ("improving") as the arrow it shows ("up")."""
    return TREND_ARROWS.get(trend)


def _through_link(count: int) -> str:
    return escape(
        ngettext("%(count)s through an open link", "%(count)s through an open link", count) % {"count": count}
    )


def _agreed_cell(cell) -> str:
    """A cell whose squad agreed a colour in its workshop (shown, like every colour, from k voters)."""
    vote = escape(_("vote:")) + " " + _light(cell.light)
    if cell.open_link_ballots:
        vote += f"<br>{_through_link(int(cell.open_link_ballots))}"
    return mark_safe(  # noqa: S308 (fixed words, symbols and numbers)
        f'<td class="cell cell-{cell.agreed_colour} cell-agreed">{_light(cell.agreed_colour)} '
        f"{_arrow(TREND_ARROWS.get(cell.agreed_trend))}"
        '<div class="marker"><span aria-hidden="true">✔</span> ' + escape(_("agreed")) + "</div>"
        f'<div class="cell-meta">{vote}</div></td>'
    )


@register.simple_tag
def matrix_cell(cell, compare: bool, min_responses: int) -> str:
    """One squad's cell of the tribe matrix: light, arrow, markers, and the change when comparing.

    Where the squad agreed a colour in its workshop, the cell shows it, marked as agreed, with
    the vote beneath.
    """
    if cell is not None and cell.agreed_colour and cell.visible:
        return _agreed_cell(cell)
    if cell is None or not cell.visible:
        fewer = escape(_("fewer than %(k)s") % {"k": int(min_responses)})
        return mark_safe(  # noqa: S308 (fixed words and a number)
            f'<td class="cell cell-none">{_light(None)}<div class="cell-meta">{fewer}</div></td>'
        )
    changed = compare and cell.previous_light and cell.previous_light != cell.light
    parts = [_light(cell.light), " ", _arrow(cell.arrow)]
    answered = _("%(voters)s of %(members)s answered") % {
        "voters": int(cell.voters),
        "members": int(cell.members),
    }
    parts.append(f'<div class="cell-meta">{escape(answered)}</div>')
    if cell.open_link_ballots:
        parts.append(f'<div class="cell-meta">{_through_link(int(cell.open_link_ballots))}</div>')
    if cell.split:
        split = escape(pgettext_lazy("votes", "split"))
        parts.append(f'<div class="marker"><span aria-hidden="true">⇆</span> {split}</div>')
    if cell.divergence:
        parts.append(f'<div class="marker"><span aria-hidden="true">≠</span> {escape(cell.divergence)}</div>')
    if compare:
        parts.append(_change(cell.change, cell.change_direction))
        if changed:
            was = _("was %(light)s") % {"light": LIGHTS[cell.previous_light][1].lower()}
            parts.append(f'<div class="marker">{escape(was)}</div>')
    css = f"cell cell-{cell.light}{' cell-changed' if changed else ''}"
    return mark_safe(f'<td class="{css}">{"".join(parts)}</td>')  # noqa: S308 (fixed words and numbers)


@register.simple_tag
def choice_buttons(field, hints: dict | None = None) -> str:
    """One radio group drawn as large buttons; each choice carries a symbol and a word, never colour alone."""
    invalid = " is-invalid" if field.errors else ""
    choices = []
    value = field.value()
    for choice_value, label in field.field.choices:
        input_id = f"{field.auto_id}_{len(choices)}"
        hint = (hints or {}).get(choice_value)
        choices.append(
            format_html(
                '<input type="radio" class="btn-check{}" name="{}" id="{}" value="{}"{} autocomplete="off">'
                '<label class="btn choice choice-{}" for="{}"><span class="choice-symbol" aria-hidden="true">{}'
                '</span><span class="choice-word">{}</span>{}</label>',
                invalid,
                field.html_name,
                input_id,
                choice_value,
                mark_safe(" checked") if str(value) == str(choice_value) else "",
                choice_value,
                input_id,
                SYMBOLS.get(choice_value, ""),
                label,
                format_html('<span class="choice-hint">{}</span>', hint) if hint else "",
            )
        )
    errors = [
        format_html('<div class="invalid-feedback d-block" id="{}-error">{}</div>', field.auto_id, error)
        for error in field.errors
    ]
    return format_html(
        '<fieldset class="choice-group mb-3"{}><legend class="form-label fw-semibold fs-6 mb-2">{}</legend>'
        '<div class="choice-row">{}</div>{}</fieldset>',
        format_html(' aria-describedby="{}-error"', field.auto_id) if field.errors else "",
        field.label,
        mark_safe("".join(choices)),  # noqa: S308 (each choice escaped above)
        mark_safe("".join(errors)),  # noqa: S308 (each error escaped above)
    )
