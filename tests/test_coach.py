"""The support queue, trends pages and comments for coaches."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from surveys.models import ActionItem, SquadRole, TribeRole

from .factories import add_member, add_tribe_role, cast, chart, make_past_round, make_squad, make_user


def queue_text(client) -> str:
    response = client.get(reverse("surveys:coach-queue"))
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def two_rounds(tribe, squad, cards):
    """Checkout: healthy then troubled. Fraud: healthy twice. Quiet: no ballot in the last round."""
    for _ in range(7):
        add_member(squad, make_user())
    fraud, quiet = make_squad(tribe, "Fraud", members=3), make_squad(tribe, "Quiet", members=3)
    first = make_past_round(tribe, "Q2", days_ago=120)
    for s in (squad, fraud, quiet):
        cast(first, s, cards[0], "ggg", "sss")
        cast(first, s, cards[1], "ggg")
    first.close()
    second = make_past_round(tribe, "Q3", days_ago=30)
    cast(second, squad, cards[0], "rrr")  # red, fell by 2.0; 3 of 7 voted
    cast(second, squad, cards[1], "gyr", "iii")  # split
    cast(second, fraud, cards[0], "ggg")
    cast(second, fraud, cards[1], "ggg")
    second.close()
    return first, second, fraud, quiet


def test_the_queue_gives_each_squad_its_reasons(client, lead, squad, cards, two_rounds):
    client.force_login(lead)
    html = queue_text(client)
    assert f'Red on 1 card</a><span class="text-body-secondary">: {cards[0].name}' in html
    assert "Score fell by 0.25 or more on 2 cards" in html
    assert f'Split votes on 1 card</a><span class="text-body-secondary">: {cards[1].name}' in html
    assert "Participation 3 of 7 (43%) in Q3" in html
    assert "No ballot at all in Q3" in html
    # Each reason links to where it shows.
    assert f'href="/squads/checkout/?round={two_rounds[1].pk}#card-{cards[0].pk}"' in html
    assert 'href="/squads/checkout/trends/"' in html


def test_the_queue_gives_each_squad_a_headline_and_sorts_by_it(client, lead, squad, two_rounds):
    client.force_login(lead)
    html = queue_text(client)
    now = html[html.index("Needs support now") : html.index("Doing fine")]
    assert now.index(">Checkout</a>") < now.index(">Quiet</a>")  # their usual order within it
    assert ">Fraud</a>" not in now
    assert ">Fraud</a>" in html[html.index("Doing fine") :]
    assert "Worth a look" not in html  # no empty group


def test_a_card_red_in_both_rounds_is_named_as_such(client, lead, tribe, squad, cards):
    for title, days_ago in (("Q2", 120), ("Q3", 30)):
        rnd = make_past_round(tribe, title, days_ago=days_ago)
        cast(rnd, squad, cards[0], "rrr")
        rnd.close()
    client.force_login(lead)
    html = queue_text(client)
    assert "Red two rounds running on 1 card" in html and "Red on" not in html
    assert html.index("Needs support now") < html.index(">Checkout</a>")


def test_overdue_action_items_are_a_reason(client, lead, squad, cards, two_rounds):
    fraud = two_rounds[2]
    ActionItem.objects.create(
        squad=fraud, card=cards[0], title="Old", due_date=timezone.localdate() - timedelta(days=1)
    )
    ActionItem.objects.create(
        squad=fraud, card=cards[0], title="Later", due_date=timezone.localdate() + timedelta(days=9)
    )
    client.force_login(lead)
    assert "1 overdue action item" in queue_text(client)


def test_the_queue_shows_only_the_coachs_own_squads(client, coach, squad, two_rounds, charlie):
    client.force_login(coach)
    html = queue_text(client)
    assert ">Checkout</a>" in html
    assert ">Fraud</a>" not in html and ">Quiet</a>" not in html
    assert ">Search</a>" not in html  # charlie's squad, another tribe


def test_the_queue_is_for_coaches_and_leads_only(client, alice, charlie):
    for person in (alice, charlie):
        client.force_login(person)
        assert client.get(reverse("surveys:coach-queue")).status_code == 404


def test_trends_pages_check_access(client, tribe, squad, two_rounds, alice, coach, lead, charlie):
    fraud = two_rounds[2]
    squad_trends = reverse("surveys:squad-trends", args=[squad.slug])
    other_trends = reverse("surveys:squad-trends", args=[fraud.slug])
    tribe_trends = reverse("surveys:tribe-trends", args=[tribe.slug])
    comments = reverse("surveys:tribe-comments", args=[tribe.slug])
    expected = {
        alice: {squad_trends: 404, other_trends: 404, tribe_trends: 404, comments: 404},
        coach: {squad_trends: 200, other_trends: 404, tribe_trends: 200, comments: 200},
        lead: {squad_trends: 200, other_trends: 200, tribe_trends: 200, comments: 200},
        charlie: {squad_trends: 404, other_trends: 404, tribe_trends: 404, comments: 404},
    }
    for person, pages in expected.items():
        client.force_login(person)
        for url, status in pages.items():
            assert client.get(url).status_code == status, (person, url)


def test_squad_trends_hand_the_charts_over_as_json(client, coach, squad, cards, two_rounds):
    client.force_login(coach)
    response = client.get(reverse("surveys:squad-trends", args=[squad.slug]))
    html = response.content.decode()
    for chart_id in ("chart-radar", "chart-heatmap", "chart-participation"):
        assert f'<script id="{chart_id}" type="application/json">' in html
    assert "build/plotly-custom.min.js" in html and "build/plotly.css" in html
    for card in cards:  # a small chart, drawn on the server, for every card the rounds asked
        assert f'id="history-{card.pk}"' in html
    assert f"{cards[0].name}</h3>" in html and "Score by round: Q2 2.00, Q3 0.00." in html
    latest, previous = chart(response, "chart-radar")["data"][::-1]  # no tribe median: too few squads
    assert (latest["name"], previous["name"]) == ("Q3", "Q2")
    assert latest["r"][0] == 0.0 and previous["r"][0] == 2.0
    assert "<script>" not in html  # no inline script


def test_tribe_trends_show_the_tribe_column_over_time(client, lead, tribe, cards, two_rounds):
    client.force_login(lead)
    response = client.get(reverse("surveys:tribe-trends", args=[tribe.slug]))
    # Q2: three squads all green; Q3: Checkout red (0) and Fraud green (2), Quiet absent.
    assert "Score by round: Q2 2.00, Q3 1.00." in response.content.decode()
    previous, latest = chart(response, "chart-radar")["data"]
    assert (previous["r"][0], latest["r"][0]) == (2.0, 1.0)


def test_comments_for_coaches_only_from_squads_that_reached_the_minimum(client, lead, tribe, squad, cards):
    fraud = make_squad(tribe, "Fraud")
    rnd = make_past_round(tribe)
    cast(rnd, squad, cards[0], "ggggg", comments=["zest", "", "apple"])
    cast(rnd, fraud, cards[0], "gggg", comments=["secret"])  # colours show, comments need 5
    rnd.close()
    client.force_login(lead)
    html = client.get(reverse("surveys:tribe-comments", args=[tribe.slug])).content.decode()
    assert html.index("apple") < html.index("zest")
    assert "secret" not in html


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as context:
        assert client.get(url).status_code == 200
    return len(context)


def test_coach_pages_run_fixed_queries_as_rounds_and_squads_grow(client, tribe, squad, cards, lead):
    from .test_dashboard import grow

    add_member(squad, make_user())
    ActionItem.objects.create(squad=squad, card=cards[0], title="Keep going")
    grow(tribe, cards, squads=1, rounds=1)
    urls = [
        reverse("surveys:coach-queue"),
        reverse("surveys:squad-trends", args=[squad.slug]),
        reverse("surveys:tribe-trends", args=[tribe.slug]),
        reverse("surveys:squad", args=[squad.slug]),
        reverse("surveys:tribe-comments", args=[tribe.slug]),
    ]
    client.force_login(lead)
    small = [count_queries(client, url) for url in urls]
    grow(tribe, cards, squads=8, rounds=7)
    ActionItem.objects.create(squad=squad, card=cards[1], title="Another")
    assert [count_queries(client, url) for url in urls] == small
    assert max(small) <= 10


def test_roles_are_read_on_every_request(client, lead, tribe, squad, two_rounds):
    client.force_login(lead)
    url = reverse("surveys:squad-trends", args=[squad.slug])
    assert client.get(url).status_code == 200
    TribeRole.objects.filter(user=lead).delete()
    assert client.get(url).status_code == 404
    assert not SquadRole.objects.filter(user=lead).exists()
    assert add_tribe_role(tribe, lead) is not None
    assert client.get(url).status_code == 200


def test_the_radar_draws_the_tribe_median_of_at_least_three_squads_and_names_none(
    client, coach, tribe, squad, cards
):
    others = [make_squad(tribe, name) for name in ("Fraud", "Ledger")]
    rnd = make_past_round(tribe, "Q3")
    for team, votes in ((squad, "rrr"), (others[0], "yyy"), (others[1], "ggg")):
        cast(rnd, team, cards[0], votes)
        cast(rnd, team, cards[1], votes if team is squad else "gg")  # two squads below the minimum
    rnd.close()
    client.force_login(coach)
    response = client.get(reverse("surveys:squad-trends", args=[squad.slug]))
    median, latest = chart(response, "chart-radar")["data"]
    assert median["name"] == "Tribe median" and latest["name"] == "Q3"
    assert median["r"][:2] == [1.0, None]  # the middle of 0, 1 and 2; one squad alone is no median
    html = response.content.decode()
    assert "Fraud" not in html and "Ledger" not in html  # no other squad is named


def test_the_queue_reads_a_fixed_number_of_queries_however_long_the_history(
    client, lead, tribe, squad, cards
):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("surveys:coach-queue")).status_code == 200
        return len(queries)

    client.force_login(lead)
    for n, days_ago in enumerate((300, 200, 100)):
        rnd = make_past_round(tribe, f"Q{n}", days_ago=days_ago)
        cast(rnd, squad, cards[0], "rrr")
        rnd.close()
        if n == 0:
            first = count()
    assert count() == first
    assert "Red two rounds running on 1 card" in client.get(reverse("surveys:coach-queue")).content.decode()
