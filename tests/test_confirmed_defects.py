"""Defects confirmed in review, one test each (each failed before its fix)."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from surveys.models import ActionItem, AuditEvent, Ballot, Round

from .factories import add_member, cast, make_past_round, make_round, make_squad, make_tribe, make_user
from .test_vote import ballot_data, vote_url


def test_a_join_token_with_unicode_digits_is_a_clear_404(db):
    response = Client().get(f"/join/²{'A' * 43}/")
    assert response.status_code == 404
    response = Client().get(f"/join/²{'.' + 'A' * 43}/")
    assert response.status_code == 404


def test_a_vote_for_a_round_id_too_large_for_the_database_is_a_404(client, alice, squad, cards):
    client.force_login(alice)
    url = f"/rounds/{'9' * 20}/squads/{squad.slug}/vote/"
    assert client.post(url, ballot_data(cards)).status_code == 404
    assert client.get(url).status_code == 404


def test_a_card_answered_twice_in_one_ballot_is_refused(client, alice, squad, cards, open_round):
    client.force_login(alice)
    body = f"card-{cards[0].pk}-colour=green&card-{cards[0].pk}-colour=red"
    response = client.post(
        vote_url(open_round, squad), body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200 and b"gives one card two answers" in response.content
    assert not Ballot.objects.exists()


def test_a_refused_card_delete_is_not_audited_as_a_delete(client, lead, tribe, cards, open_round):
    client.force_login(lead)
    response = client.post(
        reverse("surveys:card-change", args=[cards[0].pk]), {"action": "delete"}, follow=True
    )
    assert b"can only be retired" in response.content
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.DECK_CHANGED).exists()


def test_the_squad_page_shows_participation(client, alice, tribe, squad, cards):
    for _ in range(3):
        add_member(squad, make_user())
    rnd = make_past_round(tribe)
    cast(rnd, squad, cards[0], "ggy")
    rnd.close()
    client.force_login(alice)
    html = client.get(reverse("surveys:squad", args=[squad.slug])).content.decode()
    assert "3 of 4 members voted (75%)." in html


def test_the_history_text_alternative_carries_the_scores(client, alice, tribe, squad, cards):
    for title, days_ago, votes in (("Q2", 120, "ggg"), ("Q3", 30, "gyr")):
        rnd = make_past_round(tribe, title, days_ago=days_ago)
        cast(rnd, squad, cards[0], votes)
        rnd.close()
    client.force_login(alice)
    html = client.get(reverse("surveys:squad", args=[squad.slug])).content.decode()
    assert "Score by round: Q2 2.00, Q3 1.00." in html


def test_a_scheduled_round_is_announced_as_scheduled(client, lead, tribe, cards):
    rnd = make_round(tribe, "Next", state=Round.State.SCHEDULED, opens_in=timedelta(days=3))
    client.force_login(lead)
    html = client.get(reverse("surveys:tribe-dashboard", args=[tribe.slug])).content.decode()
    assert f"{rnd.title} is scheduled to open on" in html and "is open until" not in html


def test_overlap_errors_use_the_local_time(client, lead, tribe, cards, settings):
    settings.TIME_ZONE = "Europe/Stockholm"
    with timezone.override("Europe/Stockholm"):
        running = make_round(tribe, "Running")
        client.force_login(lead)
        local = timezone.localtime(running.closes_at)
        data = {
            "title": "Clash",
            "opens_at": (local - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
            "closes_at": (local + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M"),
            "cards": [c.pk for c in cards],
        }
        html = client.post(reverse("surveys:round-new", args=[tribe.slug]), data).content.decode()
    assert f"to {local:%a} {local.day} {local:%b %Y, %H:%M} CE" in html  # CET or CEST, never UTC


def test_an_action_on_a_retired_card_can_still_be_edited(client, alice, tribe, squad, cards):
    action = ActionItem.objects.create(squad=squad, card=cards[0], title="Automate releases")
    cards[0].retired = True
    cards[0].save()
    client.force_login(alice)
    url = reverse("surveys:action-edit", args=[squad.slug, action.pk])
    response = client.post(url, {"card": cards[0].pk, "title": "Automate all releases"})
    assert response.status_code == 302
    action.refresh_from_db()
    assert action.title == "Automate all releases" and action.card == cards[0]
    # A new action still cannot pick a retired card.
    new = client.post(
        reverse("surveys:action-new", args=[squad.slug]), {"card": cards[0].pk, "title": "More"}
    )
    assert b"Choose one of this squad" in new.content


def test_changing_a_squad_in_the_admin_shows_on_the_dashboard_at_once(client, tribe, squad, cards, lead):
    other = make_tribe("Discovery")
    mover = make_squad(tribe, "Mover", members=3)
    rnd = make_past_round(tribe)
    cast(rnd, mover, cards[0], "ggg")
    rnd.close()
    client.force_login(lead)
    dashboard = reverse("surveys:tribe-dashboard", args=[tribe.slug])
    assert ">Mover<" in client.get(dashboard).content.decode()
    staff = Client()
    staff.force_login(make_user("staff", is_staff=True, is_superuser=True))
    staff.post(
        reverse("admin:surveys_squad_change", args=[mover.pk]),
        {"tribe": other.pk, "name": "Shaker", "slug": "mover", "position": 0},
    )
    html = client.get(dashboard).content.decode()
    # The old tribe's history keeps the squad's frozen results, under its name of today.
    assert ">Shaker<" in html and ">Mover<" not in html
