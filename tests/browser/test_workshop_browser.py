"""A whole workshop in Chromium: the facilitator, the projector screen and three phones."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from surveys.models import HealthCard, Result, Round, RoundCard, SquadRole
from surveys.services import tribe_create
from tests.browser.conftest import ARTIFACTS, axe_violations
from tests.factories import make_user

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def squad_in_a_round(transactional_db):
    from surveys.models import Squad

    tribe = tribe_create(name="Payments", slug="payments")
    squad = Squad.objects.create(tribe=tribe, name="Checkout", slug="checkout")
    for n in range(5):
        SquadRole.objects.create(squad=squad, user=make_user(f"member{n}"))
    SquadRole.objects.create(squad=squad, user=make_user("coach"), role=SquadRole.Role.COACH)
    now = timezone.now()
    rnd = Round.objects.create(tribe=tribe, title="2026 Q4", opens_at=now, closes_at=now + timedelta(days=7))
    # Three cards: every step of a card is the same, and each card costs the phones and the screen
    # a few polls of two seconds.
    RoundCard.objects.bulk_create(
        RoundCard(round=rnd, card=c, position=c.position)
        for c in HealthCard.objects.filter(tribe=tribe).order_by("position")[:3]
    )
    rnd.open()
    return rnd, squad


OPENED: list = []


@pytest.fixture(autouse=True)
def _close_what_the_test_opened():
    """An open workshop page keeps polling the live server; left open, it would still be querying
    while a later test empties the database. Every context a test opens is closed at its end."""
    yield
    while OPENED:
        OPENED.pop().close()


def signed_in(browser, live_server, username: str, errors: list[str], **options):
    context = browser.new_context(**options)
    OPENED.append(context)
    page = context.new_page()
    page.on("console", lambda m: errors.append(f"{username}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"{username}: {e}"))
    page.add_init_script(
        """document.addEventListener("securitypolicyviolation", (event) => {
            console.error("CSP violation: " + event.violatedDirective + " " + event.blockedURI);
        });"""
    )
    from tests.browser.conftest import AXE

    page.add_init_script(path=str(AXE))
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("password")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")
    return page


def test_a_whole_workshop_from_lobby_to_agreed_board(live_server, browser, squad_in_a_round):
    rnd, squad = squad_in_a_round
    errors: list[str] = []
    facilitator = signed_in(browser, live_server, "coach", errors)
    facilitator.get_by_role("link", name="Run health checks").click()
    facilitator.get_by_role("button", name="Start a workshop").click()
    facilitator.wait_for_selector(".qr svg")
    assert axe_violations(facilitator) == []
    workshop_url = facilitator.url
    join_url = facilitator.locator(".qr + p a").inner_text()

    screen = signed_in(browser, live_server, "coach", errors, viewport={"width": 1280, "height": 800})
    screen.goto(workshop_url + "screen/")
    assert "0 joined" in screen.inner_text("#live")

    phones = []
    for n in range(3):
        phone = signed_in(browser, live_server, f"member{n}", errors, viewport=PHONE)
        phone.goto(join_url)
        phone.wait_for_url("**/phone/")
        assert "You're in" in phone.content()
        phones.append(phone)
    screen.wait_for_selector("#live:has-text('3 joined')", timeout=10000)
    assert axe_violations(phones[0]) == []

    facilitator.get_by_role("button", name="Start with the first card").click()
    cards = list(rnd.round_cards.select_related("card").order_by("position"))
    plan = ["green", "green", "yellow"]
    for index, round_card in enumerate(cards):
        name = round_card.card.name
        for phone, colour in zip(phones, plan, strict=True):
            phone.wait_for_selector(f"h1:has-text('{name}')", timeout=10000)
            phone.locator("label[for=trend-stable]").click()
            phone.get_by_role("button", name=colour.capitalize()).click()
            phone.wait_for_selector(".alert-success")
        # Everyone who joined has voted: the screen reveals by itself.
        screen.wait_for_selector(
            f"#live:has-text('{name}'):has-text('3 of 5 voted') .workshop-reveal", timeout=10000
        )
        if index == 0:
            assert "Green" in screen.inner_text(".workshop-reveal")
            assert axe_violations(screen) == []
            ARTIFACTS.mkdir(exist_ok=True)
            screen.screenshot(path=str(ARTIFACTS / "workshop-screen.png"))
            phones[0].screenshot(path=str(ARTIFACTS / "workshop-phone.png"))
        facilitator.reload()
        facilitator.wait_for_selector(".workshop-reveal")
        # Pre-filled with the majority colour and the median trend.
        assert facilitator.get_by_label("Green", exact=True).is_checked()
        if index == 1:
            facilitator.get_by_label("Yellow", exact=True).check()
            facilitator.get_by_label("Note (optional)").fill("Fine for most of us, not for ops")
        facilitator.get_by_role("button", name="Save what we agreed").click()
        if index == 1:
            facilitator.get_by_label("What will we do?").fill("Pair with ops on releases")
            facilitator.get_by_role("button", name="Add the action").click()
        if index + 1 < len(cards):
            facilitator.get_by_role("button", name="Next card").click()

    facilitator.get_by_role("button", name="Finish the workshop").click()
    facilitator.wait_for_url("**/squads/checkout/**")
    page = facilitator.content()
    assert "Fine for most of us, not for ops" in page and "Pair with ops on releases" in page
    assert Result.objects.filter(round=rnd, squad=squad).exclude(agreed_colour="").count() == len(cards)
    assert Result.objects.get(round=rnd, squad=squad, card=cards[1].card).agreed_colour == "yellow"
    facilitator.goto(f"{live_server.url}/tribes/payments/?round={rnd.pk}")
    assert facilitator.locator("td.cell-agreed").count() == len(cards)
    for phone in phones:
        phone.wait_for_selector("text=Done. Thank you!", timeout=10000)
    assert errors == [], errors
