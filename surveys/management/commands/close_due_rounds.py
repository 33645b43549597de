from __future__ import annotations

from django.core.management.base import BaseCommand

from surveys.audit import audit
from surveys.models import AuditEvent
from surveys.services import rounds_close_due


class Command(BaseCommand):
    help = "Close every open round whose closing time has passed and freeze its results (safe to run every minute)."

    def handle(self, *args, **options) -> None:
        closed = rounds_close_due()
        for rnd in closed:
            audit(AuditEvent.Action.ROUND_CLOSED, rnd, tribe=rnd.tribe.name, by="closing time")
            self.stdout.write(f"Closed {rnd.tribe.name}: {rnd.title}")
        if not closed:
            self.stdout.write("No round is due to close.")
