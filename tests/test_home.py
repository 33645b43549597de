from __future__ import annotations

from datetime import timedelta

from django.urls import reverse

from surveys.models import Round
from surveys.services import AnswerInput, ballot_submit

from .factories import add_member, make_round, make_squad, make_tribe, make_user
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


def test_a_lead_sees_each_open_round_per_squad_with_the_next_thing_to_do(
    client, lead, alice, squad, tribe, cards
):
    quiet = make_squad(tribe, "Quiet", members=3)
    add_member(squad, make_user())
    rnd = make_round(tribe, "2026 Q4")
    ballot_submit(
        round=rnd, squad=squad, voter=f"user:{alice.pk}", answers=[AnswerInput(cards[0].pk, "green")]
    )
    client.force_login(lead)
    html = client.get(reverse("surveys:home")).content.decode()
    assert "Payments · 2026 Q4" in html and "0 of 2 squads done" in html
    assert "1 of 2" in html  # Checkout: one ballot of two members
    assert "0 of 3" in html  # Quiet
    assert "No ballot yet from Quiet: run a workshop, or remind them." in html
    assert reverse("surveys:round-detail", args=[rnd.pk]) in html
    assert "alice" not in html  # counts, never names
    assert quiet.name in html


def test_a_squad_coach_sees_their_squad_voting_never_nothing_is_open(client, coach, squad, tribe):
    make_squad(tribe, "Fraud", members=2)  # not theirs: not shown
    rnd = make_round(tribe, "2026 Q4")
    client.force_login(coach)
    html = client.get(reverse("surveys:home")).content.decode()
    assert "Payments · 2026 Q4" in html and "0 of 1 squad done" in html
    assert "Fraud" not in html
    assert "nothing is open" not in html.lower() and "No health check is open" not in html
    assert f'href="{reverse("surveys:manage")}"' in html  # where a squad coach starts a workshop
    assert client.get(reverse("surveys:manage")).status_code == 200
    assert rnd.title in client.get(reverse("surveys:manage")).content.decode()


def test_a_lead_home_runs_a_fixed_number_of_queries(client, lead, tribe, django_assert_num_queries):
    for n in range(3):
        make_squad(tribe, f"Squad {n}", members=2)
        make_round(tribe, f"Open {n}", state=Round.State.SCHEDULED, opens_in=timedelta(days=1 + 20 * n))
    client.force_login(lead)
    # session, user, squad roles, tribe roles; then rounds, squads, finished parts, ballot counts
    with django_assert_num_queries(8):
        client.get(reverse("surveys:home"))


def test_a_squad_done_below_the_minimum_shows_fewer_than_k_not_its_count(client, lead, squad, tribe, cards):
    from surveys.models import RoundSquad

    for _ in range(4):
        add_member(squad, make_user())
    rnd = make_round(tribe, "2026 Q4")
    ballot_submit(round=rnd, squad=squad, voter="x:1", answers=[AnswerInput(cards[0].pk, "green")])
    RoundSquad.objects.filter(round=rnd, squad=squad).get().close()
    client.force_login(lead)
    html = client.get(reverse("surveys:home")).content.decode()
    assert "fewer than 3 of 4" in html and "1 of 4" not in html


def test_a_member_who_coaches_elsewhere_is_not_told_nothing_is_open(client, alice, tribe, db):
    other = make_tribe("Platform")
    coached = make_squad(other, "Infra", members=2)
    add_member(coached, alice, "coach")
    make_round(other, "2026 Q4")
    client.force_login(alice)
    html = client.get(reverse("surveys:home")).content.decode()
    assert "Platform · 2026 Q4" in html and "No health check is open" not in html
