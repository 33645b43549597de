from __future__ import annotations

from tests.browser.conftest import ARTIFACTS, axe_violations


def test_the_coach_reads_the_queue_and_a_squads_trends(demo, live_server, page, sign_in, page_errors):
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in("coach")
    page.get_by_role("link", name="Support queue").click()
    page.wait_for_selector("h1:has-text('Support queue')")
    assert page.locator("li.card").count() >= 1
    assert axe_violations(page) == []

    page.get_by_role("link", name="Trends of Checkout").click()
    page.wait_for_selector('[data-chart="chart-radar"] .main-svg')
    # plotly has drawn the radar; the small charts per card come from the server
    assert page.locator('[data-chart="chart-radar"] .scatterlayer .trace').count() == 3  # with the median
    assert page.locator(".small-multiples .sparkline svg").count() == 11
    page.locator('[data-chart="chart-participation"]').scroll_into_view_if_needed()  # drawn when seen
    page.wait_for_selector('[data-chart="chart-participation"] .main-svg')
    page.wait_for_selector('[data-chart="chart-heatmap"] .main-svg')
    assert page.locator("style").count() == 0  # plotly wrote no style element of its own
    assert page.locator('[data-chart="chart-heatmap"] .hm').count() == 1
    assert page.locator('[data-chart="chart-participation"] .bars .point').count() == 6
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "trends.png"), full_page=True)
    assert axe_violations(page) == []
    assert page_errors == []


def test_a_member_adds_an_action_item_on_a_card(demo, live_server, page, sign_in, page_errors):
    sign_in("member")
    page.get_by_role("link", name="Checkout squad results").click()
    page.wait_for_selector(".result-card")
    assert page.locator(".result-card .sparkline svg").count() == page.locator(".result-card").count()
    assert page.evaluate("typeof Plotly") == "undefined"  # the squad page draws without a chart library
    page.get_by_role("link", name="Add an action for Easy to release").click()
    page.get_by_label("What will we do?").fill("Write a one-page release runbook")
    page.get_by_role("button", name="Save").click()
    page.wait_for_selector(".alert-success")
    item = page.locator("#actions li", has_text="Write a one-page release runbook")
    assert "Easy to release" in item.inner_text()
    assert axe_violations(page) == []
    assert page_errors == []
