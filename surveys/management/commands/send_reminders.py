from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from surveys.services import reminders_send


class Command(BaseCommand):
    help = "Email members who have not voted in open rounds that close soon (at most one email a day each)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            default=settings.REMINDER_DAYS,
            help="Remind about rounds closing within this many days (default: REMINDER_DAYS).",
        )

    def handle(self, *args, days: int, **options) -> None:
        sent = reminders_send(days=days)
        self.stdout.write(f"Sent {sent} reminder{'s' if sent != 1 else ''}.")
