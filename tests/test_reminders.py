"""Reminder emails for members who have not voted yet."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from surveys.models import AuditEvent, ReminderPreference, Round, RoundSquad, SquadRole
from surveys.services import AnswerInput, ballot_submit, reminders_send

from .factories import add_member, make_round, make_squad, make_user


def vote(rnd, squad, user, cards) -> None:
    ballot_submit(
        round=rnd,
        squad=squad,
        voter=f"user:{user.pk}",
        answers=[AnswerInput(cards[0].pk, "red", "worse", "Ouch")],
    )


def test_members_who_have_not_voted_get_one_reminder(closing_soon, squad, cards, alice, bob, coach):
    vote(closing_soon, squad, alice, cards)
    assert reminders_send(days=2) == 1
    assert [m.to for m in mail.outbox] == [[bob.email]]
    body = mail.outbox[0].body
    assert "Closing soon, Checkout" in body
    assert reverse("surveys:vote", args=[closing_soon.pk, squad.slug]) in body
    # Nothing about anyone's votes.
    for word in ("red", "Ouch", "alice", "worse"):
        assert word not in body.lower()


def test_nobody_gets_two_reminders_on_the_same_day(closing_soon, bob):
    assert reminders_send(days=2) == 1
    assert reminders_send(days=2) == 0
    tomorrow = timezone.now() + timedelta(days=1) - timedelta(minutes=1)
    if timezone.localdate(tomorrow) != timezone.localdate():
        assert reminders_send(days=2, now=tomorrow) == 1
    assert len(mail.outbox) in (1, 2)


def test_who_does_not_get_a_reminder(tribe, squad, cards, bob):
    make_round(tribe, "Far off", opens_in=timedelta(days=-1), lasts=timedelta(days=20))
    make_round(tribe, "Draft", state=Round.State.DRAFT, lasts=timedelta(days=1))
    no_email = make_user()
    no_email.email = ""
    no_email.save()
    add_member(squad, no_email)
    assert reminders_send(days=2) == 0
    assert mail.outbox == []


def test_members_can_turn_reminders_off(client, closing_soon, bob):
    client.force_login(bob)
    client.post(reverse("surveys:reminder-settings"), {})
    assert ReminderPreference.objects.get(user=bob).enabled is False
    assert reminders_send(days=2) == 0
    client.post(reverse("surveys:reminder-settings"), {"enabled": "on"})
    assert reminders_send(days=2) == 1


def test_the_command_reports_what_it_sent(closing_soon, bob, capsys):
    call_command("send_reminders", "--days", "2")
    assert "Sent 1 reminder." in capsys.readouterr().out


# The personal link in a reminder


def link_in(body: str) -> str:
    found = re.search(r"http://testserver(\S+\?signin=\S+)", body)
    assert found, body
    return found.group(1)


@pytest.fixture
def reminded(settings, closing_soon, squad, bob):
    settings.SITE_URL = "http://testserver"
    assert reminders_send(days=2) == 1
    return link_in(mail.outbox[0].body)


def test_the_reminder_link_signs_its_person_in_on_their_ballot(client, reminded, closing_soon, squad, bob):
    response = client.get(reminded)
    vote_page = reverse("surveys:vote", args=[closing_soon.pk, squad.slug])
    assert response.status_code == 302 and response["Location"] == vote_page  # the token leaves the address
    page = client.get(vote_page)
    assert page.status_code == 200 and page.wsgi_request.user == bob
    event = AuditEvent.objects.get(action=AuditEvent.Action.SIGNED_IN)
    assert (event.actor, event.detail) == (bob, {"method": "reminder link"})


def test_the_link_works_for_no_other_page(client, reminded, tribe, closing_soon, squad, bob):
    token = reminded.split("?", 1)[1]
    other_squad = make_squad(tribe, "Search")
    add_member(other_squad, bob)
    for page in (
        reverse("surveys:squad", args=[squad.slug]),
        reverse("surveys:home"),
        reverse("surveys:tribe-dashboard", args=[tribe.slug]),
        reverse(
            "surveys:vote", args=[closing_soon.pk, other_squad.slug]
        ),  # another ballot of the same person
    ):
        client.get(f"{page}?{token}")
        assert not client.get(reverse("surveys:home")).wsgi_request.user.is_authenticated, page


def test_the_link_is_refused_once_the_squad_has_finished(client, reminded, closing_soon, squad, cards):
    RoundSquad.objects.get(round=closing_soon, squad=squad).close(
        now=timezone.now(), round=closing_soon, previous=None, card_ids=[c.pk for c in cards]
    )
    response = client.get(reminded, follow=True)
    assert not response.wsgi_request.user.is_authenticated
    assert "That reminder link no longer works" in response.content.decode()


def test_the_link_is_refused_once_the_round_has_closed(client, reminded, closing_soon):
    closing_soon.close()
    client.get(reminded)
    assert not client.get(reverse("surveys:home")).wsgi_request.user.is_authenticated


def test_the_link_is_refused_for_someone_who_left_the_squad(client, reminded, bob):
    SquadRole.objects.filter(user=bob).delete()
    client.get(reminded)
    assert not client.get(reverse("surveys:home")).wsgi_request.user.is_authenticated


def test_a_tampered_link_signs_nobody_in(client, reminded):
    client.get(reminded[:-3] + "abc")
    assert not client.get(reverse("surveys:home")).wsgi_request.user.is_authenticated
