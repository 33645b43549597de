from __future__ import annotations

from datetime import timedelta

from django.urls import reverse

from surveys.models import Round
from surveys.services import AnswerInput, ballot_submit

from .factories import add_member, make_round, make_squad, make_tribe
from .test_vote import vote_url


def test_it_requires_sign_in(client, db):
    response = client.get(reverse("surveys:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_lists_open_rounds_with_my_progress(client, alice, squad, tribe, cards):
    rnd = make_round(tribe, "2026 Q4")
    answers = [AnswerInput(card_id=c.pk, colour="green") for c in cards[:7]]
    ballot_submit(round=rnd, squad=squad, voter=f"user:{alice.pk}", answers=answers)
    make_round(tribe, "Still a draft", state=Round.State.DRAFT)
    make_round(tribe, "Long gone", state=Round.State.CLOSED, opens_in=timedelta(days=-60))

    client.force_login(alice)
    response = client.get(reverse("surveys:home"))
    assert b"2026 Q4 \xc2\xb7 Checkout" in response.content
    assert b"answered 7 of 11" in response.content
    assert vote_url(rnd, squad).encode() in response.content
    assert b"Still a draft" not in response.content
    assert b"Long gone" not in response.content


def test_it_shows_progress_per_squad_for_people_in_two_squads(client, alice, squad, tribe):
    second = make_squad(tribe, "Fraud")
    add_member(second, alice)
    rnd = make_round(tribe, "2026 Q4")
    client.force_login(alice)
    response = client.get(reverse("surveys:home"))
    assert vote_url(rnd, squad).encode() in response.content
    assert vote_url(rnd, second).encode() in response.content


def test_it_shows_nothing_of_another_tribe(client, charlie, open_round):
    client.force_login(charlie)
    response = client.get(reverse("surveys:home"))
    assert open_round.title.encode() not in response.content
    assert b"No health check is open for your squads right now." in response.content


def test_it_runs_a_fixed_number_of_queries(client, alice, squad, tribe, django_assert_num_queries):
    for n in range(3):
        other = make_tribe(f"Tribe {n}")
        make_round(other, f"Open {n}")
        add_member(make_squad(other), alice)
    client.force_login(alice)
    # session, user, squad roles, tribe roles, rounds, squads already finished, own ballots
    with django_assert_num_queries(7):
        client.get(reverse("surveys:home"))
