"""Bring the translation catalogues (locale/*/LC_MESSAGES/django.po) up to date with the source.

The one way catalogues are made, so that they never change by who ran it: file names but no line
numbers (a moved line changes nothing), no obsolete entries, and only this project's own code and
templates. CI runs it and fails when a committed catalogue would change. Needs GNU gettext.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management import BaseCommand, call_command

IGNORED = [".venv/*", "node_modules/*", "build/*", "staticfiles/*", "tests/*", "docs/*", "frontend/*"]


class Command(BaseCommand):
    help = "Update every catalogue under locale/ with the strings of the code and templates."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--locale", help="Start or update this language only (a code of settings.LANGUAGES)."
        )

    def handle(self, *args, locale: str | None = None, verbosity: int = 1, **options) -> None:
        known = [code for code, _ in settings.LANGUAGES if code != settings.LANGUAGE_CODE]
        call_command(
            "makemessages",
            locale=[locale] if locale else known,
            add_location="file",
            no_obsolete=True,
            ignore_patterns=IGNORED,
            verbosity=verbosity,
        )
