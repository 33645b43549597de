"""Keeping votes and invite tokens out of the logs.

The address of a voting, join or workshop phone request says, with its time and client address,
who voted when; a join address holds an invite token and a workshop state address a signed one. Django's own log lines and gunicorn's access log both
name the path, so both go through quiet_path() first.
"""

from __future__ import annotations

import logging
import re

from gunicorn.glogging import Logger

QUIET = re.compile(
    r"/(join/[^/?\s\"]*|rounds/\d+/squads/[^/?\s\"]+/(vote|guest)/|workshops/\d+/(phone|state)/[^?\s\"]*)"
)


def quiet_path(text: str) -> str:
    """The text with every voting and join address replaced by a placeholder."""
    return QUIET.sub("/[ballot or invite address]", text)


class QuietPaths(logging.Filter):
    """A logging filter for Django's loggers ("Not Found: /join/<token>/", say)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg = record.getMessage()
            record.args = None
        record.msg = quiet_path(str(record.msg))
        request = getattr(record, "request", None)
        if request is not None and QUIET.search(getattr(request, "path", "")):
            record.request = None  # the handler would print the request line again
        return True


class QuietAccessLogger(Logger):
    """gunicorn's logger, with voting and join addresses left out of the access log."""

    def atoms(self, resp, req, environ, request_time) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        quiet = False
        for key, value in atoms.items():  # the request line, path, referer and every environ entry
            if isinstance(value, str) and QUIET.search(value):
                atoms[key], quiet = quiet_path(value), True
        if quiet:
            atoms["q"] = ""  # a query string could carry the rest
        return atoms
