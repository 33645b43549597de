"""Signal, not noise: the systemic rule's thresholds and the support queue's headlines and folding."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from surveys.matrix import is_systemic
from surveys.support import Headline, squad_reasons, support_queue


@pytest.mark.parametrize(
    ("reds", "yellows", "visible", "systemic"),
    [
        (2, 0, 4, True),  # half red
        (1, 0, 3, False),  # a third red, nothing else
        (1, 1, 3, True),  # two thirds yellow or red
        (0, 2, 3, True),
        (0, 2, 4, False),  # half yellow: not two thirds
        (1, 1, 4, False),
        (3, 5, 12, True),  # 8 of 12 yellow or red: two thirds
        (3, 4, 12, False),  # 7 of 12
        (6, 0, 12, True),
        (2, 0, 2, False),  # two squads are too few, however red
        (0, 0, 0, False),
    ],
)
def test_the_systemic_rule(reds, yellows, visible, systemic):
    assert is_systemic(reds, yellows, visible) is systemic


def test_the_systemic_thresholds_are_settings(settings):
    settings.HEALTHCHECK_SYSTEMIC_MIN_SQUADS = 5
    assert not is_systemic(4, 0, 4)
    settings.HEALTHCHECK_SYSTEMIC_MIN_SQUADS = 2
    settings.HEALTHCHECK_SYSTEMIC_RED_SHARE = 1.0
    settings.HEALTHCHECK_SYSTEMIC_TROUBLED_SHARE = 1.0
    assert is_systemic(2, 0, 2) and not is_systemic(1, 1, 3)


def card(pk: int, name: str):
    return SimpleNamespace(pk=pk, name=name, position=pk)


def result(rnd, card_, light="green", *, split=False, fell=False, divergence="", ballots=5, members=6):
    return SimpleNamespace(
        round_id=rnd.pk,
        squad_id=1,
        card=card_,
        card_id=card_.pk,
        light=light,
        split=split,
        change_direction="down" if fell else None,
        divergence=divergence,
        ballots=ballots,
        members=members,
        participation=ballots / members if members else None,
        visible=ballots >= 3,
    )


SQUAD = SimpleNamespace(pk=1, slug="checkout", name="Checkout")
Q2, Q3 = SimpleNamespace(pk=2, title="Q2"), SimpleNamespace(pk=3, title="Q3")
CARDS = [card(i, f"Card {i}") for i in range(1, 12)]


def entry_for(latest, previous=(), overdue=0):
    results = {Q3.pk: list(latest), Q2.pk: list(previous)}
    return squad_reasons(SQUAD, [Q3, Q2], results, overdue)


def test_nine_split_cards_fold_into_one_line():
    entry = entry_for([result(Q3, c, "yellow", split=i < 9) for i, c in enumerate(CARDS)])
    (reason,) = entry.reasons
    assert reason.text == "Split votes on 9 cards"
    assert reason.cards == [c.name for c in CARDS[:9]]
    assert reason.url == "/squads/checkout/?round=3#card-1"
    # Splits alone count at most three times: a conversation, not an emergency.
    assert entry.headline is Headline.WORTH_A_LOOK


def test_each_kind_is_one_line_and_red_twice_is_told_apart():
    latest = [
        result(Q3, CARDS[0], "red", fell=True),
        result(Q3, CARDS[1], "red"),
        result(Q3, CARDS[2], "yellow", divergence="says improving, score fell"),
    ]
    previous = [result(Q2, CARDS[0], "green"), result(Q2, CARDS[1], "red")]
    entry = entry_for(latest, previous, overdue=2)
    assert [(r.kind, r.text) for r in entry.reasons] == [
        ("still-red", "Red two rounds running on 1 card"),
        ("red", "Red on 1 card"),
        ("fell", "Score fell by 0.25 or more on 1 card"),
        ("divergence", "Voted trend and measured change disagree on 1 card"),
        ("overdue", "2 overdue action items"),
    ]
    assert entry.headline is Headline.SUPPORT_NOW


@pytest.mark.parametrize(
    ("latest", "overdue", "headline"),
    [
        ([result(Q3, CARDS[0])], 0, Headline.FINE),
        ([result(Q3, CARDS[0], split=True)], 0, Headline.FINE),  # one split card: worth no alarm
        (
            [result(Q3, CARDS[0], "yellow", split=True), result(Q3, CARDS[1], split=True)],
            0,
            Headline.WORTH_A_LOOK,
        ),
        ([result(Q3, CARDS[0])], 1, Headline.WORTH_A_LOOK),  # an overdue action item
        ([result(Q3, CARDS[0], "red")], 0, Headline.WORTH_A_LOOK),  # one red card
        ([result(Q3, CARDS[0], "red"), result(Q3, CARDS[1], "red")], 0, Headline.SUPPORT_NOW),
        ([result(Q3, CARDS[0], ballots=0)], 0, Headline.SUPPORT_NOW),  # nobody voted
        ([result(Q3, CARDS[0], ballots=3, members=7)], 0, Headline.WORTH_A_LOOK),  # low participation
        ([result(Q3, CARDS[0], "red", ballots=2, members=4)], 0, Headline.WORTH_A_LOOK),  # below k
        ([result(Q3, c, fell=True) for c in CARDS[:3]], 0, Headline.WORTH_A_LOOK),  # falls, none red
        ([result(Q3, c, split=True, divergence="x") for c in CARDS[:3]], 0, Headline.WORTH_A_LOOK),
        ([result(Q3, CARDS[0])], 3, Headline.WORTH_A_LOOK),  # overdue items alone
    ],
)
def test_the_headline_follows_the_weighted_reasons(latest, overdue, headline):
    assert entry_for(latest, overdue=overdue).headline is headline


def test_the_queue_sorts_by_headline_then_the_usual_order_and_never_by_weight():
    squads = [SimpleNamespace(pk=i, slug=f"s{i}", name=f"S{i}") for i in (1, 2, 3, 4)]
    results = []
    for squad, lights in ((1, "g"), (2, "rr"), (3, "r"), (4, "rrr")):
        for i, light in enumerate(lights):
            row = result(Q3, CARDS[i], {"g": "green", "r": "red"}[light])
            row.squad_id = squad
            results.append(row)
    finished = {s.pk: [Q3] for s in squads}
    order = [(e.squad.pk, e.headline) for e in support_queue(squads, finished, results, {})]
    # S4 (three reds) weighs more than S2 (two) but both need support now: the usual order holds.
    assert order == [
        (2, Headline.SUPPORT_NOW),
        (4, Headline.SUPPORT_NOW),
        (3, Headline.WORTH_A_LOOK),
        (1, Headline.FINE),
    ]


def test_a_squad_without_a_finished_round_is_worth_a_look():
    entry = squad_reasons(SQUAD, [], {}, 0)
    assert [r.text for r in entry.reasons] == ["No finished round yet"]
    assert entry.headline is Headline.WORTH_A_LOOK


def test_below_the_minimum_the_queue_says_fewer_than_k_and_tells_no_light():
    entry = entry_for([result(Q3, CARDS[0], "red", ballots=2, members=4)])
    assert [r.text for r in entry.reasons] == ["Fewer than 3 of 4 members voted in Q3: nothing can be shown"]


def test_overdue_items_count_each():
    assert entry_for([result(Q3, CARDS[0])], overdue=1).reasons[0].weight == 2
    assert entry_for([result(Q3, CARDS[0])], overdue=3).reasons[0].weight == 6
