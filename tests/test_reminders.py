"""Reminder emails for members who have not voted yet."""

from __future__ import annotations

from datetime import timedelta

from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from surveys.models import ReminderPreference, Round
from surveys.services import AnswerInput, ballot_submit, reminders_send

from .factories import add_member, make_round, make_user


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
