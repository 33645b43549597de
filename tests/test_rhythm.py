"""A tribe's rhythm: the scheduler makes, opens and closes its rounds; the lead skips and shifts them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from surveys.models import AuditEvent, Cadence, Round
from surveys.services import cadence_save, tick

from .factories import add_tribe_role, make_round, make_tribe, make_user
from .test_hostile import needs_postgres
from .test_scheduler import ticks_at_once


@pytest.fixture(autouse=True)
def _stockholm(settings):
    settings.TIME_ZONE = "Europe/Stockholm"
    settings.REMINDER_DAYS = 0


def at(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=timezone.get_default_timezone())


def rhythm(tribe, lead, *, now: datetime, **values) -> Cadence:
    values = {"every": "quarterly", "weekday": 0, "at": time(9, 0), "open_days": 7, **values}
    return cadence_save(cadence=Cadence(tribe=tribe, **values), cards=[], by=lead, now=now)


def scheduled(tribe) -> list[tuple[str, str, str]]:
    """The tribe's rounds as (title, state, local opening), oldest first."""
    return [
        (r.title, r.state, f"{timezone.localtime(r.opens_at):%Y-%m-%d %H:%M %Z}")
        for r in Round.objects.filter(tribe=tribe).order_by("opens_at")
    ]


def run_until(when: datetime, start: datetime, step: timedelta = timedelta(hours=6)) -> list[str]:
    """Tick every `step` from start to when, as the loop would (coarser, to keep the test quick)."""
    did, now = [], start
    while now <= when:
        did += tick(now=now)
        now += step
    return did


def test_a_quarterly_tribe_runs_its_rounds_without_anyone_making_one(tribe, cards, lead):
    start = at(2026, 11, 21)
    rhythm(tribe, lead, now=start)
    # Made at once, across the year's end, in winter time: the first Monday of 2027.
    assert scheduled(tribe) == [("2027 Q1", "scheduled", "2027-01-04 09:00 CET")]
    q1 = Round.objects.get(title="2027 Q1")
    assert q1.opens_at.astimezone(UTC).hour == 8
    assert set(q1.round_cards.values_list("card_id", flat=True)) == {c.pk for c in cards}
    assert tick(now=start) == []  # nothing twice

    did = run_until(at(2027, 4, 13), start + timedelta(hours=6))
    # Opened on time, the next one made as it opened, closed after a week; Q2 in summer time.
    assert scheduled(tribe) == [
        ("2027 Q1", "closed", "2027-01-04 09:00 CET"),
        ("2027 Q2", "closed", "2027-04-05 09:00 CEST"),
        ("2027 Q3", "scheduled", "2027-07-05 09:00 CEST"),
    ]
    assert Round.objects.get(title="2027 Q2").opens_at.astimezone(UTC).hour == 7
    assert "opened Payments: 2027 Q1" in did and "closed Payments: 2027 Q1" in did
    assert any(line.startswith("scheduled Payments: 2027 Q2") for line in did)
    made = AuditEvent.objects.filter(action=AuditEvent.Action.ROUND_CREATED, detail__by="the tribe's rhythm")
    assert made.count() == 3


def test_monthly_rounds_cross_month_and_year_ends_and_daylight_saving(tribe, cards, lead):
    start = at(2026, 11, 21)
    rhythm(tribe, lead, now=start, every="monthly", weekday=2, at=time(10, 30), open_days=5)
    run_until(at(2027, 4, 9), start)
    assert [(title, opens) for title, _, opens in scheduled(tribe)] == [
        ("December 2026", "2026-12-02 10:30 CET"),
        ("January 2027", "2027-01-06 10:30 CET"),
        ("February 2027", "2027-02-03 10:30 CET"),
        ("March 2027", "2027-03-03 10:30 CET"),
        ("April 2027", "2027-04-07 10:30 CEST"),  # after the change to summer time on 28 March
        ("May 2027", "2027-05-05 10:30 CEST"),
    ]
    # Each stayed open five days, local time to local time, across the change too.
    for rnd in Round.objects.filter(tribe=tribe).exclude(state="scheduled"):
        local_open, local_close = timezone.localtime(rnd.opens_at), timezone.localtime(rnd.closes_at)
        assert (local_close.date() - local_open.date(), local_close.time()) == (
            timedelta(days=5),
            time(10, 30),
        )


def test_every_few_weeks_counts_from_its_first_day(tribe, cards, lead):
    start = at(2026, 11, 21)
    rhythm(tribe, lead, now=start, every="weeks", weeks=3, weekday=4, anchor=date(2026, 11, 27), open_days=4)
    run_until(at(2026, 12, 20), start)
    assert [title for title, _, _ in scheduled(tribe)] == [
        "Week of 27 Nov 2026",
        "Week of 18 Dec 2026",
        "Week of 8 Jan 2027",
    ]


