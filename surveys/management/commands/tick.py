from __future__ import annotations

from django.core.management.base import BaseCommand

from surveys.services import rounds_advance


class Command(BaseCommand):
    help = (
        "Do what the clock calls for: open scheduled rounds whose time has come, close rounds whose "
        "closing time has passed and freeze their results. Safe to run every minute, and from several "
        "machines at once: each transition happens once."
    )

    def handle(self, *args, **options) -> None:
        done = rounds_advance()
        for rnd, what in done:
            self.stdout.write(f"{what.capitalize()} {rnd.tribe.name}: {rnd.title}")
        if not done:
            self.stdout.write("Nothing is due.")
