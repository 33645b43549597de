"""Benchmark: each page's throughput as a ratio to the cheapest responses of the same stack.

Run with `make bench` (or `make bench BENCH_QUICK=1`). It seeds a large organisation on
PostgreSQL unless already seeded, starts `make serve`, signs in as a lead, a coach and a
member, and drives every page with wrk on loopback, measuring two floors right before each
page: /healthz (SELECT 1) and the signed-in floor (a tiny page for the same person, which
pays for the session, the user and the roles and draws the page frame). Absolute times on a
shared machine are noise; the ratios are the figures, and the targets are against the
signed-in floor.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from phone import cold_load, report
from playwright.sync_api import sync_playwright
from serving import (
    Session,
    create_database,
    manage,
    server_env,
    setup_django,
    start_server,
    stop_server,
    token,
    wait_for_server,
)
from workshop_burst import burst

QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
WORKSHOP_DATABASE_URL = os.environ.get(
    "BENCH_WORKSHOP_DATABASE_URL",
    "postgres://healthcheck_ci:healthcheck_ci@127.0.0.1:5432/healthcheck_workshop",
)
PORT = int(os.environ.get("BENCH_PORT", "8766"))
BASE = f"http://127.0.0.1:{PORT}"
DURATION = os.environ.get("BENCH_DURATION", "3s" if QUICK else "10s")
CONNECTIONS = os.environ.get("BENCH_CONNECTIONS", "8")
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL",
    "postgres://healthcheck_ci:healthcheck_ci@127.0.0.1:5432/"
    + ("healthcheck_bench_quick" if QUICK else "healthcheck_bench"),
)
SERVER_ENV = server_env(
    DATABASE_URL,
    "bench-secret-key-for-loopback-measurements-only-0123456789",
    # Fixed, so that the seeded ballots stay reachable from one run to the next.
    "bench-ballot-secret-for-loopback-measurements-only",
    REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
)
# Each page against the signed-in floor.
TARGETS = {
    "dashboard": 0.5,
    "squad page": 0.5,
    "coach queue": 0.5,
    "trends": 0.5,
    "vote (GET)": 0.5,
    "ballot (POST)": 0.5,
}
FLOOR_PAGE = "/account/reminders/"

LUA = """
local cookie = os.getenv("BENCH_COOKIE") or ""
local body = os.getenv("BENCH_BODY")
wrk.headers["Cookie"] = cookie
if body then
  wrk.method = "POST"
  wrk.body = body
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end
"""


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


@dataclass
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    bytes: float
    errors: int


def wrk(path: str, *, cookie: str = "", body: str | None = None) -> Run:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA)
    run_env = {**os.environ, "BENCH_COOKIE": cookie}
    if body is not None:
        run_env["BENCH_BODY"] = body
    out = subprocess.run(
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{DURATION}", "--latency", "-s", script.name, BASE + path],
        capture_output=True,
        text=True,
        env=run_env,
        check=True,
    ).stdout
    os.unlink(script.name)

    def latency(percent: str) -> float:
        value, unit = re.search(rf"\s{percent}%\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    def size(text: str) -> float:
        value, unit = re.match(r"([\d.]+)([KMG]?B)", text).groups()
        return float(value) * {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}[unit]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    transfer = size(re.search(r"Transfer/sec:\s+(\S+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return Run(
        rps, latency("50"), latency("99"), transfer / rps if rps else 0, int(errors.group(1)) if errors else 0
    )


def count_queries(username: str, path: str, data: dict | None = None) -> int:
    """Queries one request runs, measured in this process on the same database."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(get_user_model().objects.get(username=username))
    client.get(path)  # warm the caches, as the server's are
    with CaptureQueriesContext(connection) as context:
        client.post(path, data) if data is not None else client.get(path)
    return len(context)


def voting_page_weight(session: Session, path: str) -> int:
    """Bytes a browser transfers, compressed, to load the voting page with its files."""
    _, body, _ = session.open(path, headers={"Accept-Encoding": "gzip"})
    html = gzip.decompress(body).decode() if body[:2] == b"\x1f\x8b" else body.decode()
    total = len(body)
    for asset in re.findall(r'(?:href|src)="(/static/[^"]+)"', html):
        _, data, headers = session.open(asset, headers={"Accept-Encoding": "gzip"})
        total += len(data)
        assert "immutable" in headers.get("Cache-Control", ""), asset
    return total


