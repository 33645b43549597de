"""An invited person follows the emailed link, sets a password, signs in and votes."""

from __future__ import annotations

import re

from django.core import mail

from surveys.models import Round, Squad
from tests.browser.conftest import axe_violations


def test_an_invited_person_sets_a_password_signs_in_and_votes(
    demo, live_server, page, sign_in, page_errors, settings
):
    settings.SITE_URL = live_server.url
    page.set_viewport_size({"width": 390, "height": 844})
    checkout = Squad.objects.get(slug="checkout")

    # The lead adds a new person to Checkout on the people page.
    sign_in("lead")
    page.goto(f"{live_server.url}/manage/tribes/{checkout.tribe.slug}/people/")
    page.get_by_label("Email").fill("rosa.lind@example.com")
    page.get_by_label("Full name").fill("Rosa Lind")
    page.locator("#id_squad").select_option(label="Checkout")
    page.get_by_role("button", name="Add", exact=True).click()
    page.wait_for_selector(".alert-success")
    page.get_by_role("button", name="Menu").click()  # a phone: the navigation folds behind it
    page.get_by_role("button", name="Sign out").click()

    # Rosa opens the link in her email and chooses a password.
    link = re.search(r"https?://\S+/accounts/invitation/\S+", mail.outbox[-1].body).group(0)
    page.goto(link)
    assert "/set-password/" in page.url  # the token has left the address
    assert axe_violations(page) == []
    page.locator("#id_new_password1").fill("Rosa-likes-green-2027")
    page.locator("#id_new_password2").fill("Rosa-likes-green-2027")
    page.get_by_role("button", name="Save and sign in").click()
    page.wait_for_url(f"{live_server.url}/")
    page.get_by_role("button", name="Menu").click()  # a phone: the navigation folds behind it
    page.get_by_role("button", name="Sign out").click()

    # She signs in with her email address and the new password, and votes.
    page.goto(f"{live_server.url}/accounts/login/")
    assert axe_violations(page) == []
    page.get_by_label("Username or email").fill("rosa.lind@example.com")
    page.get_by_label("Password").fill("Rosa-likes-green-2027")
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(f"{live_server.url}/")
    open_round = Round.objects.get(tribe=checkout.tribe, state="open")
    page.get_by_role("link", name=re.compile("Vote now")).click()
    page.wait_for_selector("form.ballot")
    assert f"/rounds/{open_round.pk}/squads/checkout/vote/" in page.url
    for card in page.locator("section.health-card").all():
        card.locator('input[value="green"] + label').click()
        card.locator('input[value="stable"] + label').click()
    page.get_by_role("button", name="Save my answers").click()
    page.wait_for_selector(".alert-success")
    assert "Your ballot is saved: answered 11 of 11." in page.locator(".alert-success").inner_text()
    assert page_errors == []
