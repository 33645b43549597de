"""Pages show every change at once: nothing they draw is cached, and access is checked first."""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from surveys.models import SquadRole

from .factories import cast, make_past_round, make_round, make_user
from .test_vote import ballot_data, vote_url


def dashboard(tribe) -> str:
    return reverse("surveys:tribe-dashboard", args=[tribe.slug])


def closed_round(tribe, squad, cards, title="2026 Q3", days_ago=30):
    rnd = make_past_round(tribe, title, days_ago=days_ago)
    cast(rnd, squad, cards[0], "ggg")
    rnd.close()
    return rnd


def test_renaming_a_card_shows_at_once(client, lead, tribe, squad, cards):
    closed_round(tribe, squad, cards)
    client.force_login(lead)
    assert cards[0].name in client.get(dashboard(tribe)).content.decode()
    client.post(
        reverse("surveys:card-edit", args=[cards[0].pk]), {"name": "Shipping", "awesome": "a", "crappy": "c"}
    )
    html = client.get(dashboard(tribe)).content.decode()
    assert "Shipping" in html and f">{cards[0].name}<" not in html


def test_closing_a_round_shows_it_at_once(client, lead, tribe, squad, cards):
    closed_round(tribe, squad, cards, "Older", days_ago=120)
    client.force_login(lead)
    assert "Older, closed" in client.get(dashboard(tribe)).content.decode()
    rnd = make_round(tribe, "Newest")
    cast(rnd, squad, cards[0], "rrr")
    client.post(reverse("surveys:round-close", args=[rnd.pk]))
    assert "Newest, closed" in client.get(dashboard(tribe)).content.decode()


def test_a_round_past_its_closing_time_closes_on_the_next_view_even_when_cached(
    client, lead, tribe, squad, cards, monkeypatch
):
    client.force_login(lead)
    rnd = make_round(tribe, "Running")
    assert "Running is open until" in client.get(dashboard(tribe)).content.decode()
    later = rnd.closes_at + timedelta(minutes=1)
    monkeypatch.setattr(timezone, "now", lambda: later)  # nothing changes but the time
    assert "Running, closed" in client.get(dashboard(tribe)).content.decode()
    rnd.refresh_from_db()
    assert rnd.state == "closed"


def test_access_is_checked_before_any_cached_part(client, alice, tribe, squad, cards):
    closed_round(tribe, squad, cards)
    client.force_login(alice)
    assert client.get(dashboard(tribe)).status_code == 200
    SquadRole.objects.filter(user=alice).delete()
    assert client.get(dashboard(tribe)).status_code == 404


def test_the_voting_page_shows_the_ballot_just_saved(client, alice, open_round, squad, cards):
    client.force_login(alice)
    assert client.get(vote_url(open_round, squad)).content.count(b'value="red" checked') == 0
    client.post(vote_url(open_round, squad), ballot_data(cards, "red"))
    assert client.get(vote_url(open_round, squad)).content.count(b'value="red" checked') == 11


def test_two_voters_share_markup_but_never_answers_or_tokens(client, alice, bob, open_round, squad, cards):
    client.force_login(alice)
    client.post(vote_url(open_round, squad), ballot_data(cards, "red", comment="Alice only"))
    first = client.get(vote_url(open_round, squad)).content.decode()
    client.force_login(bob)
    second = client.get(vote_url(open_round, squad)).content.decode()
    assert "Alice only" in first and "Alice only" not in second
    assert "csrf-placeholder" not in first + second


def test_action_items_are_never_stale(client, alice, tribe, squad, cards):
    closed_round(tribe, squad, cards)
    client.force_login(alice)
    client.get(reverse("surveys:squad", args=[squad.slug]))
    client.post(
        reverse("surveys:action-new", args=[squad.slug]), {"card": cards[0].pk, "title": "Fresh action"}
    )
    assert "Fresh action" in client.get(reverse("surveys:squad", args=[squad.slug])).content.decode()


def test_an_admin_rename_of_a_squad_shows_at_once(client, lead, tribe, squad, cards):
    closed_round(tribe, squad, cards)
    client.force_login(lead)
    client.get(dashboard(tribe))
    staff = make_user(is_staff=True, is_superuser=True)
    admin_client = type(client)()
    admin_client.force_login(staff)
    admin_client.post(
        reverse("admin:surveys_squad_change", args=[squad.pk]),
        {"tribe": tribe.pk, "name": "Renamed squad", "slug": squad.slug, "position": 0},
    )
    assert "Renamed squad" in client.get(dashboard(tribe)).content.decode()