def main() -> int:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk")
    began = time.monotonic()
    create_database(DATABASE_URL, fresh=False)
    manage(SERVER_ENV, "migrate", "--noinput", "-v0")
    manage(SERVER_ENV, "seed_bench", *(["--quick"] if QUICK else []))
    setup_django(SERVER_ENV)
    from surveys.models import Answer, Round, Squad

    log(f"{Answer.objects.count():,} answers in {Round.objects.count():,} rounds")
    log("starting make serve on " + BASE)
    server = start_server(SERVER_ENV, PORT)
    try:
        wait_for_server(BASE, 120)
        lead, coach, member = (
            Session(BASE, name, "bench") for name in ("bench-lead", "bench-coach", "bench-member")
        )
        squad = Squad.objects.get(slug="bench-01-squad-01")
        open_round = Round.objects.get(tribe__slug="bench-01", state="open")
        vote = f"/rounds/{open_round.pk}/squads/{squad.slug}/vote/"
        html = member.get(vote)[1]
        ballot = {"csrfmiddlewaretoken": token(html)}
        for card in sorted(set(re.findall(r'name="(card-\d+)-colour"', html))):
            ballot[f"{card}-colour"], ballot[f"{card}-trend"] = "yellow", "stable"
        body = urllib.parse.urlencode(ballot)

        pages = [
            ("signed-in floor", lead, "bench-lead", FLOOR_PAGE, None),
            ("dashboard", lead, "bench-lead", "/tribes/bench-01/", None),
            ("squad page", lead, "bench-lead", f"/squads/{squad.slug}/", None),
            ("trends", coach, "bench-coach", f"/squads/{squad.slug}/trends/", None),
            ("coach queue", coach, "bench-coach", "/coach/", None),
            ("vote (GET)", member, "bench-member", vote, None),
            ("ballot (POST)", member, "bench-member", vote, body),
        ]
        rows = []
        for name, session, username, path, post in pages:
            for _ in range(5):  # warm up: measure the steady state, not the first rendering
                session.open(
                    path,
                    urllib.parse.urlencode(dict(urllib.parse.parse_qsl(post))).encode() if post else None,
                )
            floor = wrk("/healthz")
            signed_in = wrk(FLOOR_PAGE, cookie=session.cookie())
            run = wrk(path, cookie=session.cookie(), body=post)
            queries = count_queries(username, path, dict(urllib.parse.parse_qsl(post)) if post else None)
            rows.append((name, run, floor, signed_in, queries))
            log(f"{name}: {run.rps:.0f} req/s vs floors {floor.rps:.0f} and {signed_in.rps:.0f} signed in")
        # The growth ratio: the full dashboard and the one-round dashboard, alternated twice so
        # that the machine's drift weighs on both alike.
        growth_runs = {"full": [], "fresh": []}
        for _ in range(2):
            for label, path in (("full", "/tribes/bench-01/"), ("fresh", "/tribes/bench-fresh/")):
                lead.open(path)
                growth_runs[label].append(wrk(path, cookie=lead.cookie()))
        weight = voting_page_weight(member, vote)
        # The same pages on a throttled phone, cold, through Chromium.
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            loads = [
                cold_load(browser, BASE, member.cookies(), "vote page", vote),
                cold_load(browser, BASE, lead.cookies(), "dashboard", "/tribes/bench-01/"),
                cold_load(browser, BASE, lead.cookies(), "squad page", f"/squads/{squad.slug}/"),
                cold_load(browser, BASE, coach.cookies(), "trends page", f"/squads/{squad.slug}/trends/"),
            ]
            browser.close()
    finally:
        stop_server(server)

    print()
    print(
        f"{'page':<20} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'queries':>8} {'bytes':>8} "
        f"{'healthz':>8} {'ratio':>7} {'signed':>8} {'ratio':>7} {'target':>7}"
    )
    failures = []
    for name, run, floor, signed_in, queries in rows:
        ratio = run.rps / floor.rps if floor.rps else 0
        signed_ratio = run.rps / signed_in.rps if signed_in.rps else 0
        target = TARGETS.get(name)
        mark = "" if target is None else (" ok" if signed_ratio >= target else " MISS")
        if target is not None and signed_ratio < target:
            failures.append(name)
        if run.errors:
            failures.append(f"{name}: {run.errors} error responses")
        print(
            f"{name:<20} {run.rps:>8.0f} {run.p50_ms:>8.2f} {run.p99_ms:>8.2f} {queries:>8} {run.bytes:>8.0f} "
            f"{floor.rps:>8.0f} {ratio:>6.2f}x {signed_in.rps:>8.0f} {signed_ratio:>6.2f}x "
            f"{f'{target:.2f}x' if target else '':>7}{mark}"
        )
    full = sum(r.p50_ms for r in growth_runs["full"]) / 2
    fresh = sum(r.p50_ms for r in growth_runs["fresh"]) / 2
    growth = full / fresh if fresh else 0
    print(
        f"\ngrowth ratio (dashboard p50, 24 rounds {full:.2f} ms / 1 round {fresh:.2f} ms, alternated): "
        f"{growth:.2f} (target at most 1.2)"
    )
    print(f"voting page as a browser loads it, compressed: {weight / 1024:.0f} KB (target at most 150 KB)")
    print(f"most queries on a page: {max(r[4] for r in rows)} (target at most 10)")
    print()
    failures += report(loads)
    print()
    print(f"total time: {time.monotonic() - began:.0f} s")
    if growth > 1.2:
        failures.append("growth ratio")
    if weight > 150 * 1024:
        failures.append("voting page weight")
    if max(r[4] for r in rows) > 10:
        failures.append("queries")
    print()
    print("workshop burst: 60 participants polling every 2 s, 8 of them saving answers")
    print(
        f"{'database':<12} {'seconds':>8} {'polls':>8} {'304s':>8} {'saves':>8} {'p50 ms':>8} {'p95 ms':>8}  errors"
    )
    seconds = 10.0 if QUICK else 30.0
    for label, url in (
        ("PostgreSQL", WORKSHOP_DATABASE_URL),
        ("SQLite", "sqlite:///bench-workshop.sqlite3"),
    ):
        result = burst(label, url, PORT + 1, seconds)
        print(
            f"{label:<12} {seconds:>8.0f} {result['polls']:>8} {result['not_modified']:>8} {result['saves']:>8} "
            f"{result['p50_ms']:>8.1f} {result['p95_ms']:>8.1f}  {result['errors'] or 'none'}"
        )
        if result["errors"]:
            failures.append(f"workshop burst on {label}: {result['errors']}")
    print("targets missed: " + ", ".join(failures) if failures else "all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
