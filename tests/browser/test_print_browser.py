"""The tribe dashboard prints on one landscape page, legend included, on A4 and on Letter."""

from __future__ import annotations

import re

import pytest

from surveys.models import HealthCard, Round

from ..factories import add_tribe_role, cast, make_past_round, make_squad, make_tribe, make_user

# Every kind of cell: lights, arrows, splits, divergence and cells below the minimum.
PATTERNS = ["gggg", "ggyr", "yyyr", "rrrg", "gy", "grrr"]
TRENDS = ["iiii", "swws", "iiss", "wwww", "", "ssss"]


@pytest.fixture
def big_tribe(transactional_db):
    """A tribe of 12 squads and the default 11 cards, over two closed rounds."""
    tribe = make_tribe("Platform")
    squads = [make_squad(tribe, f"Squad {name}", members=5) for name in "ABCDEFGHIJKL"]
    cards = list(HealthCard.objects.filter(tribe=tribe).order_by("position"))
    for title, days_ago, shift in (("2026 Q2", 120, 0), ("2026 Q3", 30, 1)):
        rnd = make_past_round(tribe, title, days_ago=days_ago)
        for s, squad in enumerate(squads):
            for c, card in enumerate(cards):
                pattern = (s + c + shift) % len(PATTERNS)
                cast(rnd, squad, card, PATTERNS[pattern], TRENDS[pattern])
        rnd.close()
    lead = make_user("printlead", first_name="Pia", last_name="Lund")
    lead.set_password("demo")
    lead.save()
    add_tribe_role(tribe, lead)
    assert Round.objects.filter(tribe=tribe, state="closed").count() == 2
    return tribe


def pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf))


@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_the_dashboard_of_12_squads_prints_on_one_landscape_page(
    big_tribe, live_server, page, sign_in, paper
):
    sign_in("printlead")
    for compare in (False, True):  # the comparison adds a change and a "was" line to cells
        page.emulate_media(media="screen")
        page.goto(f"{live_server.url}/tribes/{big_tribe.slug}/{'?compare=1' if compare else ''}")
        page.wait_for_selector("table.matrix")
        assert page.locator("table.matrix thead th").count() == 14  # cards, 12 squads, the tribe
        assert page.locator("table.matrix tbody tr").count() == 11
        page.emulate_media(media="print")
        assert page.locator(".legend").is_visible()
        pdf = page.pdf(format=paper, landscape=True, print_background=True)
        assert pdf_pages(pdf) == 1, (paper, compare)
