"""Running rounds and the deck under /manage/."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from surveys.models import HealthCard, Round, RoundCard, TribeRole
from surveys.services import AnswerInput, ballot_submit

from .factories import add_member, add_tribe_role, make_round, make_user


def local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def round_data(cards, *, title="2027 Q1", opens_in=timedelta(days=30), lasts=timedelta(days=14)) -> dict:
    opens = timezone.now() + opens_in
    return {
        "title": title,
        "opens_at": local(opens),
        "closes_at": local(opens + lasts),
        "cards": [c.pk for c in cards],
    }


@pytest.fixture
def manager(client, lead):
    client.force_login(lead)
    return client


def test_a_lead_creates_a_draft_with_the_active_deck_preselected(manager, tribe, cards):
    cards[3].retired = True
    cards[3].save()
    form = manager.get(reverse("surveys:round-new", args=[tribe.slug])).context["form"]
    assert {c.pk for c in form.initial["cards"]} == {c.pk for c in cards} - {cards[3].pk}
    chosen = [cards[0], cards[1], cards[2], cards[4], cards[5]]
    response = manager.post(reverse("surveys:round-new", args=[tribe.slug]), round_data(chosen))
    rnd = Round.objects.get(title="2027 Q1")
    assert response["Location"] == reverse("surveys:round-detail", args=[rnd.pk])
    assert rnd.state == Round.State.DRAFT
    assert list(rnd.round_cards.values_list("card__name", flat=True)) == [c.name for c in chosen]
    retired = round_data([cards[3]], title="With a retired card")
    assert (
        "not in the deck any more"
        in manager.post(reverse("surveys:round-new", args=[tribe.slug]), retired).content.decode()
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"closes_at": "before"}, "The closing time must be after the opening time."),
        ({"cards": []}, "Choose at least one card."),
        ({"title": ""}, "Give the round a title"),
        ({"title": "Taken"}, "already has a round called Taken"),
        ({"opens_at": "overlap"}, "rounds of a tribe must not overlap"),
    ],
)
def test_bad_rounds_get_a_clear_message_and_nothing_is_written(manager, tribe, cards, change, message):
    make_round(tribe, "Taken", opens_in=timedelta(days=-3), lasts=timedelta(days=7))
    data = round_data(cards)
    if change.get("closes_at") == "before":
        data["closes_at"] = local(timezone.now() + timedelta(days=29))
    elif change.get("opens_at") == "overlap":
        data["opens_at"] = local(timezone.now())
        data["closes_at"] = local(timezone.now() + timedelta(days=1))
    else:
        data.update(change)
    response = manager.post(reverse("surveys:round-new", args=[tribe.slug]), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Round.objects.count() == 1


def test_the_database_refuses_overlapping_scheduled_rounds(tribe):
    make_round(tribe, "First", opens_in=timedelta(days=-1))
    second = make_round(tribe, "Second", state=Round.State.DRAFT, opens_in=timedelta(days=2))
    # Behind the state machine's back, straight to the database: it refuses too.
    for state in ("scheduled", "open", "closed"):
        with pytest.raises(IntegrityError), transaction.atomic():
            Round.objects.filter(pk=second.pk).update(state=state)
    Round.objects.filter(pk=second.pk).update(state="cancelled")  # cancelled rounds are not plans
    make_round(tribe, "A draft may overlap while planned", state=Round.State.DRAFT)


def test_a_draft_is_edited_opened_and_deleted(manager, tribe, cards):
    rnd = make_round(tribe, "Draft", state=Round.State.DRAFT, opens_in=timedelta(days=3))
    data = round_data(cards[:2], title="Renamed", opens_in=timedelta(days=3))
    manager.post(reverse("surveys:round-edit", args=[rnd.pk]), data)
    rnd.refresh_from_db()
    assert rnd.title == "Renamed" and rnd.round_cards.count() == 2
    manager.post(reverse("surveys:round-open", args=[rnd.pk]), {"when": "now"})
    rnd.refresh_from_db()
    assert rnd.state == Round.State.OPEN and rnd.accepts_votes()
    response = manager.post(reverse("surveys:round-delete", args=[rnd.pk]), follow=True)
    assert "Only a draft can be deleted" in response.content.decode()
    assert Round.objects.filter(pk=rnd.pk).exists()
    draft = make_round(tribe, "Gone", state=Round.State.DRAFT)
    manager.post(reverse("surveys:round-delete", args=[draft.pk]))
    assert not Round.objects.filter(pk=draft.pk).exists()


def test_scheduling_keeps_the_opening_time(manager, tribe):
    rnd = make_round(tribe, state=Round.State.DRAFT, opens_in=timedelta(days=3))
    opens_at = rnd.opens_at
    manager.post(reverse("surveys:round-schedule", args=[rnd.pk]))
    rnd.refresh_from_db()
    assert rnd.state == Round.State.SCHEDULED and rnd.voting_status() == "not-yet-open"
    assert rnd.opens_at == opens_at


def test_opening_a_round_that_would_overlap_is_refused(manager, tribe):
    make_round(tribe, "Running")
    draft = make_round(tribe, "Draft", state=Round.State.DRAFT)
    response = manager.post(reverse("surveys:round-open", args=[draft.pk]), {"when": "now"}, follow=True)
    assert "It would overlap Running" in response.content.decode()
    draft.refresh_from_db()
    assert draft.state == Round.State.DRAFT


def test_cards_cannot_change_once_someone_has_voted(manager, open_round, squad, cards):
    add_member(squad, make_user())
    ballot_submit(round=open_round, squad=squad, voter="test:v", answers=[AnswerInput(cards[0].pk, "green")])
    data = round_data(cards[:3], title=open_round.title)
    data["opens_at"], data["closes_at"] = local(open_round.opens_at), local(open_round.closes_at)
    response = manager.post(reverse("surveys:round-edit", args=[open_round.pk]), data)
    assert "cards of this round can no longer change" in response.content.decode()
    assert RoundCard.objects.filter(round=open_round).count() == 11


def test_an_open_round_is_extended_but_never_shortened(manager, open_round):
    later = open_round.closes_at + timedelta(days=3)
    manager.post(reverse("surveys:round-extend", args=[open_round.pk]), {"closes_at": local(later)})
    open_round.refresh_from_db()
    assert local(open_round.closes_at) == local(later)
    response = manager.post(
        reverse("surveys:round-extend", args=[open_round.pk]),
        {"closes_at": local(timezone.now())},
        follow=True,
    )
    assert "must be later than the current one" in response.content.decode()


def test_only_the_tribes_lead_and_coaches_manage_rounds(
    client, tribe, open_round, alice, coach, charlie, cards
):
    outsider_lead = make_user()
    add_tribe_role(charlie.squad_roles.get().squad.tribe, outsider_lead, TribeRole.Role.LEAD)
    urls = [
        ("get", reverse("surveys:round-new", args=[tribe.slug])),
        ("get", reverse("surveys:round-detail", args=[open_round.pk])),
        ("get", reverse("surveys:round-edit", args=[open_round.pk])),
        ("post", reverse("surveys:round-open", args=[open_round.pk])),
        ("post", reverse("surveys:round-extend", args=[open_round.pk])),
        ("post", reverse("surveys:round-delete", args=[open_round.pk])),
        ("post", reverse("surveys:round-close", args=[open_round.pk])),
        ("get", reverse("surveys:deck", args=[tribe.slug])),
        ("post", reverse("surveys:card-change", args=[cards[0].pk])),
    ]
    for person in (alice, coach, outsider_lead):
        client.force_login(person)
        for method, url in urls:
            assert getattr(client, method)(url).status_code == 404, (person, url)
    open_round.refresh_from_db()
    assert open_round.state == Round.State.OPEN


def test_a_tribe_coach_runs_rounds_but_only_the_lead_changes_the_deck(client, tribe, cards):
    tribe_coach = make_user()
    add_tribe_role(tribe, tribe_coach, TribeRole.Role.COACH)
    client.force_login(tribe_coach)
    assert client.get(reverse("surveys:round-new", args=[tribe.slug])).status_code == 200
    assert client.get(reverse("surveys:deck", args=[tribe.slug])).status_code == 404


def test_the_lead_adds_edits_reorders_and_retires_cards(manager, tribe, cards):
    deck_url = reverse("surveys:deck", args=[tribe.slug])
    manager.post(
        deck_url, {"name": "Psychological safety", "awesome": "We speak up.", "crappy": "We keep quiet."}
    )
    card = HealthCard.objects.get(tribe=tribe, name="Psychological safety")
    assert card.position == max(c.position for c in cards) + 1
    response = manager.post(deck_url, {"name": "speed", "awesome": "a", "crappy": "c"})
    assert "already has a card called speed" in response.content.decode()
    manager.post(
        reverse("surveys:card-edit", args=[cards[0].pk]), {"name": "Releasing", "awesome": "a", "crappy": "c"}
    )
    manager.post(reverse("surveys:card-change", args=[cards[1].pk]), {"action": "up"})
    order = list(HealthCard.objects.filter(tribe=tribe).order_by("position").values_list("name", flat=True))
    assert order[:2] == [cards[1].name, "Releasing"]
    manager.post(reverse("surveys:card-change", args=[cards[2].pk]), {"action": "retire"})
    assert HealthCard.objects.get(pk=cards[2].pk).retired


def test_a_used_card_is_never_deleted_and_renaming_keeps_its_history(
    manager, tribe, open_round, squad, cards
):
    add_member(squad, make_user())
    ballot_submit(round=open_round, squad=squad, voter="test:v", answers=[AnswerInput(cards[0].pk, "green")])
    response = manager.post(
        reverse("surveys:card-change", args=[cards[0].pk]), {"action": "delete"}, follow=True
    )
    assert "can only be retired" in response.content.decode()
    manager.post(
        reverse("surveys:card-edit", args=[cards[0].pk]), {"name": "Shipping", "awesome": "a", "crappy": "c"}
    )
    assert cards[0].answers.count() == 1
    assert HealthCard.objects.get(pk=cards[0].pk).name == "Shipping"
    unused = HealthCard.objects.create(tribe=tribe, name="Spare", awesome="a", crappy="c", position=99)
    manager.post(reverse("surveys:card-change", args=[unused.pk]), {"action": "delete"})
    assert not HealthCard.objects.filter(pk=unused.pk).exists()


def test_every_change_is_a_post(manager, open_round, cards):
    for name in ("round-open", "round-extend", "round-delete"):
        assert manager.get(reverse(f"surveys:{name}", args=[open_round.pk])).status_code == 405
    assert manager.get(reverse("surveys:card-change", args=[cards[0].pk])).status_code == 405
