from __future__ import annotations

from tests.browser.conftest import ROOT, axe_violations


def test_the_lead_reads_the_tribe_dashboard(demo, live_server, page, sign_in):
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in("lead")
    page.get_by_role("link", name="Payments dashboard").first.click()
    page.wait_for_selector("table.matrix")

    cells = page.locator("table.matrix tbody td.cell:not(.tribe-col)")
    assert cells.count() == 11 * 5
    for index in range(cells.count()):
        cell = cells.nth(index)
        text = cell.inner_text()
        # A light (with its word) wherever enough people voted, and an explicit note where not.
        assert any(word in text for word in ("Green", "Yellow", "Red")) or "not enough votes" in text
    assert page.locator(".light-none").count() > 0
    assert page.get_by_text("possible systemic issue").count() >= 1
    assert axe_violations(page) == []
    page.screenshot(path=str(ROOT / "docs" / "dashboard.png"))

    page.get_by_role("link", name="Compare with").click()
    page.wait_for_selector("table.matrix")
    assert page.locator(".cell-changed").count() > 0
    assert axe_violations(page) == []

    # One squad at a time: the card column, that squad, the tribe column.
    page.get_by_role("navigation", name="One squad at a time").get_by_role("link", name="Checkout").click()
    page.wait_for_selector("table.matrix")
    assert page.locator("table.matrix thead th").count() == 3
    assert axe_violations(page) == []

    page.locator("table.matrix thead").get_by_role("link", name="Checkout", exact=True).click()
    page.wait_for_selector(".result-card")
    assert page.locator(".result-card").count() == 11
    assert axe_violations(page) == []


def test_on_a_phone_only_the_matrix_scrolls_sideways_and_the_menu_works_without_script(
    demo, live_server, browser, page, sign_in
):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in("lead")
    page.goto(f"{live_server.url}/tribes/payments/")
    page.wait_for_selector("table.matrix")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # the page stays put
    page.locator(".table-responsive").evaluate("element => { element.scrollLeft = 300 }")
    card = page.locator("table.matrix tbody th").first.bounding_box()
    assert 0 <= card["x"] < 20  # the card column stays in view
    page.get_by_role("button", name="Menu").click()
    page.get_by_role("link", name="Support queue").click()
    page.wait_for_selector("h1:has-text('Support queue')")

    # Without JavaScript the navigation is simply open.
    plain = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    plain.add_cookies(page.context.cookies())
    other = plain.new_page()
    other.goto(f"{live_server.url}/tribes/payments/")
    assert other.get_by_role("link", name="Support queue").is_visible()
    assert not other.get_by_role("button", name="Menu").is_visible()
    plain.close()
