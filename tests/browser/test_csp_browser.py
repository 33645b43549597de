from __future__ import annotations

from surveys.models import Round, Squad
from tests.browser.conftest import axe_violations


def test_no_page_reports_a_csp_violation_or_script_error(demo, live_server, page, sign_in, page_errors):
    sign_in("lead")
    payments = Squad.objects.get(slug="checkout").tribe
    closed = Round.objects.filter(tribe=payments, state="closed").order_by("-opens_at").first()
    open_round = Round.objects.get(tribe=payments, state="open")
    paths = [
        "/",
        "/tribes/payments/",
        f"/tribes/payments/?round={closed.pk}&compare=1",
        "/tribes/payments/trends/",
        "/tribes/payments/comments/",
        "/squads/checkout/",
        "/squads/checkout/trends/",
        "/coach/",
        "/manage/",
        f"/manage/rounds/{open_round.pk}/",
        "/manage/tribes/payments/deck/",
        "/manage/tribes/payments/rounds/new/",
        "/account/reminders/",
        "/manage/api-keys/",
        "/api/v1/docs/",
    ]
    for path in paths:
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        if "trends" in path:
            page.wait_for_selector("[data-chart] .main-svg")
        if path.startswith("/api/"):
            page.wait_for_selector("#swagger-ui .opblock")  # drawn from the schema it fetched
        else:  # our own pages are axe-clean too, charts and all
            page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
            assert axe_violations(page) == [], path
    sign_in("member")
    page.goto(f"{live_server.url}/rounds/{open_round.pk}/squads/checkout/vote/")
    page.wait_for_load_state("networkidle")
    assert axe_violations(page) == []
    for scheme in ("light", "dark"):  # the system's setting chooses the theme
        page.emulate_media(color_scheme=scheme)
        for path in ("/", "/tribes/payments/?squad=checkout", "/squads/checkout/"):
            page.goto(f"{live_server.url}{path}")
            page.wait_for_load_state("networkidle")
            assert page.get_attribute("html", "data-bs-theme") == scheme
            assert axe_violations(page) == [], (scheme, path)
    assert page_errors == [], page_errors
