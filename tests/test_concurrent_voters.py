"""A workshop saves at once: 24 voters post their ballots together against the real server.

The server runs in its own processes (gunicorn, three workers) on its own database of the
same kind as the suite's: a SQLite file, the embedded default, or a PostgreSQL database.
Every ballot must be stored exactly once, and no voter may get an error answer.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from .load.serving import ROOT, NoRedirect, create_database, wait_for_server

VOTERS = 24
PASSWORD = "concurrent-voters"

SEED = f"""
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from surveys.models import HealthCard, Round, RoundCard, Squad, SquadRole
from surveys.services import tribe_create

tribe = tribe_create(name="Workshop", slug="workshop")
squad = Squad.objects.create(tribe=tribe, name="Voters", slug="voters")
hashed = make_password({PASSWORD!r})
User = get_user_model()
users = User.objects.bulk_create(User(username=f"voter{{n:02d}}", password=hashed) for n in range({VOTERS}))
SquadRole.objects.bulk_create(SquadRole(user=u, squad=squad) for u in users)
now = timezone.now()
rnd = Round.objects.create(tribe=tribe, title="Now", opens_at=now, closes_at=now + timedelta(days=1))
RoundCard.objects.bulk_create(
    RoundCard(round=rnd, card=c, position=c.position) for c in HealthCard.objects.filter(tribe=tribe)
)
rnd.open()
print(rnd.pk)
"""

COUNT = """
from surveys.models import Answer, Ballot
print(Ballot.objects.count(), Answer.objects.count())
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_database(tmp_path: Path) -> str:
    """A database of the suite's kind, for the server alone."""
    if connection.vendor == "sqlite":
        return f"sqlite:///{tmp_path / 'workshop.sqlite3'}"
    db = settings.DATABASES["default"]
    auth = f"{db['USER']}:{db['PASSWORD']}@" if db["PASSWORD"] else f"{db['USER']}@"
    url = f"postgres://{auth}{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}_workshop"
    create_database(url, fresh=True)
    return url


def run(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


class Voter:
    def __init__(self, base: str, username: str) -> None:
        self.base, self.username = base, username
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect
        )

    def request(self, path: str, data: dict | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body, headers={"Referer": self.base + path})
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")

    @staticmethod
    def token(html: str) -> str:
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)

    def ballot(self, url: str) -> dict[str, str]:
        """Sign in and fill in the ballot, ready to post."""
        _, html = self.request("/accounts/login/")
        status, _ = self.request(
            "/accounts/login/",
            {"csrfmiddlewaretoken": self.token(html), "login": self.username, "password": PASSWORD},
        )
        assert status == 302, f"{self.username} could not sign in"
        _, html = self.request(url)
        data = {"csrfmiddlewaretoken": self.token(html)}
        for n, card in enumerate(sorted(set(re.findall(r'name="(card-\d+)-colour"', html)))):
            data[f"{card}-colour"] = ("green", "yellow", "red")[n % 3]
            data[f"{card}-trend"] = "stable"
            data[f"{card}-comment"] = f"Comment {n}"
        return data


@pytest.mark.django_db
def test_24_voters_saving_at_once_are_all_stored_once(tmp_path):
    database_url = server_database(tmp_path)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "true",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "BALLOT_SECRET": secrets.token_urlsafe(32),
        "LOGIN_FAILURE_LIMIT": "1000",
        "REDIS_URL": "",
    }
    run(env, "migrate", "--noinput", "-v0")
    round_id = run(env, "shell", "--no-imports", "-c", SEED)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "healthcheck.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "3",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_for_server(base, 60), "the server did not start"
        url = f"/rounds/{round_id}/squads/voters/vote/"
        voters = [Voter(base, f"voter{n:02d}") for n in range(VOTERS)]
        ballots = [voter.ballot(url) for voter in voters]
        statuses: list[int] = []
        start = threading.Barrier(VOTERS)

        def save(voter: Voter, data: dict[str, str]) -> None:
            start.wait()
            statuses.append(voter.request(url, data)[0])

        threads = [threading.Thread(target=save, args=pair) for pair in zip(voters, ballots, strict=True)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert sorted(statuses) == [302] * VOTERS
    cards = sum(1 for key in ballots[0] if key.endswith("-colour"))
    assert run(env, "shell", "--no-imports", "-c", COUNT) == f"{VOTERS} {VOTERS * cards}"
