"""Each main page on a throttled phone: cold loads from `make serve`, within their byte budgets.

Times are reported, not asserted: they depend on the machine. `make bench` prints them against
their targets.
"""

from __future__ import annotations

import re
import socket

import pytest

from tests.load.phone import cold_load, report
from tests.load.serving import Session, manage, server_env, start_server, stop_server, wait_for_server


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    """`make serve` (DEBUG off, compressed static files, gunicorn) on the demo data, on SQLite."""
    database = tmp_path_factory.mktemp("phone") / "demo.sqlite3"
    env = server_env(
        f"sqlite:///{database}",
        "phone-load-secret-key-for-loopback-measurements-only-0123456789",
        "phone-load-ballot-secret-for-loopback-only",
    )
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "seed_demo", "--force", "-v0")
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    server = start_server(env, port, workers=2)
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_for_server(base, 180), "make serve did not start"
        yield base
    finally:
        stop_server(server)


def test_the_main_pages_load_on_a_slow_phone_within_their_budgets(production, browser):
    member = Session(production, "member", "demo")
    coach = Session(production, "coach", "demo")
    vote = re.search(r'href="(/rounds/\d+/squads/checkout/vote/)"', member.get("/")[1]).group(1)
    loads = [
        cold_load(browser, production, member.cookies(), "vote page", vote),
        cold_load(browser, production, member.cookies(), "dashboard", "/tribes/payments/"),
        cold_load(browser, production, member.cookies(), "squad page", "/squads/checkout/"),
        cold_load(browser, production, coach.cookies(), "trends page", "/squads/checkout/trends/"),
    ]
    report(loads)
    for load in loads:
        assert load.kilobytes <= load.budget, (load.name, round(load.kilobytes))
    squad_page = next(load for load in loads if load.name == "squad page")
    assert squad_page.requests <= 8  # the page, its stylesheets, its scripts, its icon: no chart library
