"""What the soak test and the benchmark share: their database, the server, and a way to reach it."""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def server_env(database_url: str, secret_key: str, ballot_secret: str, **more: str) -> dict[str, str]:
    """Production mode over plain HTTP on loopback, with sign-in throttling out of the way of load."""
    return {
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "HTTPS": "false",
        "SECRET_KEY": secret_key,
        "BALLOT_SECRET": ballot_secret,
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOGIN_FAILURE_LIMIT": "1000",
        **more,
    }


def create_database(url: str, *, fresh: bool) -> None:
    """Create the database named in url (dropping it first when fresh), then migrate it."""
    import psycopg2

    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/")
    admin = psycopg2.connect(
        host=parts.hostname,
        port=parts.port or 5432,
        user=parts.username,
        password=parts.password,
        dbname="postgres",
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        if fresh:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**os.environ, **env}, check=True)


def setup_django(env: dict[str, str]) -> None:
    """Use the project's models in this process, on the same database as the server."""
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "healthcheck.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Report redirects as they are: a saved ballot answers 302."""

    def redirect_request(self, *args, **kwargs):
        return None


class Session:
    """A signed-in browser, reduced to its cookies."""

    def __init__(self, base: str, username: str, password: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)
        html = self.get("/accounts/login/")[1]
        status, _ = self.post(
            "/accounts/login/",
            {"login": username, "password": password, "csrfmiddlewaretoken": token(html)},
        )
        if status != 302:
            raise SystemExit(f"cannot sign in as {username}")

    def open(
        self, path: str, data: bytes | None = None, headers: dict | None = None
    ) -> tuple[int, bytes, dict]:
        request = urllib.request.Request(self.base + path, data=data, headers=headers or {})
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, error.read(), dict(error.headers)

    def get(self, path: str) -> tuple[int, str]:
        status, body, _ = self.open(path)
        return status, body.decode()

    def post(self, path: str, data: dict) -> tuple[int, str]:
        status, body, _ = self.open(path, urllib.parse.urlencode(data).encode())
        return status, body.decode()

    def cookie(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)

    def cookies(self) -> list[dict]:
        """The cookies as a browser context takes them."""
        host = urllib.parse.urlsplit(self.base).hostname
        return [{"name": c.name, "value": c.value, "domain": host, "path": "/"} for c in self.jar]


def token(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def start_server(env: dict[str, str], port: int, workers: int = 3) -> subprocess.Popen:
    """`make serve` on loopback, in its own process group so that it stops as a whole."""
    return subprocess.Popen(
        ["make", "--no-print-directory", "serve", f"SERVE_BIND=127.0.0.1:{port}", f"SERVE_WORKERS={workers}"],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop_server(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=30)


def wait_for_server(base: str, seconds: float) -> bool:
    """Whether /healthz answers ok within the given time."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                if response.read() == b"ok":
                    return True
        except OSError:
            pass
        time.sleep(0.5)
    return False
