"""The round's state machine: every transition and every refused one, through the model, the
manage views and the admin; squads that finish early; the tribe column's change."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from surveys.models import AuditEvent, Result, Round, RoundRejected, RoundSquad, TribeResult
from surveys.selectors import tribe_rounds

from .factories import add_member, cast, make_past_round, make_round, make_squad, make_user


def draft(tribe, title="Draft", opens_in=timedelta(days=3), lasts=timedelta(days=14)) -> Round:
    return make_round(tribe, title, state=Round.State.DRAFT, opens_in=opens_in, lasts=lasts)


def state_of(rnd: Round) -> str:
    rnd.refresh_from_db()
    return rnd.state


# Through the model


def test_a_draft_is_scheduled_then_opened_then_closed(tribe, cards):
    rnd = draft(tribe)
    rnd.schedule()
    assert state_of(rnd) == Round.State.SCHEDULED and rnd.voting_status() == "not-yet-open"
    assert rnd.open() is True
    assert state_of(rnd) == Round.State.OPEN and rnd.accepts_votes()
    assert rnd.close() is True
    assert state_of(rnd) == Round.State.CLOSED
    assert rnd.close() is False  # closing twice changes nothing


def test_a_scheduled_round_opens_when_its_time_comes(tribe, cards):
    rnd = draft(tribe)
    rnd.schedule()
    rnd.refresh_from_db()
    from surveys.services import rounds_advance

    assert rounds_advance(now=rnd.opens_at + timedelta(minutes=1)) == [(rnd, "opened")]
    assert state_of(rnd) == Round.State.OPEN
    assert RoundSquad.objects.filter(round=rnd).count() == tribe.squads.count()


@pytest.mark.parametrize(
    ("setup", "verb", "message"),
    [
        ("draft", "close", "A draft round cannot be closed."),
        ("closed", "open", "A closed round cannot be opened."),
        ("closed", "schedule", "A closed round cannot be scheduled."),
        ("open", "cancel", "An open round cannot be cancelled."),
        ("closed", "cancel", "A closed round cannot be cancelled."),
        ("cancelled", "open", "A cancelled round cannot be opened."),
        ("open", "schedule", "An open round cannot be scheduled."),
    ],
)
def test_refused_transitions_change_nothing(tribe, cards, setup, verb, message):
    rnd = draft(tribe, opens_in=timedelta(days=-1))
    if setup in ("open", "closed"):
        rnd.open()
    if setup == "closed":
        rnd.close()
    if setup == "cancelled":
        rnd.cancel()
    before = Round.objects.values("state", "opens_at", "closes_at").get(pk=rnd.pk)
    with pytest.raises(RoundRejected) as refused:
        getattr(rnd, verb)()
    assert str(refused.value).replace("An ", "A ").startswith(message.replace("An ", "A ").rstrip("."))
    assert Round.objects.values("state", "opens_at", "closes_at").get(pk=rnd.pk) == before


def test_an_open_round_keeps_its_opening_and_its_close_only_moves_later(tribe, cards, open_round):
    opens_at, closes_at = open_round.opens_at, open_round.closes_at
    with pytest.raises(RoundRejected, match="opening time can no longer change"):
        open_round.set_times(opens_at=opens_at + timedelta(days=2), closes_at=closes_at)
    with pytest.raises(RoundRejected, match="must be later"):
        open_round.set_times(opens_at=opens_at, closes_at=closes_at - timedelta(days=1))
    open_round.set_times(opens_at=opens_at, closes_at=closes_at + timedelta(days=1))
    open_round.refresh_from_db()
    assert open_round.opens_at == opens_at and open_round.closes_at == closes_at + timedelta(days=1)


def test_a_closed_round_never_changes_its_times(tribe, cards):
    rnd = make_past_round(tribe)
    rnd.close()
    with pytest.raises(RoundRejected):
        rnd.set_times(opens_at=rnd.opens_at, closes_at=rnd.closes_at + timedelta(days=1))
    with pytest.raises(RoundRejected):
        rnd.extend(closes_at=timezone.now() + timedelta(days=1))


def test_a_scheduled_round_that_has_started_cannot_be_cancelled(tribe, cards):
    rnd = draft(tribe, opens_in=timedelta(minutes=1))
    rnd.schedule()
    Round.objects.filter(pk=rnd.pk).update(opens_at=timezone.now() - timedelta(minutes=1))
    with pytest.raises(RoundRejected, match="close it instead"):
        rnd.cancel()


def test_a_cancelled_round_never_counts(client, lead, tribe, squad, cards):
    """Cancelling a scheduled round leaves no empty "latest" round and keeps the measured change."""
    for _ in range(3):
        add_member(squad, make_user())
    first = make_past_round(tribe, "Q2", days_ago=120)
    cast(first, squad, cards[0], "rrr")
    first.close()
    second = make_past_round(tribe, "Q3", days_ago=60)
    cast(second, squad, cards[0], "ggg")
    second.close()
    planned = draft(tribe, "Q4", opens_in=timedelta(days=5))
    planned.schedule()
    planned.cancel()
    assert state_of(planned) == Round.State.CANCELLED
    rounds, current = tribe_rounds(tribe)
    assert [r.title for r in rounds] == ["Q3", "Q2"] and current is None
    client.force_login(lead)
    html = client.get(reverse("surveys:tribe-dashboard", args=[tribe.slug]) + "?compare=1").content.decode()
    assert "Q3, closed" in html and "No ballot at all" not in html
    assert Result.objects.get(round=second, squad=squad, card=cards[0]).change == 2.0
    # The cancelled round's time is free again.
    again = draft(tribe, "Q4 again", opens_in=timedelta(days=5))
    again.schedule()


# Through the manage views


@pytest.fixture
def manager(client, lead):
    client.force_login(lead)
    return client


def post(manager, name: str, rnd: Round, data=None):
    return manager.post(reverse(f"surveys:{name}", args=[rnd.pk]), data or {}, follow=True).content.decode()


def test_the_manage_views_make_each_transition(manager, tribe, cards):
    rnd = draft(tribe)
    assert "is scheduled" in post(manager, "round-schedule", rnd)
    assert state_of(rnd) == Round.State.SCHEDULED
    assert "is open" in post(manager, "round-open", rnd)
    assert state_of(rnd) == Round.State.OPEN
    assert "is closed" in post(manager, "round-close", rnd)
    assert state_of(rnd) == Round.State.CLOSED
    other = draft(tribe, "Other", opens_in=timedelta(days=30))
    assert "is cancelled" in post(manager, "round-cancel", other)
    assert state_of(other) == Round.State.CANCELLED
    actions = list(
        AuditEvent.objects.filter(action__startswith="round.")
        .order_by("at", "pk")
        .values_list("action", flat=True)
    )
    assert actions == ["round.scheduled", "round.opened", "round.closed", "round.cancelled"]


def test_the_manage_views_refuse_what_the_state_forbids(manager, tribe, cards, open_round):
    closed = make_past_round(tribe, "Old", days_ago=60)
    closed.close()
    fresh = draft(tribe, "Fresh", opens_in=timedelta(days=30))
    assert "is not open, so there is nothing to close" in post(manager, "round-close", fresh)
    assert "A closed round cannot be opened." in post(manager, "round-open", closed)
    assert "An open round cannot be cancelled." in post(manager, "round-cancel", open_round)
    assert state_of(fresh) == Round.State.DRAFT
    assert state_of(closed) == Round.State.CLOSED
    assert state_of(open_round) == Round.State.OPEN
    assert not AuditEvent.objects.filter(action__startswith="round.").exists()


def test_editing_an_open_round_cannot_move_its_opening(manager, tribe, cards, open_round):
    local = timezone.localtime
    data = {
        "title": open_round.title,
        "opens_at": (local(open_round.opens_at) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"),
        "closes_at": (local(open_round.closes_at) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        "cards": [c.pk for c in cards],
    }
    before = Round.objects.values("opens_at", "closes_at").get(pk=open_round.pk)
    html = manager.post(reverse("surveys:round-edit", args=[open_round.pk]), data).content.decode()
    assert "must be later" in html
    assert Round.objects.values("opens_at", "closes_at").get(pk=open_round.pk) == before


# Through the admin


@pytest.fixture
def staff(client, db):
    client.force_login(make_user("staff", is_staff=True, is_superuser=True))
    return client


def test_the_admin_cannot_set_state_or_times_by_hand(staff, tribe, cards):
    rnd = make_past_round(tribe)
    rnd.close()
    url = reverse("admin:surveys_round_change", args=[rnd.pk])
    page = staff.get(url).content.decode()
    assert 'name="state"' not in page and 'name="opens_at"' not in page
    staff.post(
        url,
        {
            "title": "Renamed",
            "state": "open",
            "opens_at_0": "2030-01-01",
            "opens_at_1": "10:00",
            "round_cards-TOTAL_FORMS": "0",
            "round_cards-INITIAL_FORMS": "0",
        },
    )
    rnd.refresh_from_db()
    assert rnd.state == Round.State.CLOSED and rnd.opens_at.year != 2030


def test_the_admin_actions_go_through_the_state_machine(staff, tribe, cards):
    closed = make_past_round(tribe, "Closed", days_ago=60)
    closed.close()
    planned = draft(tribe, "Planned")
    url = reverse("admin:surveys_round_changelist")
    page = staff.post(url, {"action": "open_rounds", "_selected_action": [closed.pk]}, follow=True)
    assert "A closed round cannot be opened." in page.content.decode()
    assert state_of(closed) == Round.State.CLOSED
    staff.post(url, {"action": "schedule_rounds", "_selected_action": [planned.pk]})
    assert state_of(planned) == Round.State.SCHEDULED
    staff.post(url, {"action": "cancel_rounds", "_selected_action": [planned.pk]})
    assert state_of(planned) == Round.State.CANCELLED
    page = staff.post(url, {"action": "close_rounds", "_selected_action": [planned.pk]}, follow=True)
    assert "A cancelled round cannot be closed." in page.content.decode()


# A squad that finishes early


@pytest.fixture
def early(tribe, squad, cards, alice, bob):
    """Checkout has finished the open round with three ballots; Fraud is still voting."""
    add_member(squad, make_user())
    fraud = make_squad(tribe, "Fraud", members=3)
    rnd = make_round(tribe, "Running")
    cast(rnd, squad, cards[0], "ggr", comments=["Done early"])
    cast(rnd, fraud, cards[0], "rrr", comments=["Still voting"])
    RoundSquad.objects.get(round=rnd, squad=squad).close()
    return rnd, fraud


def test_a_squad_that_finished_sees_its_results_at_once(client, squad, cards, alice, coach, lead, early):
    rnd, _ = early
    for person in (alice, coach, lead):
        client.force_login(person)
        html = client.get(reverse("surveys:squad", args=[squad.slug])).content.decode()
        assert "2 green · 0 yellow · 1 red" in html, person
    client.force_login(alice)
    response = client.post(
        reverse("surveys:vote", args=[rnd.pk, squad.slug]), {f"card-{cards[0].pk}-colour": "red"}
    )
    assert response.status_code == 409 and b"has finished this health check" in response.content


def test_squads_still_voting_stay_hidden_in_html_and_csv(client, tribe, squad, lead, early):
    rnd, fraud = early
    client.force_login(lead)
    html = client.get(
        reverse("surveys:tribe-dashboard", args=[tribe.slug]) + f"?round={rnd.pk}"
    ).content.decode()
    assert "1 of 2 squads done" in html
    assert squad.name in html and fraud.name not in html.split("<table")[1]
    assert "Still voting" not in html
    export = client.get(reverse("surveys:tribe-export", args=[tribe.slug]) + f"?round={rnd.pk}")
    rows = list(csv.reader(io.StringIO(export.content.decode())))
    assert {row[1] for row in rows[1:]} == {squad.name}
    assert not Result.objects.filter(round=rnd, squad=fraud).exists()
    assert not TribeResult.objects.filter(round=rnd).exists()
    fraud_page = client.get(reverse("surveys:squad", args=[fraud.slug]) + f"?round={rnd.pk}")
    assert fraud_page.status_code == 404


def test_closing_the_round_finishes_every_squad_still_voting(tribe, squad, cards, early):
    rnd, fraud = early
    finished_at = RoundSquad.objects.get(round=rnd, squad=squad).closed_at
    rnd.close()
    assert RoundSquad.objects.get(round=rnd, squad=squad).closed_at == finished_at
    assert RoundSquad.objects.get(round=rnd, squad=fraud).state == RoundSquad.State.CLOSED
    assert Result.objects.get(round=rnd, squad=fraud, card=cards[0]).reds == 3
    assert TribeResult.objects.filter(round=rnd).count() == len(cards)


def test_the_lead_finishes_one_squad_from_the_round_page(client, lead, tribe, squad, cards, open_round):
    client.force_login(lead)
    url = reverse("surveys:squad-finish", args=[open_round.pk, squad.slug])
    assert "has finished" in client.post(url, follow=True).content.decode()
    assert RoundSquad.objects.get(round=open_round, squad=squad).state == RoundSquad.State.CLOSED
    assert state_of(open_round) == Round.State.OPEN
    assert AuditEvent.objects.filter(action=AuditEvent.Action.SQUAD_FINISHED).count() == 1
    client.post(url)  # finishing twice records nothing more
    assert AuditEvent.objects.filter(action=AuditEvent.Action.SQUAD_FINISHED).count() == 1


# The tribe column


def test_the_tribe_change_compares_the_same_squads(tribe, squad, cards):
    """A struggling squad falling below the minimum moves nothing: no squad improved."""
    strong, weak = make_squad(tribe, "Strong", members=3), make_squad(tribe, "Weak", members=3)
    first = make_past_round(tribe, "Q2", days_ago=120)
    cast(first, strong, cards[0], "ggy")
    cast(first, weak, cards[0], "rrr")
    first.close()
    second = make_past_round(tribe, "Q3", days_ago=60)
    cast(second, strong, cards[0], "ggy")
    cast(second, weak, cards[0], "rr")  # below the minimum now
    second.close()
    column = TribeResult.objects.get(round=second, card=cards[0])
    assert column.change == 0 and column.compared == 1 and column.reached == 1
    assert column.change_direction == "same"
