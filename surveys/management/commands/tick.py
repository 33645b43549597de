from __future__ import annotations

import logging
import signal
import threading

from django.core.management.base import BaseCommand
from django.db import OperationalError, connections

from surveys.services import tick

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Do what the clock calls for: open scheduled rounds whose time has come, close rounds whose "
        "closing time has passed (freezing their results), make each tribe's next round of its "
        "rhythm, send the day's reminders and post the chat channels' messages. Each thing happens "
        "once, even with several schedulers at once. With --loop, run every minute until stopped "
        "(SIGTERM or Ctrl-C stop it between runs)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--loop", action="store_true", help="Run every --every seconds until stopped.")
        parser.add_argument("--every", type=float, default=60.0, help="Seconds between runs (default 60).")

    def handle(self, *args, loop: bool, every: float, **options) -> None:
        if not loop:
            self.report(tick())
            return
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        self.stdout.write(f"Scheduler running every {every:g} s; stop it with SIGTERM or Ctrl-C.")
        while not stop.is_set():
            try:
                self.report(tick(), quiet=True)
            except OperationalError as exc:  # the database is away for a moment: try again next time
                self.stderr.write(f"Tick skipped: {exc}")
                connections.close_all()
            except Exception:  # one bad run never stops the scheduler; the next one tries again
                logger.exception("Tick failed")
                connections.close_all()
            stop.wait(every)
        self.stdout.write("Scheduler stopped.")

    def report(self, did: list[str], quiet: bool = False) -> None:
        for line in did:
            self.stdout.write(line[0].upper() + line[1:])
        if not did and not quiet:
            self.stdout.write("Nothing is due.")