def test_every_few_weeks_without_a_first_day_counts_from_the_first_coming_weekday(tribe, cards, lead):
    start = at(2026, 11, 21)  # a Saturday
    rhythm(tribe, lead, now=start, every="weeks", weeks=6, weekday=0, open_days=3)
    assert Cadence.objects.get().anchor == date(2026, 11, 23)
    run_until(at(2027, 1, 10), start)
    assert [title for title, _, _ in scheduled(tribe)] == [
        "Week of 23 Nov 2026",
        "Week of 4 Jan 2027",
        "Week of 15 Feb 2027",
    ]


def test_a_round_open_across_a_daylight_saving_change_closes_at_the_same_local_time(tribe, cards, lead):
    start = at(2027, 3, 1)
    rhythm(tribe, lead, now=start, every="weeks", weeks=4, weekday=0, anchor=date(2027, 3, 22), open_days=13)
    run_until(at(2027, 4, 5), start)
    rnd = Round.objects.get(title="Week of 22 Mar 2027")
    assert rnd.state == Round.State.CLOSED
    assert f"{timezone.localtime(rnd.opens_at):%d %b %H:%M %Z}" == "22 Mar 09:00 CET"
    assert f"{timezone.localtime(rnd.closes_at):%d %b %H:%M %Z}" == "04 Apr 09:00 CEST"
    assert rnd.closes_at - rnd.opens_at == timedelta(days=13, hours=-1)  # an hour shorter in real time


def test_a_skipped_period_is_never_made_again(client, tribe, cards, lead):
    rhythm(tribe, lead, now=timezone.now())
    first = Round.objects.get(state="scheduled")
    client.force_login(lead)
    response = client.post(
        reverse("surveys:cadence-skip", args=[tribe.slug]), {"next": "manage", "round": first.pk}
    )
    assert response.status_code == 302 and response["Location"] == reverse("surveys:manage")
    first.refresh_from_db()
    assert first.state == Round.State.CANCELLED
    following = Round.objects.get(state="scheduled")
    assert following.cadence_day > first.cadence_day
    tick()
    tick(now=following.opens_at + timedelta(minutes=1))  # it opens; the next one is made, not the skipped one
    assert Round.objects.filter(cadence_day=first.cadence_day).count() == 1
    assert AuditEvent.objects.filter(action=AuditEvent.Action.ROUND_CANCELLED, detail__by="skipped").exists()


def test_a_round_made_by_hand_in_the_way_is_kept_and_its_period_passed_over(tribe, cards, lead):
    start = at(2026, 11, 21)
    manual = make_round(
        tribe,
        "New year check",
        state=Round.State.SCHEDULED,
        opens_in=at(2027, 1, 5) - timezone.now(),
        lasts=timedelta(days=3),
    )
    rhythm(tribe, lead, now=start)
    assert scheduled(tribe) == [
        ("New year check", "scheduled", f"{timezone.localtime(manual.opens_at):%Y-%m-%d %H:%M %Z}"),
        ("2027 Q2", "scheduled", "2027-04-05 09:00 CEST"),
    ]
    text = AuditEvent.objects.filter(action=AuditEvent.Action.ROUND_CREATED).values_list("target", flat=True)
    assert list(text) == ["2027 Q2"]


def test_a_round_of_the_same_title_is_in_the_way_too(tribe, cards, lead):
    make_round(tribe, "2027 Q1", state=Round.State.DRAFT)
    did = tick(now=at(2026, 11, 21))
    assert did == []
    rhythm(tribe, lead, now=at(2026, 11, 21))
    assert Round.objects.get(state="scheduled").title == "2027 Q2"


def test_the_lead_shifts_the_next_round_and_keeps_its_length(client, tribe, cards, lead):
    rhythm(tribe, lead, now=timezone.now(), open_days=10)
    nxt = Round.objects.get(state="scheduled")
    later = timezone.localtime(nxt.opens_at) + timedelta(days=2, hours=3)
    client.force_login(lead)
    url = reverse("surveys:cadence-shift", args=[tribe.slug])
    client.post(url, {"opens_at": f"{later:%Y-%m-%dT%H:%M}", "round": nxt.pk})
    nxt.refresh_from_db()
    assert nxt.opens_at == later and nxt.closes_at - nxt.opens_at == timedelta(days=10)
    # Shifting into the past is refused with a message, keeps what was typed, and changes nothing.
    response = client.post(url, {"opens_at": "2020-01-01T09:00", "round": nxt.pk})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Choose an opening time in the future." in page and 'value="2020-01-01T09:00"' in page
    # So is shifting onto a round made by hand.
    make_round(
        tribe, "By hand", state=Round.State.SCHEDULED, opens_in=later - timezone.now() + timedelta(days=30)
    )
    response = client.post(url, {"opens_at": f"{later + timedelta(days=29):%Y-%m-%dT%H:%M}", "round": nxt.pk})
    assert response.status_code == 400 and "It would overlap By hand" in response.content.decode()
    nxt.refresh_from_db()
    assert nxt.opens_at == later


