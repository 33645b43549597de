"""The tribe dashboard, the squad page and the CSV export."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from surveys.models import HealthCard, Round, SquadRole, TribeRole

from .factories import (
    add_member,
    add_tribe_role,
    cast,
    make_past_round,
    make_round,
    make_squad,
    make_tribe,
    make_user,
)


def dashboard(tribe, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return reverse("surveys:tribe-dashboard", args=[tribe.slug]) + (f"?{query}" if query else "")


def export(tribe, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return reverse("surveys:tribe-export", args=[tribe.slug]) + (f"?{query}" if query else "")


def squad_url(squad) -> str:
    return reverse("surveys:squad", args=[squad.slug])


@pytest.fixture
def history(tribe, squad, cards):
    """Two closed rounds for Checkout and Fraud; Fraud's second round has too few voters."""
    fraud = make_squad(tribe, "Fraud")
    first = make_past_round(tribe, "2026 Q2", days_ago=120)
    cast(first, squad, cards[0], "ggg", "sss")
    cast(first, fraud, cards[0], "rrr", "sss")
    first.close()
    second = make_past_round(tribe, "2026 Q3", days_ago=30)
    cast(second, squad, cards[0], "yyy", "iii", comments=["Zebra crossing", "", "Alpha release"])
    cast(second, fraud, cards[0], "gg", "ii", comments=["Hidden remark"])
    second.close()
    return first, second, fraud


def test_the_dashboard_shows_the_latest_closed_round(client, lead, history, squad, cards):
    client.force_login(lead)
    response = client.get(dashboard(squad.tribe))
    html = response.content.decode()
    assert response.status_code == 200
    assert "2026 Q3, closed" in html
    assert "says improving, scores fell" in html  # Checkout: green to yellow, says improving
    assert "not enough votes" in html  # Fraud: two voters
    assert "1 of 2 squads with enough votes" in html
    assert "Hidden remark" not in html and "Zebra crossing" not in html  # no comments on the dashboard
    # Squads in their fixed order, never by score.
    assert html.index(">Checkout</a>") < html.index(">Fraud</a>")


def test_the_round_selector_and_the_comparison(client, lead, history, squad):
    first, second, _ = history
    client.force_login(lead)
    html = client.get(dashboard(squad.tribe, round=first.pk)).content.decode()
    assert "2026 Q2, closed" in html
    assert "cell-changed" not in html
    compared = client.get(dashboard(squad.tribe, round=second.pk, compare=1)).content.decode()
    assert "compared with 2026 Q2" in compared
    assert "was green" in compared and "cell-changed" in compared
    assert client.get(dashboard(squad.tribe, round=999999)).status_code == 404


def test_a_row_troubled_in_two_thirds_of_three_squads_is_flagged(client, lead, tribe, squad, cards):
    fraud, risk = make_squad(tribe, "Fraud"), make_squad(tribe, "Risk")
    rnd = make_past_round(tribe)
    for team, first, second in ((squad, "rrr", "rrr"), (fraud, "ggg", "ggg"), (risk, "yyy", "ggg")):
        cast(rnd, team, cards[0], first)  # one red, one yellow, one green: two thirds in trouble
        cast(rnd, team, cards[1], second)  # one red of three: not the tribe's problem
    rnd.close()
    client.force_login(lead)
    html = client.get(dashboard(tribe)).content.decode()
    marker = "possible systemic issue</div>"
    assert html.count(marker) == 1
    assert marker in html[html.index(cards[0].name) : html.index(cards[1].name)]


def with_fraud(tribe, squad, card, checkout: str, fraud: str):
    """Checkout and Fraud finish one closed round, voting these colours on one card."""
    other = make_squad(tribe, "Fraud")
    rnd = make_past_round(tribe)
    cast(rnd, squad, card, checkout)
    cast(rnd, other, card, fraud)
    rnd.close()
    return other, rnd


def test_two_red_squads_are_too_few_to_call_a_card_systemic(client, lead, tribe, squad, cards):
    with_fraud(tribe, squad, cards[0], "rrr", "rrr")
    client.force_login(lead)
    assert "possible systemic issue</div>" not in client.get(dashboard(tribe)).content.decode()


def test_the_tribe_column_counts_each_squad_once(client, lead, tribe, squad, cards):
    big, hidden = make_squad(tribe, "Big"), make_squad(tribe, "Hidden")
    rnd = make_past_round(tribe)
    cast(rnd, squad, cards[0], "rrr")  # 0.0
    cast(rnd, big, cards[0], "gggggggggg")  # 2.0, ten voters
    cast(rnd, hidden, cards[0], "gg")  # below the minimum: left out
    rnd.close()
    client.force_login(lead)
    rows = list(csv.reader(io.StringIO(client.get(export(tribe)).content.decode())))
    tribe_row = next(r for r in rows if r[1].startswith("Tribe") and r[2] == cards[0].name)
    assert tribe_row[1] == "Tribe (2 of 3 squads with enough votes)"
    assert tribe_row[5:10] == ["1", "0", "1", "1.00", "yellow"]


