"""The scheduler: manage.py tick does what the clock calls for, once, and --loop stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command

from surveys.models import AuditEvent, Round, TickLog
from surveys.services import tick

from .factories import add_member, make_past_round, make_round, make_user
from .load.serving import ROOT
from .test_hostile import all_at_once, needs_postgres


def test_tick_opens_closes_and_reminds_then_records_what_it_did(tribe, squad, cards, alice, bob, capsys):
    due = make_past_round(tribe, "Due", days_ago=30)
    scheduled = make_round(
        tribe, "Next", state=Round.State.SCHEDULED, opens_in=timedelta(minutes=5), lasts=timedelta(days=1)
    )
    call_command("tick")
    assert "Closed Payments: Due" in capsys.readouterr().out
    due.refresh_from_db()
    assert due.state == Round.State.CLOSED
    later = scheduled.opens_at + timedelta(minutes=1)
    did = tick(now=later)
    assert did[0] == "opened Payments: Next"
    assert did[1] == "sent 2 reminders"  # the new round closes within REMINDER_DAYS
    assert len(mail.outbox) == 2 and "Next, Checkout" in mail.outbox[0].body
    assert tick(now=later) == []  # nothing twice
    assert [log.did for log in TickLog.objects.order_by("at")] == [["closed Payments: Due"], did]


def test_tick_records_nothing_when_nothing_is_due(db):
    assert tick() == []
    assert not TickLog.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_at_once_do_everything_once(tribe, squad, cards):
    needs_postgres()
    for n in range(4):
        add_member(squad, make_user(f"voter{n}"))
    make_past_round(tribe, "Due", days_ago=30)
    soon = make_round(tribe, "Soon", opens_in=timedelta(days=-1), lasts=timedelta(days=1, hours=12))
    done: list[list[str]] = []
    lock = threading.Lock()

    def run() -> None:
        did = tick()
        with lock:
            done.append(did)

    all_at_once(run, run)
    assert AuditEvent.objects.filter(action=AuditEvent.Action.ROUND_CLOSED).count() == 1
    assert len(mail.outbox) == 4  # one reminder each, not two
    closed = [line for did in done for line in did if line.startswith("closed")]
    sent = sum(int(line.split()[1]) for did in done for line in did if line.startswith("sent"))
    assert closed == ["closed Payments: Due"] and sent == 4
    assert Round.objects.get(pk=soon.pk).state == Round.State.OPEN


def test_the_loop_stops_cleanly_on_sigterm(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'tick.sqlite3'}",
        "DEBUG": "true",
        "REDIS_URL": "",
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    loop = subprocess.Popen(
        [sys.executable, "manage.py", "tick", "--loop", "--every", "0.2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert "Scheduler running" in loop.stdout.readline()
    loop.send_signal(signal.SIGTERM)
    out, _ = loop.communicate(timeout=20)
    assert loop.returncode == 0 and "Scheduler stopped." in out


def test_staff_read_what_the_scheduler_did_and_change_nothing(client, tribe, squad, cards):
    make_past_round(tribe, "Due", days_ago=30)
    tick()
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    page = client.get("/admin/surveys/ticklog/")
    assert page.status_code == 200 and "closed Payments: Due" in page.content.decode()
    assert client.get("/admin/surveys/ticklog/add/").status_code == 403
