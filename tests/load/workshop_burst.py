"""The workshop burst for `make bench`: a squad's phones and screens polling while people vote.

60 participants poll the workshop's state every 2 s (with If-None-Match, as browsers do), while
8 of them vote from their phones on each card and the facilitator moves to the next card every
5 s, against `make serve` on its own database.
"""

from __future__ import annotations

import http.cookiejar
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from serving import ROOT, NoRedirect, create_database, server_env, start_server, stop_server, wait_for_server

POLLERS = 60
SAVERS = 8
PASSWORD = "workshop-burst"

SEED = f"""
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from surveys.models import HealthCard, Round, RoundCard, RoundSquad, Squad, SquadRole
from surveys.services import tribe_create, workshop_start, workshop_step
from surveys.views.workshop import state_url

tribe = tribe_create(name="Burst", slug="burst")
squad = Squad.objects.create(tribe=tribe, name="Voters", slug="voters")
User = get_user_model()
hashed = make_password({PASSWORD!r})
users = User.objects.bulk_create(User(username=f"phone{{n:02d}}", password=hashed) for n in range({SAVERS}))
SquadRole.objects.bulk_create(SquadRole(user=u, squad=squad) for u in users)
coach = User.objects.create(username="facilitator", password=hashed)
SquadRole.objects.create(user=coach, squad=squad, role="coach")
now = timezone.now()
rnd = Round.objects.create(tribe=tribe, title="Burst", opens_at=now, closes_at=now + timedelta(days=1))
RoundCard.objects.bulk_create(
    RoundCard(round=rnd, card=c, position=c.position) for c in HealthCard.objects.filter(tribe=tribe)
)
rnd.open()
part = RoundSquad.objects.get(round=rnd, squad=squad)
workshop = workshop_start(round=rnd, squad=squad, started_by=coach, flow="live", kind="signin", card_seconds=300)
workshop_step(workshop=workshop, step="start")
print(workshop.pk, state_url(workshop, "screen"))
"""


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, status: str, seconds: float | None = None) -> None:
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if seconds is not None:
                self.latencies.append(seconds)


def _prepare(database_url: str, env: dict[str, str]) -> tuple[int, str]:
    if database_url.startswith("sqlite:"):
        path = Path(urllib.parse.unquote(urllib.parse.urlsplit(database_url).path)[1:])
        for suffix in ("", "-wal", "-shm"):
            (ROOT / f"{path}{suffix}").unlink(missing_ok=True)
    else:
        create_database(database_url, fresh=True)
    full = {**os.environ, **env}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=full, check=True)
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", SEED],
        cwd=ROOT,
        env=full,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return int(out[0]), out[1]


def _poll(base: str, path: str, tally: Tally, stop: threading.Event) -> None:
    etag = ""
    time.sleep(random.uniform(0, 2))  # participants arrive spread over two seconds
    while not stop.is_set():
        started = time.monotonic()
        request = urllib.request.Request(base + path, headers={"If-None-Match": etag} if etag else {})
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                response.read()
                etag = response.headers.get("ETag", "")
                tally.add(str(response.status), time.monotonic() - started)
        except urllib.error.HTTPError as error:
            tally.add(str(error.code), time.monotonic() - started if error.code == 304 else None)
        except OSError as error:
            tally.add(f"no answer ({type(error).__name__})")
        stop.wait(max(0.0, 2.0 - (time.monotonic() - started)))


def _session(base: str, username: str):
    """A signed-in browser: a function that opens a path (posting data if given)."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect
    )

    def open_(path: str, data: dict | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(base + path, data=body, headers={"Referer": base + path})
        try:
            with opener.open(request, timeout=15) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, ""

    _, html = open_("/accounts/login/")
    open_("/accounts/login/", {"csrfmiddlewaretoken": _token(html), "login": username, "password": PASSWORD})
    return open_


def _token(html: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    return found.group(1) if found else ""


def _save(base: str, username: str, workshop_id: int, tally: Tally, stop: threading.Event) -> None:
    """A phone: vote once on each card the facilitator shows."""
    open_ = _session(base, username)
    phone = f"/workshops/{workshop_id}/phone/"
    while not stop.is_set():
        status, html = open_(phone)
        card = re.search(r'name="card" value="(\d+)"', html)
        if status != 200:
            tally.add(f"phone {status}")
        elif card is not None and "Your vote:" not in html:
            colour = random.choice(["green", "yellow", "red"])
            status, _ = open_(
                phone, {"csrfmiddlewaretoken": _token(html), "card": card.group(1), "colour": colour}
            )
            tally.add(f"save {status}")
        stop.wait(random.uniform(1.0, 2.0))


def _facilitate(base: str, workshop_id: int, tally: Tally, stop: threading.Event) -> None:
    """The facilitator: the next card every 5 s, back to the first after the last."""
    open_ = _session(base, "facilitator")
    page = f"/workshops/{workshop_id}/"
    while not stop.wait(5.0):
        _, html = open_(page)
        step = "next" if 'value="next" class="btn btn-primary">' in html else "start"
        status, _ = open_(f"{page}control/", {"csrfmiddlewaretoken": _token(html), "step": step})
        tally.add(f"step {status}")


def burst(label: str, database_url: str, port: int, seconds: float) -> dict:
    """Run the burst against a fresh database; return the state endpoint's figures."""
    env = server_env(
        database_url,
        "workshop-burst-secret-key-for-loopback-measurements-only-01234",
        "workshop-burst-ballot-secret-for-loopback-only-0123",
        REDIS_URL="",
    )
    workshop_id, path = _prepare(database_url, env)
    base = f"http://127.0.0.1:{port}"
    server = start_server(env, port)
    polls, saves = Tally(), Tally()
    try:
        if not wait_for_server(base, 120):
            raise SystemExit(f"workshop burst ({label}): the server did not start")
        stop = threading.Event()
        threads = [threading.Thread(target=_poll, args=(base, path, polls, stop)) for _ in range(POLLERS)]
        threads += [
            threading.Thread(target=_save, args=(base, f"phone{n:02d}", workshop_id, saves, stop))
            for n in range(SAVERS)
        ]
        threads.append(threading.Thread(target=_facilitate, args=(base, workshop_id, saves, stop)))
        for thread in threads:
            thread.start()
        time.sleep(seconds)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        stop_server(server)
    latencies = sorted(polls.latencies)
    errors = {
        k: v
        for k, v in {**polls.statuses, **saves.statuses}.items()
        if k not in ("200", "304", "save 302", "step 302")
    }
    return {
        "label": label,
        "polls": sum(polls.statuses.values()),
        "not_modified": polls.statuses.get("304", 0),
        "saves": saves.statuses.get("save 302", 0),
        "p50_ms": statistics.median(latencies) * 1000 if latencies else 0.0,
        "p95_ms": latencies[int(len(latencies) * 0.95) - 1] * 1000 if latencies else 0.0,
        "errors": errors,
    }
