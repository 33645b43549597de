from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from surveys.models import Answer, Ballot, Round
from surveys.services import AnswerInput, BallotRejected, ballot_submit

from .factories import make_round, make_squad


def vote_url(rnd: Round, squad) -> str:
    return reverse("surveys:vote", args=[rnd.pk, squad.slug])


def ballot_data(cards, colour: str = "green", trend: str = "stable", comment: str = "") -> dict:
    data = {}
    for card in cards:
        data[f"card-{card.pk}-colour"] = colour
        data[f"card-{card.pk}-trend"] = trend
        data[f"card-{card.pk}-comment"] = comment
    return data


def stored_answers() -> list[tuple[int, str, str, str]]:
    return sorted(Answer.objects.values_list("card_id", "colour", "trend", "comment"))


@pytest.fixture
def voter(client, alice):
    client.force_login(alice)
    return client


def test_it_shows_every_card_with_its_examples(voter, open_round, squad, cards):
    response = voter.get(vote_url(open_round, squad))
    assert response.status_code == 200
    for card in cards:
        assert card.name.encode() in response.content
        assert card.awesome.encode() in response.content
        assert card.crappy.encode() in response.content
    assert b"answered <span data-answered-count>0</span> of 11" in response.content
    # Each colour carries a word as well as a colour.
    assert b"Green" in response.content and b"Needs support" in response.content


def test_it_saves_a_whole_ballot(voter, open_round, squad, cards):
    response = voter.post(
        vote_url(open_round, squad), ballot_data(cards, comment=" Deploys hurt "), follow=True
    )
    assert response.redirect_chain[-1][0] == vote_url(open_round, squad)
    assert b"Your ballot is saved: answered 11 of 11." in response.content
    assert b"answered <span data-answered-count>11</span> of 11" in response.content
    assert Ballot.objects.count() == 1
    assert Answer.objects.count() == 11
    assert set(Answer.objects.values_list("comment", flat=True)) == {"Deploys hurt"}


def test_a_replayed_post_leaves_one_ballot(voter, open_round, squad, cards):
    data = ballot_data(cards)
    voter.post(vote_url(open_round, squad), data)
    voter.post(vote_url(open_round, squad), data)
    assert Ballot.objects.count() == 1
    assert Answer.objects.count() == 11


def test_it_shows_and_edits_the_ballot_until_close(voter, open_round, squad, cards):
    voter.post(vote_url(open_round, squad), ballot_data(cards, "green", "stable"))
    response = voter.get(vote_url(open_round, squad))
    assert response.content.count(b'value="green" checked') == 11

    voter.post(vote_url(open_round, squad), ballot_data(cards, "red", "worse", "Worse now"))
    assert Ballot.objects.count() == 1
    assert {(c, t, m) for _, c, t, m in stored_answers()} == {("red", "worse", "Worse now")}


def test_two_members_cast_two_ballots(client, open_round, squad, cards, alice, bob):
    for user in (alice, bob):
        client.force_login(user)
        client.post(vote_url(open_round, squad), ballot_data(cards))
    assert Ballot.objects.filter(round=open_round, squad=squad).count() == 2


def test_an_incomplete_ballot_keeps_what_was_answered(voter, open_round, squad, cards):
    data = ballot_data(cards[:3], "yellow", "")
    response = voter.post(vote_url(open_round, squad), data, follow=True)
    assert b"answered 3 of 11" in response.content
    assert b"Still to answer: " + cards[3].name.encode() in response.content
    assert b"No trend chosen yet for: " + cards[0].name.encode() in response.content
    assert [a[0] for a in stored_answers()] == sorted(c.pk for c in cards[:3])


def test_an_empty_ballot_is_refused(voter, open_round, squad):
    response = voter.post(vote_url(open_round, squad), {})
    assert b"Choose a colour for at least one card before saving." in response.content
    assert Ballot.objects.count() == 0


def test_a_comment_without_a_colour_is_refused_and_kept_on_screen(voter, open_round, squad, cards):
    data = ballot_data(cards[1:])
    data[f"card-{cards[0].pk}-comment"] = "Need to think about this"
    response = voter.post(vote_url(open_round, squad), data)
    assert b"Choose a colour to save your trend and comment." in response.content
    assert b"Need to think about this" in response.content
    assert Ballot.objects.count() == 0


