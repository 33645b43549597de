from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from surveys.services import comments_purge


class Command(BaseCommand):
    help = "Remove the text of comments in rounds closed more than DAYS days ago; results stay as they are."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--older-than", type=int, required=True, metavar="DAYS")

    def handle(self, *args, older_than: int, **options) -> None:
        if older_than < 0:
            raise CommandError("--older-than takes a number of days, 0 or more.")
        removed = comments_purge(older_than=timedelta(days=older_than))
        self.stdout.write(f"Removed the text of {removed} comment{'s' if removed != 1 else ''}.")
