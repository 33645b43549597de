"""The live workshop: who may open it, the state its views poll, reveal, agreement and finishing."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from surveys.models import ActionItem, Answer, Result, RoundSquad, Workshop
from surveys.services import AnswerInput, ballot_submit, workshop_start, workshop_step

from .factories import add_member, cast, make_squad, make_tribe, make_user


@pytest.fixture
def members(squad):
    people = [make_user(f"member{n}") for n in range(4)]
    for person in people:
        add_member(squad, person)
    return people


@pytest.fixture
def workshop(open_round, squad, lead, members):
    part, _ = RoundSquad.objects.get_or_create(round=open_round, squad=squad)
    return workshop_start(
        round=part.round, squad=part.squad, started_by=lead, flow="live", kind="signin", card_seconds=300
    )


def control(client: Client, workshop: Workshop, step: str, **data):
    return client.post(reverse("surveys:workshop-control", args=[workshop.pk]), {"step": step, **data})


def phone(person, workshop: Workshop) -> Client:
    client = Client()
    client.force_login(person)
    assert client.get(reverse("surveys:workshop-phone", args=[workshop.pk])).status_code == 200
    return client


def vote(client: Client, workshop: Workshop, colour: str, trend: str = "stable"):
    workshop.refresh_from_db()
    return client.post(
        reverse("surveys:workshop-phone", args=[workshop.pk]),
        {"card": workshop.current_card_id, "colour": colour, "trend": trend},
    )


def state_path(client: Client, url: str) -> str:
    html = client.get(url).content.decode()
    return re.search(r'hx-get="([^"]+)"', html).group(1).replace("&amp;", "&")


def test_a_supporter_starts_a_workshop_from_the_round_page(client, lead, open_round, squad, members):
    client.force_login(lead)
    RoundSquad.objects.get_or_create(round=open_round, squad=squad)
    response = client.post(
        reverse("surveys:workshop-new", args=[open_round.pk]),
        {"squad": squad.slug, "flow": "live", "kind": "signin", "minutes": 4},
    )
    workshop = Workshop.objects.get()
    assert response["Location"] == reverse("surveys:workshop", args=[workshop.pk])
    assert workshop.card_seconds == 240 and workshop.link.kind == "signin"
    lobby = client.get(response["Location"]).content.decode()
    assert "<svg" in lobby and "0 joined" in lobby


def test_only_supporters_facilitate_and_outsiders_get_404_everywhere(
    client, workshop, members, coach, charlie
):
    urls = [reverse(f"surveys:{name}", args=[workshop.pk]) for name in ("workshop", "workshop-screen")]
    for person, expected in ((coach, [200, 200]), (members[0], [404, 200]), (charlie, [404, 404])):
        client.force_login(person)
        assert [client.get(url).status_code for url in urls] == expected, person
    client.force_login(charlie)
    assert client.get(reverse("surveys:workshop-phone", args=[workshop.pk])).status_code == 404
    assert control(client, workshop, "start").status_code == 404
    client.force_login(coach)  # a supporter does not vote from a phone
    assert client.get(reverse("surveys:workshop-phone", args=[workshop.pk])).status_code == 404


def test_the_sign_in_link_of_a_running_workshop_leads_to_the_phone_view(client, workshop, members):
    client.force_login(members[0])
    response = client.get(reverse("surveys:join", args=[workshop.link.token]))
    assert response["Location"] == reverse("surveys:workshop-phone", args=[workshop.pk])


def test_phones_vote_card_by_card_and_the_reveal_needs_k(client, lead, workshop, members):
    client.force_login(lead)
    control(client, workshop, "start")
    phones = [phone(person, workshop) for person in members]
    state = state_path(client, reverse("surveys:workshop-screen", args=[workshop.pk]))
    vote(phones[0], workshop, "red")
    vote(phones[1], workshop, "green")
    control(client, workshop, "reveal")
    below = client.get(state).content.decode()
    assert "2 of 4 voted" in below and "Fewer than 3 answered this card" in below
    assert "<strong>" not in below  # no counts of colours below k
    control(client, workshop, "next")
    for each, colour in zip(phones[:3], ("red", "green", "green"), strict=True):
        vote(each, workshop, colour, "improving")
    control(client, workshop, "reveal")
    above = client.get(state).content.decode()
    assert "3 of 4 voted" in above and re.search(r"Green</span> <strong>2</strong>", above)
    # The facilitator's form is pre-filled with the majority colour and the median trend.
    page = client.get(reverse("surveys:workshop", args=[workshop.pk])).content.decode()
    checked = re.findall(r'<input[^>]*name="(colour|trend)"[^>]*value="(\w*)"[^>]*checked', page)
    assert checked == [("colour", "green"), ("trend", "improving")]


def test_the_workshop_reveals_by_itself_once_everyone_who_joined_has_voted(client, lead, workshop, members):
    client.force_login(lead)
    control(client, workshop, "start")
    phones = [phone(person, workshop) for person in members[:3]]
    state = state_path(client, reverse("surveys:workshop-screen", args=[workshop.pk]))
    for each, colour in zip(phones, ("green", "green", "yellow"), strict=True):
        assert "Green</span> <strong>" not in client.get(state).content.decode()
        vote(each, workshop, colour)
    assert re.search(r"Green</span> <strong>2</strong>", client.get(state).content.decode())


def test_a_phone_changes_only_the_current_card_of_its_ballot(
    client, lead, workshop, members, open_round, squad, cards
):
    ballot_submit(
        round=open_round,
        squad=squad,
        voter=f"user:{members[0].pk}",
        answers=[AnswerInput(c.pk, "yellow") for c in cards],
    )
    client.force_login(lead)
    control(client, workshop, "start")
    phone(members[1], workshop)  # two phones joined, one has voted: not revealed yet
    vote(phone(members[0], workshop), workshop, "red")
    assert sorted(Answer.objects.values_list("colour", flat=True)) == ["red"] + ["yellow"] * (len(cards) - 1)


def test_an_answer_for_a_card_the_workshop_has_left_is_refused(client, lead, workshop, members, cards):
    client.force_login(lead)
    control(client, workshop, "start")
    mine = phone(members[0], workshop)
    stale = workshop.current_card_id
    control(client, workshop, "next")
    response = mine.post(
        reverse("surveys:workshop-phone", args=[workshop.pk]), {"card": stale, "colour": "red", "trend": ""}
    )
    assert response.status_code == 409 and not Answer.objects.exists()


def test_polling_answers_304_when_nothing_changed_with_one_query(client, lead, workshop, members):
    client.force_login(lead)
    control(client, workshop, "start")
    state = state_path(client, reverse("surveys:workshop-screen", args=[workshop.pk]))
    poller = Client()  # the state address is signed: no session or user is read
    first = poller.get(state)
    assert first.status_code == 200 and first["ETag"]
    with CaptureQueriesContext(connection) as queries:
        again = poller.get(state, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and len(queries) == 1
    vote(phone(members[0], workshop), workshop, "green")
    assert poller.get(state, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200
    assert Client().get(state.replace("/state/", "/state/x")).status_code == 404


def test_a_phone_reloads_when_the_facilitator_moves_on(client, lead, workshop, members):
    client.force_login(lead)
    control(client, workshop, "start")
    mine = Client()
    mine.force_login(members[0])
    url = state_path(mine, reverse("surveys:workshop-phone", args=[workshop.pk]))
    assert "HX-Refresh" not in mine.get(url)
    control(client, workshop, "next")
    assert mine.get(url)["HX-Refresh"] == "true"


def test_agreed_colours_are_frozen_and_shown_first(client, lead, workshop, members, squad, cards, tribe):
    client.force_login(lead)
    control(client, workshop, "start")
    for person, colour in zip(members[:3], ("green", "green", "red"), strict=True):
        vote(phone(person, workshop), workshop, colour)
    control(client, workshop, "reveal")
    control(client, workshop, "agree", colour="yellow", trend="improving", note="Green for most, red for ops")
    control(client, workshop, "action", title="Pair with ops on releases")
    response = control(client, workshop, "finish")
    assert response["Location"].startswith(reverse("surveys:squad", args=[squad.slug]))
    result = Result.objects.get(squad=squad, card=workshop.current_card)
    assert (result.agreed_colour, result.agreed_trend, result.greens, result.reds) == (
        "yellow",
        "improving",
        2,
        1,
    )
    assert ActionItem.objects.get().card == workshop.current_card
    page = client.get(response["Location"]).content.decode()
    assert "Green for most, red for ops" in page and page.index("agreed") < page.index("2 green")
    board = client.get(
        reverse("surveys:tribe-dashboard", args=[tribe.slug]) + f"?round={workshop.part.round_id}"
    )
    assert "cell-agreed" in board.content.decode()
    workshop.refresh_from_db()
    assert workshop.state == "finished" and workshop.part.state == "closed"


def test_survey_first_walks_the_cards_in_order_of_disagreement(open_round, squad, lead, members, cards):
    cast(open_round, squad, cards[3], "ggrr")  # the widest spread
    cast(open_round, squad, cards[5], "ggy")
    cast(open_round, squad, cards[0], "ggg")
    part = RoundSquad.objects.get(round=open_round, squad=squad)
    workshop = workshop_start(
        round=part.round, squad=part.squad, started_by=lead, flow="survey", kind="open", card_seconds=120
    )
    assert workshop.card_order[0] == cards[0].pk  # the order is worked out when the workshop starts
    workshop = workshop_step(workshop=workshop, step="start")
    assert workshop.card_order[:2] == [cards[3].pk, cards[5].pk]


def test_a_squad_of_another_tribe_has_no_workshop_here(client, lead, open_round):
    other = make_squad(make_tribe("Elsewhere"), "Far")
    client.force_login(lead)
    response = client.post(
        reverse("surveys:workshop-new", args=[open_round.pk]),
        {"squad": other.slug, "flow": "live", "kind": "signin", "minutes": 5},
    )
    assert response.status_code == 302 and not Workshop.objects.exists()


def test_votes_on_a_revealed_card_stay_as_they_are(client, lead, workshop, members):
    """Counts on the screen never change one vote at a time after the reveal."""
    client.force_login(lead)
    control(client, workshop, "start")
    phones = [phone(person, workshop) for person in members]
    for each in phones[:3]:
        vote(each, workshop, "green")
    control(client, workshop, "reveal")
    assert vote(phones[3], workshop, "red").status_code == 409
    assert vote(phones[0], workshop, "red").status_code == 409
    assert sorted(Answer.objects.values_list("colour", flat=True)) == ["green"] * 3


def test_a_workshop_ends_with_its_squads_part(client, lead, workshop, members, open_round, squad):
    client.force_login(lead)
    control(client, workshop, "start")
    RoundSquad.objects.get(round=open_round, squad=squad).close()
    control(client, workshop, "agree", colour="green", trend="", note="")
    assert not workshop.agreed.exists()
    page = client.get(reverse("surveys:workshop", args=[workshop.pk])).content.decode()
    assert "Finished" in page or "finished" in page


def test_a_guest_votes_only_through_this_workshops_own_live_link(open_round, squad, lead, members, tribe):
    from surveys.models import InviteLink
    from surveys.services import invite_create

    open_workshop = workshop_start(
        round=open_round, squad=squad, started_by=lead, flow="live", kind="open", card_seconds=300
    )
    other_squad = make_squad(tribe, "Fraud", members=3)
    other_link = invite_create(
        round=open_round, squad=other_squad, created_by=lead, kind=InviteLink.Kind.OPEN
    )
    stranger = Client()  # a guest of another squad's link
    stranger.get(reverse("surveys:join", args=[other_link.token]))
    assert stranger.get(reverse("surveys:workshop-phone", args=[open_workshop.pk])).status_code == 404
    guest = Client()
    assert guest.get(reverse("surveys:join", args=[open_workshop.link.token]))["Location"] == reverse(
        "surveys:workshop-phone", args=[open_workshop.pk]
    )
    facilitator = Client()
    facilitator.force_login(lead)
    control(facilitator, open_workshop, "start")
    assert vote(guest, open_workshop, "green").status_code == 302
    open_workshop.link.refresh_from_db()
    assert open_workshop.link.used == 1  # results will say a ballot came through the open link
    InviteLink.objects.filter(pk=open_workshop.link.pk).update(revoked=True)
    assert guest.get(reverse("surveys:workshop-phone", args=[open_workshop.pk])).status_code == 404


def test_a_phone_in_the_workshop_has_the_language_switcher_and_speaks_swedish(
    client, lead, workshop, members
):
    client.force_login(lead)
    control(client, workshop, "start")
    person = phone(members[0], workshop)
    page = person.get(reverse("surveys:workshop-phone", args=[workshop.pk])).content.decode()
    assert 'action="/language/"' in page and ">Svenska<" in page
    person.post(reverse("surveys:language"), {"language": "sv", "next": "/"})
    swedish = person.get(reverse("surveys:workshop-phone", args=[workshop.pk])).content.decode()
    assert "Hur är det? Tryck på en färg för att rösta" in swedish and "Kort 1 av 11" in swedish
    vote(person, workshop, "green")
    voted = person.get(reverse("surveys:workshop-phone", args=[workshop.pk])).content.decode()
    assert "Din röst: grön." in voted
