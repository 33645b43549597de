"""Soak test: voters keep saving ballots against `make serve`, on PostgreSQL while it restarts
underneath, or on the embedded SQLite.

Run with `make soak`, which runs both. It builds its own database, starts the production server
on loopback, drives concurrent voters for a bounded time (restarting PostgreSQL in the middle),
then checks that every ballot that was confirmed is stored exactly once, whole, and that no 500
was answered (on PostgreSQL: outside the restart window). It prints the figures and exits
non-zero on a failure.
"""

from __future__ import annotations

import http.cookiejar
import os
import random
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from serving import (
    NoRedirect,
    create_database,
    manage,
    server_env,
    setup_django,
    start_server,
    stop_server,
    wait_for_server,
)

PORT = int(os.environ.get("SOAK_PORT", "8765"))
BASE = f"http://127.0.0.1:{PORT}"
VOTERS = int(os.environ.get("SOAK_VOTERS", "24"))
SECONDS = float(os.environ.get("SOAK_SECONDS", "60"))
RESTART_AT = SECONDS / 3
DATABASE_URL = os.environ.get(
    "SOAK_DATABASE_URL", "postgres://healthcheck_ci:healthcheck_ci@127.0.0.1:5432/healthcheck_soak"
)
SQLITE = DATABASE_URL.startswith("sqlite:")
PASSWORD = "soak-password"
SERVER_ENV = server_env(
    DATABASE_URL, secrets.token_urlsafe(50), secrets.token_urlsafe(32), RATE_LIMIT_GUEST_BALLOTS="100000"
)


def log(message: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {message}", flush=True)


def prepare_database() -> None:
    """A fresh database with one tribe, one squad of voters and an open round."""
    if SQLITE:
        path = Path(urllib.parse.unquote(urllib.parse.urlsplit(DATABASE_URL).path)[1:])
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        create_database(DATABASE_URL, fresh=True)
    manage(SERVER_ENV, "migrate", "--noinput", "-v0")
    setup_django(SERVER_ENV)
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from surveys.models import HealthCard, Round, RoundCard, Squad, SquadRole
    from surveys.services import tribe_create

    tribe = tribe_create(name="Soak", slug="soak")
    squad = Squad.objects.create(tribe=tribe, name="Voters", slug="voters")
    hashed = make_password(PASSWORD)
    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"voter{n:02d}", password=hashed) for n in range(VOTERS)
    )
    SquadRole.objects.bulk_create(SquadRole(user=u, squad=squad) for u in users)
    now = timezone.now()
    rnd = Round.objects.create(tribe=tribe, title="Soak", opens_at=now, closes_at=now + timedelta(days=1))
    RoundCard.objects.bulk_create(
        RoundCard(round=rnd, card=c, position=c.position) for c in HealthCard.objects.filter(tribe=tribe)
    )
    rnd.open()