def test_skip_and_shift_act_only_on_the_round_the_lead_saw(client, tribe, cards, lead):
    rhythm(tribe, lead, now=timezone.now())
    seen = Round.objects.get(state="scheduled")
    tick(now=seen.opens_at + timedelta(minutes=1))  # it opens, and the next one is made
    following = Round.objects.get(state="scheduled")
    client.force_login(lead)
    response = client.post(
        reverse("surveys:cadence-skip", args=[tribe.slug]), {"round": seen.pk}, follow=True
    )
    assert "has changed since the page was loaded" in response.content.decode()
    following.refresh_from_db()
    assert following.state == Round.State.SCHEDULED


def test_changing_the_rhythm_replaces_the_round_it_had_scheduled(client, tribe, cards, lead):
    client.force_login(lead)
    url = reverse("surveys:schedule", args=[tribe.slug])
    form = {"every": "quarterly", "weeks": 6, "weekday": 0, "at": "09:00", "open_days": 7}
    response = client.post(url, form, follow=True)
    assert "is scheduled to open" in response.content.decode()
    quarterly = Round.objects.get(state="scheduled")
    client.post(url, form | {"every": "monthly", "weekday": 3})
    assert not Round.objects.filter(pk=quarterly.pk).exists()
    monthly = Round.objects.get(state="scheduled")
    assert timezone.localtime(monthly.opens_at).weekday() == 3
    client.post(url, form | {"every": "off"})
    assert not Round.objects.filter(state="scheduled").exists()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.CADENCE_CHANGED).count() == 3


def test_the_form_explains_a_round_that_would_outlast_its_period(client, tribe, cards, lead):
    client.force_login(lead)
    url = reverse("surveys:schedule", args=[tribe.slug])
    response = client.post(
        url, {"every": "monthly", "weeks": 6, "weekday": 0, "at": "09:00", "open_days": 25}
    )
    assert response.status_code == 400
    assert "can stay open 1 to 21 days" in response.content.decode()
    assert 'value="25"' in response.content.decode()  # what was typed is kept
    response = client.post(url, {"every": "weeks", "weeks": 2, "weekday": 0, "at": "09:00", "open_days": 14})
    assert "can stay open 1 to 13 days" in response.content.decode()
    assert not Cadence.objects.exists()


def test_the_database_refuses_a_round_longer_than_its_period(tribe):
    with pytest.raises(IntegrityError), transaction.atomic():
        Cadence.objects.create(tribe=tribe, every="weeks", weeks=2, open_days=14)
    with pytest.raises(IntegrityError), transaction.atomic():
        Cadence.objects.create(tribe=tribe, every="quarterly", open_days=85)
    Cadence.objects.create(tribe=tribe, every="quarterly", open_days=84)


def test_a_deck_without_active_cards_makes_no_round_and_says_so(client, tribe, cards, lead):
    tribe.cards.update(retired=True)
    rhythm(tribe, lead, now=timezone.now())
    assert not Round.objects.exists() and tick() == []
    client.force_login(lead)
    assert (
        "the deck has no active cards"
        in client.get(reverse("surveys:schedule", args=[tribe.slug])).content.decode()
    )


def test_leads_of_other_tribes_and_coaches_get_404(client, tribe, cards, lead, coach):
    other_lead = make_user("otherlead")
    add_tribe_role(make_tribe("Discovery"), other_lead)
    rhythm(tribe, lead, now=timezone.now())
    for person in (other_lead, coach):
        client.force_login(person)
        assert client.get(reverse("surveys:schedule", args=[tribe.slug])).status_code == 404
        assert client.post(reverse("surveys:cadence-skip", args=[tribe.slug])).status_code == 404
    assert Round.objects.get().state == Round.State.SCHEDULED


def test_the_manage_page_shows_the_rhythm_and_the_next_round(client, tribe, cards, lead):
    rhythm(tribe, lead, now=timezone.now())
    client.force_login(lead)
    page = client.get(reverse("surveys:manage")).content.decode()
    nxt = Round.objects.get(state="scheduled")
    assert "Rhythm: every quarter, on the first Monday at 09:00, open 7 days." in page
    assert f'Next: <a href="{reverse("surveys:round-detail", args=[nxt.pk])}">{nxt.title}</a>' in page
    assert "Skip it" in page and "Shift it" in page


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_at_once_make_each_round_once(tribe, cards):
    needs_postgres()
    tribes = [tribe] + [make_tribe(f"Tribe {n}") for n in range(3)]
    for each in tribes:
        Cadence.objects.create(tribe=each, every="monthly", open_days=5)
    done = ticks_at_once()
    assert Round.objects.filter(state="scheduled").count() == 4
    made = [line for did in done for line in did if line.startswith("scheduled")]
    assert len(made) == 4 and len(set(made)) == 4
