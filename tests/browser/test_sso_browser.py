"""Single sign-on in a real browser: the button leaves for the provider under our strict CSP
(Chrome checks form-action on the redirect that follows the POST), and the person comes back in."""

from __future__ import annotations

from oidc_provider_mock import run_server_in_thread

from surveys.models import SquadRole
from tests.test_sso import configure, set_claims

from .conftest import axe_violations


def test_the_sign_on_button_takes_the_person_to_the_provider_and_back(
    demo, live_server, page, page_errors, settings
):
    settings.SITE_URL = live_server.url
    member = SquadRole.objects.filter(role="member").select_related("user").first().user
    with run_server_in_thread() as server:
        provider = f"http://localhost:{server.server_port}"
        configure(settings, provider)
        set_claims(provider, "member-at-corp", email=member.email, email_verified=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{live_server.url}/accounts/login/")
        assert axe_violations(page) == []
        page.get_by_role("button", name="Sign in with Corp login").click()
        page.wait_for_url(f"{provider}/oauth2/authorize*")
        page.locator('input[name="sub"]').fill("member-at-corp")
        page.get_by_role("button", name="Authorize").click()
        page.wait_for_url(f"{live_server.url}/")
        page.get_by_role("button", name="Menu").click()
        assert (member.get_full_name() or member.get_username()) in page.locator("header").inner_text()
    # The provider's own page fetches things from the internet, which is not here; our pages and
    # the way between them report nothing.
    ours = [e for e in page_errors if "ERR_NAME_NOT_RESOLVED" not in e and "NOT FOUND" not in e]
    assert ours == []