@dataclass
class Voter:
    username: str
    opener: urllib.request.OpenerDirector = field(init=False)
    outcomes: Counter = field(default_factory=Counter)
    # Each submission: (sent at, colours, status or error kind)
    submissions: list[tuple[float, tuple[str, ...], str]] = field(default_factory=list)
    server_errors: list[tuple[float, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)

    def request(self, path: str, data: dict | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        headers = {"Referer": BASE + path}
        try:
            with self.opener.open(
                urllib.request.Request(BASE + path, data=body, headers=headers), timeout=15
            ) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")

    def token(self, html: str) -> str:
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
        return match.group(1) if match else ""

    def sign_in(self) -> bool:
        try:
            status, html = self.request("/accounts/login/")
            status, _ = self.request(
                "/accounts/login/",
                {"csrfmiddlewaretoken": self.token(html), "login": self.username, "password": PASSWORD},
            )
        except OSError:
            return False
        return status == 302

    def vote_once(self, url: str, started: float) -> None:
        colours: tuple[str, ...] | None = None
        sent = 0.0
        try:
            status, html = self.request(url)
            self.record(status, started)
            if status != 200:
                return
            cards = sorted(set(re.findall(r'name="(card-\d+)-colour"', html)))
            colours = tuple(random.choice(["green", "yellow", "red"]) for _ in cards)
            data = {"csrfmiddlewaretoken": self.token(html)}
            for card, colour in zip(cards, colours, strict=True):
                data[f"{card}-colour"] = colour
                data[f"{card}-trend"] = random.choice(["improving", "stable", "worse"])
            sent = time.monotonic() - started
            status, _ = self.request(url, data)
            self.submissions.append((sent, colours, str(status)))
            self.record(status, started)
        except OSError as error:
            self.outcomes[f"no answer ({type(getattr(error, 'reason', error)).__name__})"] += 1
            if colours is not None and sent:
                # The ballot went out but no answer came back: it may or may not be stored.
                self.submissions.append((sent, colours, "unknown"))

    def record(self, status: int, started: float) -> None:
        self.outcomes[f"HTTP {status}"] += 1
        if status >= 500:
            self.server_errors.append((time.monotonic() - started, status))


def restart_postgres() -> tuple[float, float]:
    version = sorted(os.listdir("/etc/postgresql"))[-1] if os.path.isdir("/etc/postgresql") else "15"
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"]
    if os.geteuid() != 0 and shutil.which("sudo"):
        command = ["sudo", *command]
    start = time.monotonic()
    subprocess.run(command, check=True, capture_output=True)
    return start, time.monotonic()


def main() -> int:
    began = time.monotonic()
    log(f"preparing a fresh database for {VOTERS} voters")
    prepare_database()
    from surveys.models import Answer, Ballot, Round, RoundSquad, Squad

    rnd = Round.objects.get(title="Soak")
    squad = Squad.objects.get(slug="voters")
    url = f"/rounds/{rnd.pk}/squads/{squad.slug}/vote/"

    log("starting make serve (gunicorn, DEBUG off) on " + BASE)
    server = start_server(SERVER_ENV, PORT)
    try:
        if not wait_for_server(BASE, 90):
            log("FAIL: the server did not answer /healthz")
            return 1
        voters = [Voter(f"voter{n:02d}") for n in range(VOTERS)]
        signed_in = sum(v.sign_in() for v in voters)
        plan = "on SQLite" if SQLITE else f"restarting PostgreSQL at {RESTART_AT:.0f} s"
        log(f"{signed_in} of {VOTERS} voters signed in; voting for {SECONDS:.0f} s, {plan}")
        started = time.monotonic()
        stop = threading.Event()

        def run(voter: Voter) -> None:
            while not stop.is_set():
                voter.vote_once(url, started)
                time.sleep(random.uniform(0.05, 0.3))

        threads = [threading.Thread(target=run, args=(v,)) for v in voters]
        for thread in threads:
            thread.start()
        if SQLITE:  # nothing restarts: no error answer is allowed at any time
            window, recovered = (-1.0, -1.0), True
        else:
            time.sleep(RESTART_AT)
            window_start, restarted = restart_postgres()
            recovered = wait_for_server(BASE, 30)
            window_end = time.monotonic()
            window = (window_start - started, window_end - started + 2.0)
            log(
                f"PostgreSQL restarted in {restarted - window_start:.1f} s; server healthy again: {recovered}"
            )
        time.sleep(max(0.0, SECONDS - (time.monotonic() - started)))
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        stop_server(server)

    # What was confirmed must be what is stored, once and whole.
    from django.contrib.auth import get_user_model
    from django.db import connection

    connection.close()
    lost, doubled, partial = 0, 0, 0
    confirmed_voters = 0
    cards = list(rnd.round_cards.order_by("position", "card__name").values_list("card_id", flat=True))
    for voter in voters:
        user_id = get_user_model().objects.get(username=voter.username).pk
        key = Ballot.key_for_user(part=RoundSquad.objects.get(round=rnd, squad=squad), user_id=user_id)
        ballots = list(Ballot.objects.filter(round=rnd, squad=squad, voter_key=key))
        confirmed = [i for i, s in enumerate(voter.submissions) if s[2] == "302"]
        if not confirmed:
            continue
        confirmed_voters += 1
        if len(ballots) != 1:
            lost += len(ballots) == 0
            doubled += len(ballots) > 1
            continue
        stored = dict(Answer.objects.filter(ballot=ballots[0]).values_list("card_id", "colour"))
        if len(stored) != len(cards):
            partial += 1
            continue
        stored_colours = tuple(stored[c] for c in sorted(cards))
        # The last confirmed ballot, or a later one whose answer was lost in the restart.
        candidates = [voter.submissions[i][1] for i in range(confirmed[-1], len(voter.submissions))]
        if stored_colours not in candidates:
            lost += 1

    totals = Counter()
    for voter in voters:
        totals.update(voter.outcomes)
    outside = [t for v in voters for t, _ in v.server_errors if not (window[0] <= t <= window[1])]
    status_500 = sum(1 for v in voters for _, status in v.server_errors if status == 500)
    stored_ballots = Ballot.objects.filter(round=rnd).count()
    print()
    print(f"  requests (ballot views and saves): {sum(totals.values())}")
    for kind, count in sorted(totals.items()):
        print(f"    {kind:>24}: {count}")
    print(f"  database: {'SQLite (no restart)' if SQLITE else 'PostgreSQL'}")
    if not SQLITE:
        print(f"  restart window: {window[0]:.1f} s to {window[1]:.1f} s")
    print(f"  5xx outside the restart window: {len(outside)}; 500 answers in all: {status_500}")
    print(f"  voters with a confirmed ballot: {confirmed_voters}; ballots stored: {stored_ballots}")
    print(f"  confirmed ballots lost: {lost}, stored twice: {doubled}, half-stored: {partial}")
    print(f"  total time: {time.monotonic() - began:.0f} s")
    failed = lost or doubled or partial or outside or status_500 or not recovered or not confirmed_voters
    print("soak: FAILED" if failed else "soak: passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
