"""The rules of DESIGN.md on hand-made ballots."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import reverse

from surveys.models import Answer, AuditEvent, Result, Round, SquadRole, arrow_for, direction_of, light_for
from surveys.services import AnswerInput, BallotRejected, ballot_submit

from .factories import add_member, cast, make_past_round, make_round, make_squad, make_user


def result(rnd, squad, card) -> Result:
    return Result.objects.get(round=rnd, squad=squad, card=card)


@pytest.mark.parametrize(
    ("score", "light"),
    [(2.0, "green"), (1.5, "green"), (1.4999, "yellow"), (0.75, "yellow"), (0.7499, "red"), (0.0, "red")],
)
def test_light_thresholds(score, light):
    assert light_for(score) == light


@pytest.mark.parametrize(
    ("mean", "arrow"), [(0.34, "up"), (0.3399, "flat"), (0.0, "flat"), (-0.3399, "flat"), (-0.34, "down")]
)
def test_trend_arrow_thresholds(mean, arrow):
    assert arrow_for(mean) == arrow


@pytest.mark.parametrize(
    ("change", "direction"), [(0.25, "up"), (0.2499, "same"), (-0.2499, "same"), (-0.25, "down")]
)
def test_measured_change_thresholds(change, direction):
    assert direction_of(change) == direction


def test_thresholds_come_from_settings(settings):
    settings.HEALTHCHECK_LIGHT_GREEN_AT = 1.8
    assert light_for(1.5) == "yellow"


@pytest.mark.parametrize(
    ("colours", "trends", "light", "arrow", "split"),
    [
        ("ggyy", "iiss", "green", "up", False),  # 1.5 exactly; trend +0.5
        ("gyy", "iss", "yellow", "flat", False),  # 1.33; trend +0.33 is under 0.34
        ("yyyr", "wwss", "yellow", "down", False),  # 0.75 exactly; trend -0.5
        ("gyrrr", "sssss", "red", "flat", True),  # 0.6; one green and three reds
        ("gyr", "", "yellow", None, True),  # no trend given
    ],
)
def test_results_from_ballots(tribe, squad, cards, colours, trends, light, arrow, split):
    rnd = make_past_round(tribe)
    cast(rnd, squad, cards[0], colours, trends)
    rnd.close()
    cell = result(rnd, squad, cards[0])
    assert cell.voters == len(colours)
    assert (cell.greens, cell.yellows, cell.reds) == tuple(colours.count(c) for c in "gyr")
    assert (cell.light, cell.arrow, cell.split) == (light, arrow, split)


def test_score_weights_come_from_settings(settings, tribe, squad, cards):
    settings.HEALTHCHECK_SCORE = {"green": 2, "yellow": 0, "red": 0}
    rnd = make_past_round(tribe)
    cast(rnd, squad, cards[0], "gyy")
    rnd.close()
    assert result(rnd, squad, cards[0]).score == pytest.approx(2 / 3)


def test_measured_change_and_divergence(tribe, squad, cards):
    before = make_past_round(tribe, "Q1", days_ago=120)
    cast(before, squad, cards[0], "ggg")
    before.close()
    after = make_past_round(tribe, "Q2", days_ago=30)
    cast(after, squad, cards[0], "yyy", "iii")
    after.close()
    cell = result(after, squad, cards[0])
    assert cell.previous_score == 2.0
    assert cell.change == -1.0 and cell.change_direction == "down"
    assert cell.divergence == "says improving, scores fell"
    assert cell.previous_light == "green" and cell.light == "yellow"


def test_no_change_is_measured_against_a_cell_below_the_minimum(tribe, squad, cards):
    before = make_past_round(tribe, "Q1", days_ago=120)
    cast(before, squad, cards[0], "gg")
    before.close()
    after = make_past_round(tribe, "Q2", days_ago=30)
    cast(after, squad, cards[0], "rrr")
    after.close()
    assert result(after, squad, cards[0]).change is None


def test_fewer_than_k_voters_hide_colours(tribe, squad, cards, settings):
    rnd = make_past_round(tribe)
    cast(rnd, squad, cards[0], "rr")
    rnd.close()
    cell = result(rnd, squad, cards[0])
    assert not cell.visible
    assert (cell.light, cell.arrow, cell.split) == (None, None, False)
    settings.HEALTHCHECK_MIN_RESPONSES = 2
    assert cell.light == "red"


def test_participation_is_ballots_over_members(tribe, squad, cards):
    for _ in range(4):
        add_member(squad, make_user())
    rnd = make_past_round(tribe)
    cast(rnd, squad, cards[0], "gy")
    rnd.close()
    cell = result(rnd, squad, cards[0])
    assert (cell.ballots, cell.members, cell.participation) == (2, 4, 0.5)


def test_every_squad_and_card_gets_a_row_even_without_votes(tribe, squad, cards):
    make_squad(tribe, "Quiet")
    rnd = make_past_round(tribe)
    rnd.close()
    assert Result.objects.filter(round=rnd).count() == 2 * 11
    assert not Result.objects.filter(round=rnd, voters__gt=0).exists()


def test_closing_runs_a_fixed_number_of_queries_per_squad_whatever_the_votes(tribe, cards):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_to_close(days_ago: int, votes: str) -> int:
        rnd = make_past_round(tribe, days_ago=days_ago)
        for squad in tribe.squads.all():
            for card in cards:
                cast(rnd, squad, card, votes)
        with CaptureQueriesContext(connection) as context:
            rnd.close()
        return len(context)

    make_squad(tribe, members=3)
    queries_to_close(350, "g")  # from now on every round has a previous one
    one = queries_to_close(300, "g")
    assert queries_to_close(250, "gyrgyrgyr") == one  # more votes, same queries
    make_squad(tribe, members=3)
    two = queries_to_close(200, "gy")
    for _ in range(4):
        make_squad(tribe, members=3)
    six = queries_to_close(100, "gyr")
    assert six - two == 4 * (two - one)  # each squad's part costs the same


def test_closing_twice_freezes_once(tribe, squad, cards):
    rnd = make_past_round(tribe)
    cast(rnd, squad, cards[0], "gyr", "isw")
    assert rnd.close() is True
    fields = ["squad_id", "card_id", "voters", "greens", "yellows", "reds", "score", "trend_mean", "ballots"]
    first = sorted(Result.objects.filter(round=rnd).values_list("pk", *fields))
    assert rnd.close() is False
    assert sorted(Result.objects.filter(round=rnd).values_list("pk", *fields)) == first


def test_frozen_results_do_not_change_after_a_later_edit_attempt(tribe, squad, cards, alice):
    rnd = make_past_round(tribe)
    cast(rnd, squad, cards[0], "ggg")
    rnd.close()
    with pytest.raises(BallotRejected):
        ballot_submit(
            round=rnd, squad=squad, voter=f"user:{alice.pk}", answers=[AnswerInput(cards[0].pk, "red")]
        )
    # Even if answers were changed behind the application's back, pages read the frozen rows.
    Answer.objects.update(colour="red")
    assert result(rnd, squad, cards[0]).light == "green"
    rnd.close()  # closing again changes nothing
    assert result(rnd, squad, cards[0]).greens == 3


def test_tick_closes_and_freezes_rounds_past_their_time(tribe, squad, cards, capsys):
    rnd = make_past_round(tribe)
    cast(rnd, squad, cards[0], "gyr")
    future = make_round(tribe)
    call_command("tick")
    assert f"Closed {tribe.name}: {rnd.title}" in capsys.readouterr().out
    rnd.refresh_from_db()
    future.refresh_from_db()
    assert rnd.state == Round.State.CLOSED and future.state == Round.State.OPEN
    assert Result.objects.filter(round=rnd, card=cards[0], voters=3).exists()
    call_command("tick")
    assert "Nothing is due." in capsys.readouterr().out
    assert AuditEvent.objects.filter(action=AuditEvent.Action.ROUND_CLOSED, target=rnd.title).count() == 1


def test_reading_a_page_closes_a_due_round(client, tribe, squad, cards, alice):
    rnd = make_past_round(tribe)
    client.force_login(alice)
    client.get(reverse("surveys:tribe-dashboard", args=[tribe.slug]))
    rnd.refresh_from_db()
    assert rnd.state == Round.State.CLOSED


def test_a_lead_closes_a_round_by_hand_after_confirming(client, tribe, squad, cards, lead, alice):
    rnd = make_round(tribe)
    cast(rnd, squad, cards[0], "ggg")
    url = reverse("surveys:round-close", args=[rnd.pk])
    client.force_login(lead)
    response = client.get(url)
    assert b"Close the round now" in response.content
    rnd.refresh_from_db()
    assert rnd.state == Round.State.OPEN  # asking is not closing
    response = client.post(url, follow=True)
    assert b"is closed and its results are ready" in response.content
    rnd.refresh_from_db()
    assert rnd.state == Round.State.CLOSED
    assert result(rnd, squad, cards[0]).light == "green"


def test_only_the_tribe_lead_or_coach_closes_rounds(client, tribe, squad, cards, alice, coach, charlie):
    rnd = make_round(tribe)
    url = reverse("surveys:round-close", args=[rnd.pk])
    for person in (alice, coach, charlie):  # a member, a squad coach, another tribe
        client.force_login(person)
        assert client.get(url).status_code == 404
        assert client.post(url).status_code == 404
    rnd.refresh_from_db()
    assert rnd.state == Round.State.OPEN
    assert SquadRole.objects.filter(user=coach).exists()