def test_nothing_shows_while_a_round_is_open(client, lead, alice, tribe, squad, cards):
    rnd = make_round(tribe, "Open now")
    cast(rnd, squad, cards[0], "rrrr", comments=["Still open"])
    client.force_login(lead)
    html = client.get(dashboard(tribe)).content.decode()
    assert "Open now is open until" in html
    assert "No squad has finished a health check yet" in html
    assert "light-red" not in html
    assert client.get(dashboard(tribe, round=rnd.pk)).status_code == 404
    assert client.get(export(tribe, round=rnd.pk)).status_code == 404
    client.force_login(alice)
    page = client.get(squad_url(squad) + f"?round={rnd.pk}")
    assert page.status_code == 404
    assert b"Still open" not in client.get(squad_url(squad)).content


def test_the_squad_page_shows_distribution_change_and_comments(
    client, alice, history, squad, cards, settings
):
    client.force_login(alice)
    html = client.get(squad_url(squad)).content.decode()
    # Three people answered: colours show, comments wait for the comment minimum (5 by default).
    assert "Comments show when at least 5 people answered." in html and "Alpha release" not in html
    settings.HEALTHCHECK_MIN_COMMENT_RESPONSES = 3
    html = client.get(squad_url(squad)).content.decode()
    assert "0 green · 3 yellow · 0 red (3 answers)" in html
    assert "Change since 2026 Q2:" in html and "▼ \u22121.00" in html
    # Comments sorted by text, not by who wrote first.
    assert html.index("Alpha release") < html.index("Zebra crossing")
    assert "3 of 1 members" not in html


def test_the_squad_page_hides_cards_below_the_minimum(client, history, cards, tribe):
    fraud = history[2]
    member = make_user()
    add_member(fraud, member)
    client.force_login(member)
    html = client.get(squad_url(fraud)).content.decode()
    assert "Fewer than 3 people answered this card, so" in html and "(2)" not in html
    assert "Hidden remark" not in html


def test_the_csv_applies_the_minimum_and_neutralises_formulas(client, lead, tribe, squad, cards):
    evil = make_squad(tribe, "=HYPERLINK(1)")
    HealthCard.objects.filter(pk=cards[0].pk).update(name="@SUM(A1)")
    rnd = make_past_round(tribe, "+1 round")
    cast(rnd, squad, cards[0], "ggg")
    cast(rnd, evil, cards[0], "rr")
    rnd.close()
    client.force_login(lead)
    response = client.get(export(tribe))
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    for row in rows[1:]:
        for value in row:
            assert value[:1] not in ("=", "+", "-", "@"), row
    hidden = next(r for r in rows if r[1] == "'=HYPERLINK(1)" and r[2] == "'@SUM(A1)")
    assert hidden[-4] == "fewer than 3 answered"
    assert hidden[5:10] == ["", "", "", "", ""]


PAGES = ["dashboard", "export", "squad", "other_squad"]


def urls(tribe, squad, other_squad) -> dict[str, str]:
    return {
        "dashboard": dashboard(tribe),
        "export": export(tribe),
        "squad": squad_url(squad),
        "other_squad": squad_url(other_squad),
    }


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("member", {"dashboard", "export", "squad"}),
        ("squad_coach", {"dashboard", "export", "squad"}),
        ("tribe_coach", set(PAGES)),
        ("lead", set(PAGES)),
        ("staff", set(PAGES)),
        ("outsider", set()),
        ("nobody", set()),
    ],
)
def test_who_sees_what(client, tribe, squad, cards, charlie, who, allowed):
    other_squad = make_squad(tribe, "Fraud")
    rnd = make_past_round(tribe)
    cast(rnd, squad, cards[0], "ggg")
    rnd.close()
    people = {
        "member": lambda u: add_member(squad, u),
        "squad_coach": lambda u: add_member(squad, u, SquadRole.Role.COACH),
        "tribe_coach": lambda u: add_tribe_role(tribe, u, TribeRole.Role.COACH),
        "lead": lambda u: add_tribe_role(tribe, u, TribeRole.Role.LEAD),
        "staff": lambda u: None,
        "outsider": lambda u: add_member(charlie.squad_roles.get().squad, u),
        "nobody": lambda u: None,
    }
    user = make_user(is_staff=(who == "staff"))
    people[who](user)
    client.force_login(user)
    for name, url in urls(tribe, squad, other_squad).items():
        expected = 200 if name in allowed else 404
        assert client.get(url).status_code == expected, (who, name)


