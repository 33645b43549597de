from __future__ import annotations

from tests.browser.conftest import ARTIFACTS, axe_violations


def test_a_member_votes_on_every_card_with_the_keyboard(demo, live_server, page, sign_in):
    page.set_viewport_size({"width": 375, "height": 812})
    sign_in("member")
    assert axe_violations(page) == []

    page.get_by_role("link", name="Vote now").click()
    page.wait_for_selector("form.ballot")
    assert page.locator("section.health-card").count() == 11
    assert axe_violations(page) == []
    # Nothing on the page is wider than a phone screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 375

    # Tab into the first colour group, then answer each card with the keyboard alone.
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name || ''").endswith("-colour"):
            break
    for index in range(11):
        assert page.evaluate("document.activeElement.name").endswith("-colour")
        page.keyboard.press("Space")  # green
        if index % 3 == 1:
            page.keyboard.press("ArrowRight")  # yellow
        page.keyboard.press("Tab")  # to the trend group
        page.keyboard.press("Space")  # improving
        page.keyboard.press("Tab")  # to the comment
        if index == 0:
            page.keyboard.type("Releases went smoothly")
        page.keyboard.press("Tab")  # to the next card, or the save button
        assert page.locator("[data-answered-count]").inner_text() == str(index + 1)

    assert page.evaluate("document.activeElement.textContent.trim()") == "Save my answers"
    page.keyboard.press("Enter")
    page.wait_for_selector(".alert-success")
    assert "Your ballot is saved: answered 11 of 11." in page.locator(".alert-success").inner_text()
    assert page.locator("#answered-label").inner_text() == "answered 11 of 11"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "vote-phone.png"), full_page=False)

    page.reload()
    assert page.locator('input[name$="-colour"]:checked').count() == 11
    assert page.locator('input[name$="-colour"][value="yellow"]:checked').count() == 4
    assert page.locator('input[name$="-trend"][value="improving"]:checked').count() == 11
    assert page.locator("textarea").first.input_value() == "Releases went smoothly"
