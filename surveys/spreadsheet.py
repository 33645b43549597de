"""Cells for spreadsheets: text that a spreadsheet program would run as a formula is kept as text."""

from __future__ import annotations


def neutralise(value: object) -> object:
    """Keep spreadsheet programs from reading a text cell as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