@pytest.mark.parametrize(
    ("part", "value", "message"),
    [
        ("colour", "purple", b"Choose green, yellow or red."),
        ("trend", "sideways", b"Choose improving, stable or getting worse."),
        ("comment", "x" * 1001, b"Keep the comment to 1,000 characters (it has 1001)."),
        ("comment", "before\x00after", b"The comment holds a hidden NUL character"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(voter, open_round, squad, cards, part, value, message):
    data = ballot_data(cards)
    data[f"card-{cards[4].pk}-{part}"] = value
    response = voter.post(vote_url(open_round, squad), data)
    assert response.status_code == 200
    assert message in response.content
    assert b"Nothing was saved yet" in response.content
    assert Ballot.objects.count() == 0 and Answer.objects.count() == 0


def test_bad_input_leaves_an_earlier_ballot_untouched(voter, open_round, squad, cards):
    voter.post(vote_url(open_round, squad), ballot_data(cards, "green"))
    before = stored_answers()
    data = ballot_data(cards, "red")
    data[f"card-{cards[-1].pk}-colour"] = "blue"
    voter.post(vote_url(open_round, squad), data)
    assert stored_answers() == before


def test_a_card_outside_the_round_is_refused(voter, tribe, squad, cards):
    rnd = make_round(tribe, cards=cards[:5])
    data = ballot_data(cards[:6])
    response = voter.post(vote_url(rnd, squad), data)
    assert b"names a card that is not part of this health check" in response.content
    assert Ballot.objects.count() == 0


@pytest.mark.parametrize(
    ("state", "opens_in", "message"),
    [
        (Round.State.DRAFT, timedelta(days=-1), b"not open for voting yet"),
        (Round.State.SCHEDULED, timedelta(days=2), b"not open for voting yet: it opens on"),
        (Round.State.CLOSED, timedelta(days=-20), b"ballots can no longer be changed; nothing was saved"),
        (Round.State.OPEN, timedelta(days=-20), b"ballots can no longer be changed; nothing was saved"),
    ],
)
def test_votes_are_accepted_only_while_the_round_is_open(
    voter, tribe, squad, cards, state, opens_in, message
):
    rnd = make_round(tribe, state=state, opens_in=opens_in)
    assert voter.get(vote_url(rnd, squad)).status_code == 200
    response = voter.post(vote_url(rnd, squad), ballot_data(cards, comment="Typed with care"))
    assert response.status_code == 409
    assert message in response.content
    assert b"Typed with care" in response.content  # what was typed stays on screen
    assert Ballot.objects.count() == 0


def test_a_closed_round_keeps_the_ballot_and_forgets_the_voter(voter, open_round, squad, cards):
    voter.post(vote_url(open_round, squad), ballot_data(cards, "green"))
    assert voter.get(vote_url(open_round, squad)).content.count(b'value="green" checked') == 11
    open_round.close()
    before = stored_answers()
    response = voter.post(vote_url(open_round, squad), ballot_data(cards, "red"))
    assert response.status_code == 409
    assert stored_answers() == before
    # After close, nobody can find whose ballot is whose, the voter included.
    page = voter.get(vote_url(open_round, squad)).content
    assert b"checked" not in page and b"has finished this health check" in page


def test_the_service_rejects_a_ballot_that_arrives_after_close(open_round, squad, cards):
    answers = [AnswerInput(card_id=cards[0].pk, colour="green")]
    later = open_round.closes_at + timedelta(seconds=1)
    with pytest.raises(BallotRejected, match="has closed"):
        ballot_submit(round=open_round, squad=squad, voter="test:a", answers=answers, now=later)
    assert Ballot.objects.count() == 0


def test_the_service_rejects_a_squad_of_another_tribe(open_round, cards, charlie):
    other_squad = charlie.squad_roles.get().squad
    answers = [AnswerInput(card_id=cards[0].pk, colour="green")]
    with pytest.raises(BallotRejected, match="does not take part"):
        ballot_submit(round=open_round, squad=other_squad, voter="test:a", answers=answers)


def test_it_checks_access(client, open_round, squad, cards, charlie, coach, lead):
    url = vote_url(open_round, squad)
    assert client.get(url).status_code == 302  # signed out: to sign in
    for outsider in (charlie, coach, lead):  # only members vote for a squad
        client.force_login(outsider)
        assert client.get(url).status_code == 404
        assert client.post(url, ballot_data(cards)).status_code == 404
    assert Ballot.objects.count() == 0


def test_it_gives_404_for_rounds_and_squads_that_do_not_match(voter, open_round, squad, tribe, charlie):
    other_round = make_round(charlie.squad_roles.get().squad.tribe)
    assert voter.get(vote_url(other_round, squad)).status_code == 404
    assert voter.get(reverse("surveys:vote", args=[999999, squad.slug])).status_code == 404
    assert voter.get(reverse("surveys:vote", args=[open_round.pk, "no-such-squad"])).status_code == 404
    not_mine = make_squad(tribe, "Fraud")
    assert voter.get(vote_url(open_round, not_mine)).status_code == 404


def test_it_refuses_get_and_post_only_methods(voter, open_round, squad):
    assert voter.delete(vote_url(open_round, squad)).status_code == 405


def test_the_voting_page_runs_a_fixed_number_of_queries(
    voter, open_round, squad, cards, django_assert_num_queries
):
    voter.post(vote_url(open_round, squad), ballot_data(cards))
    # session, user, squad roles, tribe roles, round, round cards, the squad's part, own answers
    with django_assert_num_queries(8):
        voter.get(vote_url(open_round, squad))


def test_saving_a_ballot_runs_a_fixed_number_of_queries(
    voter, open_round, squad, cards, django_assert_num_queries
):
    voter.post(vote_url(open_round, squad), ballot_data(cards, "green"))
    # session, user, squad roles, tribe roles, round, round cards, then in one transaction: the
    # squad's part under a lock, the ballot, the answers (one upsert).
    with django_assert_num_queries(11):  # with BEGIN and COMMIT, where the database reports them
        response = voter.post(vote_url(open_round, squad), ballot_data(cards, "red"))
    assert response.status_code == 302
