from __future__ import annotations

from tests.browser.conftest import ARTIFACTS, axe_violations


def answer_every_card(page, colour: str) -> None:
    for card in page.locator("section.health-card").all():
        card.locator(f"label.choice-{colour}").click()
        card.locator("label.choice-stable").click()


def test_a_lead_runs_a_whole_health_check_with_a_workshop_link(demo, live_server, page, browser, sign_in):
    sign_in("lead")
    page.get_by_role("link", name="Run health checks").click()
    # The demo's round is still open: close it first.
    page.get_by_role("link", name="2026 Q4").first.click()
    page.get_by_role("link", name="Close the whole round…").click()
    page.get_by_role("button", name="Close the round now").click()
    page.wait_for_selector("table.matrix")

    page.get_by_role("link", name="Run health checks").click()
    page.get_by_role("link", name="New round").first.click()
    page.get_by_label("Title").fill("Workshop round")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Save as draft").click()
    page.get_by_role("button", name="Open now").click()
    assert "Workshop round is open" in page.locator(".alert-success").inner_text()

    links = page.get_by_role("region", name="Workshop links")
    links.get_by_role("combobox", name="Squad").select_option(label="Checkout")
    links.get_by_label("Open link").check()
    page.get_by_role("button", name="Show the workshop link").click()
    page.wait_for_selector(".qr svg")
    assert axe_violations(page) == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "invite.png"))
    link = page.locator(".invite-url a").inner_text()

    for colour in ("green", "green", "yellow"):
        context = browser.new_context()  # a fresh browser: no account, no cookies
        guest = context.new_page()
        guest.goto(link)
        assert "/join/" not in guest.url  # the token was exchanged for a session
        answer_every_card(guest, colour)
        guest.get_by_role("button", name="Save my answers").click()
        assert "answered 11 of 11" in guest.locator(".alert-success").inner_text()
        context.close()

    page.get_by_role("link", name="Run health checks").click()
    page.get_by_role("link", name="Workshop round").click()
    assert "3 ballots cast so far" in page.content()
    page.get_by_role("link", name="Close the whole round…").click()
    page.get_by_role("button", name="Close the round now").click()
    page.wait_for_selector("table.matrix")
    assert "Workshop round, closed" in page.content()
    checkout_cells = page.locator("table.matrix tbody tr td:nth-child(2)")
    assert checkout_cells.count() == 11
    for index in range(11):
        assert "Green" in checkout_cells.nth(index).inner_text()

    page.locator("table.matrix thead").get_by_role("link", name="Checkout", exact=True).click()
    assert page.locator(".result-card").first.get_by_text("2 green · 1 yellow · 0 red").count() == 1