def test_the_404_of_another_tribe_looks_like_a_missing_page(client, charlie, tribe):
    client.force_login(charlie)
    forbidden = client.get(dashboard(tribe))
    missing = client.get(reverse("surveys:tribe-dashboard", args=["no-such-tribe"]))
    assert forbidden.status_code == missing.status_code == 404
    assert same_page(forbidden.content, missing.content)


def same_page(first: bytes, second: bytes) -> bool:
    """Equal but for the per-response CSRF token and script nonce, and the address the language
    switcher comes back to (the address asked for, which the asker knows)."""
    token = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"|nonce="[^"]+"|name="next" value="[^"]+"')
    return token.sub(b"", first) == token.sub(b"", second)


def test_signed_out_people_are_sent_to_sign_in(client, tribe, squad):
    for url in (dashboard(tribe), export(tribe), squad_url(squad)):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as context:
        assert client.get(url).status_code == 200
    return len(context)


def grow(tribe, cards, *, squads: int, rounds: int) -> None:
    """Add squads with members, and closed rounds with votes from every squad."""
    for _ in range(squads):
        add_member(make_squad(tribe), make_user())
    existing = Round.objects.filter(tribe=tribe).count()
    for n in range(rounds):
        rnd = make_past_round(tribe, days_ago=400 - 40 * (existing + n))
        for squad in tribe.squads.all():
            for card in cards[:3]:
                cast(rnd, squad, card, "gyr")
        rnd.close()


def test_page_queries_stay_fixed_as_squads_and_rounds_grow(client, lead, tribe, squad, cards, alice):
    add_member(make_squad(tribe), make_user())
    grow(tribe, cards, squads=0, rounds=1)
    client.force_login(lead)
    urls = {"dashboard": dashboard(tribe), "squad": squad_url(squad), "export": export(tribe)}

    def measure() -> dict[str, int]:
        return {name: count_queries(client, url) for name, url in urls.items()}

    small = measure()
    grow(tribe, cards, squads=8, rounds=7)
    assert tribe.squads.count() == 10 and Round.objects.filter(tribe=tribe).count() == 8
    assert measure() == small
    # session, user, squad roles, tribe roles, rounds, squads, round cards, results, tribe column;
    # once the matrix of a closed round is cached: the same without results and tribe column
    assert small["dashboard"] == 9
    assert count_queries(client, urls["dashboard"]) == 7
    # session, user, squad roles, tribe roles, the squad (the lead is not in it), rounds, results
    # (the round and its history), actions (none here); no comments query, as no card reached
    # the comment minimum
    assert small["squad"] == 8


def test_squad_names_link_only_for_those_who_may_open_the_squad(client, alice, lead, tribe, squad, cards):
    fraud, rnd = with_fraud(tribe, squad, cards[0], "ggg", "ggg")
    fraud_page = reverse("surveys:squad", args=[fraud.slug])
    client.force_login(alice)  # a member of Checkout
    html = client.get(dashboard(tribe)).content.decode()
    assert f'href="{reverse("surveys:squad", args=[squad.slug])}?round={rnd.pk}"' in html
    assert fraud_page not in html and ">Fraud</th>" in html
    assert client.get(fraud_page).status_code == 404  # the link it does not offer would be a 404
    client.force_login(lead)
    assert f'href="{fraud_page}?round={rnd.pk}"' in client.get(dashboard(tribe)).content.decode()


def test_one_squad_at_a_time_keeps_the_card_and_tribe_columns(client, lead, tribe, squad, cards):
    with_fraud(tribe, squad, cards[0], "rrr", "ggg")
    client.force_login(lead)
    html = client.get(dashboard(tribe) + "?squad=fraud").content.decode()
    head = html[html.index("<thead>") : html.index("</thead>")]
    assert ">Fraud</a>" in head and ">Checkout</a>" not in head and "Tribe" in head
    assert 'aria-current="page"' in html
    assert client.get(dashboard(tribe) + "?squad=nobody").status_code == 404


def test_a_member_whose_squad_is_voting_gets_a_link_to_their_ballot(client, alice, tribe, squad, cards):
    rnd = make_round(tribe, "2026 Q4")
    client.force_login(alice)
    html = client.get(dashboard(tribe)).content.decode()
    assert f'href="{reverse("surveys:vote", args=[rnd.pk, squad.slug])}"' in html
    assert "Go to my ballot" in html


def test_a_squad_that_moved_to_another_tribe_is_shown_but_not_linked(client, lead, tribe, squad, cards):
    fraud, rnd = with_fraud(tribe, squad, cards[0], "ggg", "ggg")
    fraud.tribe = make_tribe("Platform")
    fraud.save()
    client.force_login(lead)
    html = client.get(dashboard(tribe) + f"?round={rnd.pk}").content.decode()
    assert ">Fraud</th>" in html  # it took part in this round
    assert reverse("surveys:squad", args=[fraud.slug]) not in html
    assert client.get(reverse("surveys:squad", args=[fraud.slug])).status_code == 404
