"""Action items: who may change them, what they show, and bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from surveys.models import ActionItem
from surveys.services import action_create

from .factories import add_member, cast, make_past_round, make_squad, make_user


def new_url(squad) -> str:
    return reverse("surveys:action-new", args=[squad.slug])


def action_url(name: str, action: ActionItem) -> str:
    return reverse(f"surveys:action-{name}", args=[action.squad.slug, action.pk])


@pytest.fixture
def action(squad, cards, alice):
    return action_create(squad=squad, card=cards[0], title="Automate releases", created_by=alice)


def test_a_member_adds_an_action_from_a_card(client, alice, bob, squad, cards):
    client.force_login(alice)
    form = client.get(new_url(squad) + f"?card={cards[2].pk}")
    assert form.context["form"].initial["card"] == str(cards[2].pk)
    due = timezone.localdate() + timedelta(days=14)
    response = client.post(
        new_url(squad),
        {"card": cards[2].pk, "title": "Pair on tests", "owner": bob.pk, "due_date": due},
        follow=True,
    )
    assert b"Action added: Pair on tests" in response.content
    action = ActionItem.objects.get()
    assert (action.card, action.owner, action.due_date, action.created_by) == (cards[2], bob, due, alice)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("title", "   ", "Give the action a title."),
        ("due_date", "past", "The due date cannot be in the past."),
        ("owner", "charlie", "Choose someone from this squad, or nobody."),
        ("card", "other-tribe", "Choose one of this squad"),
    ],
)
def test_bad_input_is_refused_with_a_message(client, alice, squad, cards, charlie, field, value, message):
    data = {"card": cards[0].pk, "title": "Fix the pipeline", "owner": "", "due_date": ""}
    data[field] = {
        "past": timezone.localdate() - timedelta(days=1),
        "charlie": charlie.pk,
        "other-tribe": charlie.squad_roles.get().squad.tribe.cards.first().pk,
    }.get(value, value)
    client.force_login(alice)
    response = client.post(new_url(squad), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert "Fix the pipeline" in response.content.decode() or field == "title"  # what was typed is kept
    assert not ActionItem.objects.exists()


def test_an_outsider_gets_404_everywhere(client, action, charlie):
    client.force_login(charlie)
    assert client.get(new_url(action.squad)).status_code == 404
    for name in ("edit", "done", "delete"):
        assert client.post(action_url(name, action), {"title": "Hijacked"}).status_code == 404
    action.refresh_from_db()
    assert (action.title, action.done) == ("Automate releases", False)


def test_a_member_of_another_squad_cannot_edit(client, action, tribe):
    neighbour = make_user()
    add_member(make_squad(tribe, "Fraud"), neighbour)
    client.force_login(neighbour)
    assert (
        client.post(action_url("edit", action), {"card": action.card_id, "title": "Changed"}).status_code
        == 404
    )
    assert client.post(action_url("done", action)).status_code == 404
    action.refresh_from_db()
    assert action.title == "Automate releases" and not action.done


def test_an_action_of_another_squad_is_not_found_through_this_squad(client, action, tribe, alice):
    other = make_squad(tribe, "Fraud")
    add_member(other, alice)
    client.force_login(alice)
    wrong = reverse("surveys:action-edit", args=[other.slug, action.pk])
    assert client.get(wrong).status_code == 404


def test_members_and_coaches_edit_and_complete(client, action, bob, coach):
    client.force_login(bob)
    client.post(action_url("edit", action), {"card": action.card_id, "title": "Automate all releases"})
    client.force_login(coach)
    client.post(action_url("done", action), {"done": "1"})
    action.refresh_from_db()
    assert action.title == "Automate all releases" and action.done
    client.post(action_url("done", action), {"done": "0"})
    action.refresh_from_db()
    assert not action.done


def test_people_delete_only_their_own(client, action, alice, bob):
    client.force_login(bob)
    assert client.post(action_url("delete", action)).status_code == 403
    assert ActionItem.objects.exists()
    client.force_login(alice)
    client.post(action_url("delete", action))
    assert not ActionItem.objects.exists()


def test_state_changes_need_post(client, action, alice):
    client.force_login(alice)
    assert client.get(action_url("done", action)).status_code == 405
    assert client.get(action_url("delete", action)).status_code == 405


def test_the_squad_page_shows_the_cards_movement_since_the_action(client, tribe, squad, cards, alice):
    before = make_past_round(tribe, "Q2", days_ago=120)
    cast(before, squad, cards[0], "yyy")
    before.close()
    action = action_create(squad=squad, card=cards[0], title="Automate releases", created_by=alice)
    assert action.baseline_round == before
    client.force_login(alice)
    html = client.get(reverse("surveys:squad", args=[squad.slug])).content.decode()
    assert "Automate releases" in html and "no newer round to compare yet" in html
    after = make_past_round(tribe, "Q3", days_ago=30)
    cast(after, squad, cards[0], "ggg")
    after.close()
    html = client.get(reverse("surveys:squad", args=[squad.slug]) + f"?round={before.pk}").content.decode()
    # Open actions stay visible whichever round is shown.
    assert "Easy to release: yellow → green since this action" in html


def test_overdue_actions_are_marked(client, squad, cards, alice):
    ActionItem.objects.create(
        squad=squad, card=cards[0], title="Late", due_date=timezone.localdate() - timedelta(days=2)
    )
    ActionItem.objects.create(
        squad=squad,
        card=cards[0],
        title="Late but done",
        done=True,
        due_date=timezone.localdate() - timedelta(days=2),
    )
    client.force_login(alice)
    html = client.get(reverse("surveys:squad", args=[squad.slug])).content.decode()
    assert html.count("Overdue</span>") == 1
    assert ActionItem.objects.overdue().count() == 1


def test_staff_may_read_actions_but_changing_them_is_a_404(client, action):
    staff = make_user(is_staff=True)
    client.force_login(staff)
    assert client.get(reverse("surveys:squad", args=[action.squad.slug])).status_code == 200
    assert client.post(action_url("done", action)).status_code == 404


def test_a_new_action_appears_on_the_card_it_was_added_from(client, alice, bob, tribe, squad, cards):
    bob.first_name, bob.last_name = "Bob", "Berg"
    bob.save()
    older = make_past_round(tribe, "Q2", days_ago=120)
    cast(older, squad, cards[2], "ggg")
    older.close()
    latest = make_past_round(tribe, "Q3", days_ago=30)
    cast(latest, squad, cards[2], "gyr")
    latest.close()
    client.force_login(alice)
    # Added from the card while an older round was on screen: back to that round and that card.
    response = client.post(
        new_url(squad) + f"?card={cards[2].pk}&round={older.pk}",
        {"card": cards[2].pk, "title": "Pair on tests", "owner": bob.pk, "due_date": ""},
    )
    page = reverse("surveys:squad", args=[squad.slug])
    assert response.url == f"{page}?round={older.pk}#card-{cards[2].pk}"
    html = client.get(response.url).content.decode()
    card = html[html.index(f'id="card-{cards[2].pk}"') :]
    card = card[: card.index("</section>")]
    assert "Pair on tests" in card and "Bob Berg" in card  # on its card, by the owner's full name
    # A round that is not the squad's goes back to the list instead.
    other = client.post(
        new_url(squad) + "?round=999999",
        {"card": cards[1].pk, "title": "Shorter stand-ups", "owner": "", "due_date": ""},
    )
    assert other.url.startswith(f"{page}#action-")


@pytest.mark.parametrize("odd", ["\u00b2", "9" * 30, "-1", "1e3"])
def test_an_odd_round_in_the_address_still_saves_once_and_goes_back_to_the_list(
    client, alice, squad, cards, odd
):
    client.force_login(alice)
    response = client.post(
        new_url(squad) + f"?round={odd}",
        {"card": cards[1].pk, "title": "Shorter stand-ups", "owner": "", "due_date": ""},
    )
    assert response.status_code == 302 and "#action-" in response.url
    assert ActionItem.objects.count() == 1
