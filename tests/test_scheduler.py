"""The scheduler: manage.py tick does what the clock calls for, once, and --loop stops cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

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


def ticks_at_once() -> list[list[str]]:
    """Two schedulers released together, each on its own connection: what each one did."""
    done: list[list[str]] = []
    lock = threading.Lock()

    def run() -> None:
        did = tick()
        with lock:
            done.append(did)

    all_at_once(run, run)
    return done


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
    done = ticks_at_once()
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


@pytest.mark.django_db(transaction=True)
def test_two_tick_processes_at_once_do_everything_once(tribe, squad, cards, settings):
    """Two `manage.py tick` processes on one PostgreSQL database: each thing happens once."""
    needs_postgres()
    from django.db import connection

    from surveys.models import Cadence, Channel, Notification, ReminderLog
    from surveys.notify import seal

    from .test_channels import Receiver

    receiver = Receiver()
    for n in range(3):
        add_member(squad, make_user(f"voter{n}"))
    make_past_round(tribe, "Due", days_ago=30)
    make_round(tribe, "Soon", opens_in=timedelta(days=-1), lasts=timedelta(days=1, hours=12))
    Cadence.objects.create(tribe=tribe, every="monthly", open_days=5)
    channel = Channel.objects.create(
        tribe=tribe, kind="slack", sealed_url=seal(f"{receiver.url}/hook"), url_hint="x"
    )
    Channel.objects.filter(pk=channel.pk).update(added_at=timezone.now() - timedelta(days=40))
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "DEBUG": "true",
        "REDIS_URL": "",
        "WEBHOOK_HOSTS": "127.0.0.1",
        "WEBHOOK_ALLOW_HTTP": "true",
        "SECRET_KEY": settings.SECRET_KEY,
        "WEBHOOK_KEY": settings.WEBHOOK_KEY,
    }
    ticks = [
        subprocess.Popen(
            [sys.executable, "manage.py", "tick"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outs = [tick.communicate(timeout=120)[0] for tick in ticks]
    receiver.server.shutdown()
    assert [tick.returncode for tick in ticks] == [0, 0]
    said = "".join(outs)
    assert said.count("Closed Payments: Due") == 1
    assert said.count("Scheduled Payments:") == 1
    assert Round.objects.filter(cadence_day__isnull=False).count() == 1
    assert AuditEvent.objects.filter(action=AuditEvent.Action.ROUND_CLOSED).count() == 1
    assert ReminderLog.objects.count() == 3  # one reminder each, not two
    assert sum(int(n) for n in re.findall(r"^Sent (\d+) reminders?$", said, re.M)) == 3
    # The channel heard once each that "Soon" is open and closes within a day, and that "Due" is published.
    assert len(receiver.posts) == 3 and Notification.objects.filter(state="sent").count() == 3
