"""The rules of DESIGN.md on hand-made ballots."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import reverse

from surveys.models import Answer, Result, Round, SquadRole, arrow_for, direction_of, light_for
from surveys.services import AnswerInput, BallotRejected, ballot_submit, round_close, round_freeze_results

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
    round_close(round=rnd)
    cell = result(rnd, squad, cards[0])
    assert cell.voters == len(colours)
    assert (cell.greens, cell.yellows, cell.reds) == tuple(colours.count(c) for c in "gyr")
    assert (cell.light, cell.arrow, cell.split) == (light, arrow, split)


def test_score_weights_come_from_settings(settings, tribe, squad, cards):
    settings.HEALTHCHECK_SCORE = {"green": 2, "yellow": 0, "red": 0}
    rnd = make_past_round(tribe)
    cast(rnd, squad, cards[0], "gyy")
    round_close(round=rnd)
    assert result(rnd, squad, cards[0]).score == pytest.approx(2 / 3)


def test_measured_change_and_divergence(tribe, squad, cards):
    before = make_past_round(tribe, "Q1", days_ago=120)
    cast(before, squad, cards[0], "ggg")
    round_close(round=before)
    after = make_past_round(tribe, "Q2", days_ago=30)
    cast(after, squad, cards[0], "yyy", "iii")
    round_close(round=after)
    cell = result(after, squad, cards[0])
    assert cell.previous_score == 2.0
    assert cell.change == -1.0 and cell.change_direction == "down"
    assert cell.divergence == "says improving, scores fell"
    assert cell.previous_light == "green" and cell.light == "yellow"


def test_no_change_is_measured_against_a_cell_below_the_minimum(tribe, squad, cards):
    before = make_past_round(tribe, "Q1", days_ago=120)
    cast(before, squad, cards[0], "gg")
    round_close(round=before)
    after = make_past_round(tribe, "Q2", days_ago=30)
    cast(after, squad, cards[0], "rrr")
    round_close(round=after)
    assert result(after, squad, cards[0]).change is None


def test_fewer_than_k_voters_hide_colours(tribe, squad, cards, settings):
    rnd = make_past_round(tribe)
    cast(rnd, squad, cards[0], "rr")
    round_close(round=rnd)
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
    round_close(round=rnd)
    cell = result(rnd, squad, cards[0])
    assert (cell.ballots, cell.members, cell.participation) == (2, 4, 0.5)


def test_every_squad_and_card_gets_a_row_even_without_votes(tribe, squad, cards):
    make_squad(tribe, "Quiet")
    rnd = make_past_round(tribe)
    round_close(round=rnd)
    assert Result.objects.filter(round=rnd).count() == 2 * 11
    assert not Result.objects.filter(round=rnd, voters__gt=0).exists()


def test_freezing_runs_the_same_queries_however_many_squads_and_votes(tribe, squad, cards):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_to_freeze(days_ago: int) -> int:
        rnd = make_past_round(tribe, days_ago=days_ago)
        for member in SquadRole.objects.filter(squad__tribe=tribe).values_list("squad", flat=True).distinct():
            for card in cards:
                cast(rnd, type(squad).objects.get(pk=member), card, "gyrgg")
        with CaptureQueriesContext(connection) as context:
            round_freeze_results(round=rnd)
        return len(context)

    add_member(squad, make_user())
    small = queries_to_freeze(100)
    for _ in range(5):
        add_member(make_squad(tribe), make_user())
    assert queries_to_freeze(30) == small


def test_freezing_twice_gives_the_same_rows(tribe, squad, cards):
    rnd = make_past_round(tribe)
    cast(rnd, squad, cards[0], "gyr", "isw")
    round_close(round=rnd)
    fields = ["squad_id", "card_id", "voters", "greens", "yellows", "reds", "score", "trend_mean", "ballots"]
    first = sorted(Result.objects.filter(round=rnd).values_list(*fields))
    round_freeze_results(round=rnd)
    assert sorted(Result.objects.filter(round=rnd).values_list(*fields)) == first


def test_frozen_results_do_not_change_after_a_later_edit_attempt(tribe, squad, cards, alice):
    rnd = make_past_round(tribe)
    cast(rnd, squad, cards[0], "ggg")
    round_close(round=rnd)
    key = "e" * 64
    with pytest.raises(BallotRejected):
        ballot_submit(round=rnd, squad=squad, voter_key=key, answers=[AnswerInput(cards[0].pk, "red")])
    # Even if answers were changed behind the application's back, pages read the frozen rows.
    Answer.objects.update(colour="red")
    assert result(rnd, squad, cards[0]).light == "green"
    round_close(round=rnd)  # closing again changes nothing
    assert result(rnd, squad, cards[0]).greens == 3


def test_close_due_rounds_closes_and_freezes_rounds_past_their_time(tribe, squad, cards, capsys):
    rnd = make_past_round(tribe)
    cast(rnd, squad, cards[0], "gyr")
    future = make_round(tribe)
    call_command("close_due_rounds")
    assert f"Closed {tribe.name}: {rnd.title}" in capsys.readouterr().out
    rnd.refresh_from_db()
    future.refresh_from_db()
    assert rnd.state == Round.State.CLOSED and future.state == Round.State.OPEN
    assert Result.objects.filter(round=rnd, card=cards[0], voters=3).exists()
    call_command("close_due_rounds")
    assert "No round is due to close." in capsys.readouterr().out


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
