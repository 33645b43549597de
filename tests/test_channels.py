"""Slack and Teams: a tribe's channel hears about its rounds, posted to a real HTTP receiver on loopback."""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from surveys.models import AuditEvent, Channel, Notification, Round, RoundSquad
from surveys.notify import ATTEMPTS, seal, unseal, url_hint
from surveys.services import tick

from .factories import add_member, cast, make_round, make_squad, make_tribe, make_user
from .test_hostile import all_at_once, needs_postgres


class Receiver:
    """An incoming-webhook endpoint: records what it is sent, and answers as told."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict]] = []
        self.answers: list[int] = []  # status codes to give, in turn; then 200
        self.delay = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.posts.append((self.path, json.loads(body)))
                time.sleep(receiver.delay)
                status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"no")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def bodies(self, path: str) -> list[dict]:
        return [body for where, body in self.posts if where == path]


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_HOSTS = ["127.0.0.1"]
    settings.WEBHOOK_ALLOW_HTTP = True
    settings.WEBHOOK_TIMEOUT = 0.5
    settings.REMINDER_DAYS = 0
    found = Receiver()
    yield found
    found.server.shutdown()


def add_channel(client, tribe, kind: str, url: str):
    return client.post(reverse("surveys:channel-add", args=[tribe.slug]), {"kind": kind, "url": url})


@pytest.fixture
def channels(client, tribe, lead, receiver):
    client.force_login(lead)
    add_channel(client, tribe, "slack", f"{receiver.url}/slack/T000/B000/XXXXsecret")
    add_channel(client, tribe, "teams", f"{receiver.url}/teams/workflow?sig=secret")
    return list(Channel.objects.order_by("kind"))


def test_a_lead_adds_a_channel_whose_url_is_never_shown_again(client, tribe, lead, channels, receiver):
    slack = channels[0]
    assert receiver.url not in slack.sealed_url and "secret" not in slack.sealed_url
    assert unseal(slack.sealed_url) == f"{receiver.url}/slack/T000/B000/XXXXsecret"
    page = client.get(reverse("surveys:schedule", args=[tribe.slug])).content.decode()
    assert "secret" not in page and "XXXX" not in page
    assert url_hint(unseal(slack.sealed_url)) in page  # 127.0.0.1/…cret
    assert AuditEvent.objects.filter(action=AuditEvent.Action.CHANNEL_ADDED).count() == 2


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://hooks.slack.com/services/x", "must start with https://"),
        ("https://internal.example.com/hook", "Webhooks can only go to hooks.slack.com"),
        ("https://user:pw@hooks.slack.com/x", "That is not a webhook URL"),
        ("not a url", "That is not a URL"),
    ],
)
def test_a_bad_webhook_url_is_refused_with_a_clear_message_and_kept_on_screen(
    client, tribe, lead, url, message
):
    client.force_login(lead)
    response = add_channel(client, tribe, "slack", url)
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page and f'value="{url}"' in page  # what was typed stays on screen
    assert not Channel.objects.exists()


def test_one_channel_per_service(client, tribe, lead, channels, receiver):
    response = add_channel(client, tribe, "slack", f"{receiver.url}/slack/other")
    assert response.status_code == 400 and "has a Slack channel already" in response.content.decode()
    assert Channel.objects.count() == 2


def test_the_channel_hears_opened_closing_and_published_with_the_right_payloads(
    tribe, cards, channels, receiver
):
    squad, other = make_squad(tribe, "Checkout", members=3), make_squad(tribe, "Search", members=3)
    rnd = make_round(
        tribe, "2027 Q1", state=Round.State.SCHEDULED, opens_in=timedelta(minutes=5), lasts=timedelta(days=3)
    )
    opened = rnd.opens_at + timedelta(minutes=1)
    assert "posted 2 notifications" in tick(now=opened)
    slack, teams = (
        receiver.bodies("/slack/T000/B000/XXXXsecret"),
        receiver.bodies("/teams/workflow?sig=secret"),
    )
    assert len(slack) == len(teams) == 1
    assert "The Payments health check 2027 Q1 is open until" in slack[0]["text"]
    assert slack[0]["blocks"][0]["type"] == "section"
    assert slack[0]["blocks"][1]["elements"][0]["url"].endswith("/")
    card = teams[0]["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["type"] == "AdaptiveCard"
    assert "is open until" in card["content"]["body"][0]["text"]
    assert card["content"]["actions"][0]["type"] == "Action.OpenUrl"

    cast(rnd, squad, cards[0], "ggy")
    RoundSquad.objects.get(round=rnd, squad=squad).close(
        now=opened, round=rnd, previous=None, card_ids=[c.pk for c in cards]
    )
    tick(now=rnd.closes_at - timedelta(hours=20))
    closing = receiver.bodies("/slack/T000/B000/XXXXsecret")[-1]["text"]
    assert "closes" in closing and "1 of 2 squads are done" in closing

    tick(now=rnd.closes_at + timedelta(minutes=1))
    published = receiver.bodies("/teams/workflow?sig=secret")[-1]["attachments"][0]["content"]
    assert "results of the Payments health check 2027 Q1 are published" in published["body"][0]["text"]
    assert published["actions"][0]["url"].endswith(f"/tribes/payments/?round={rnd.pk}")
    assert len(receiver.posts) == 6
    tick(now=rnd.closes_at + timedelta(hours=1))
    assert len(receiver.posts) == 6  # each once

    # Nothing about any person in any message: no name, username or address.
    everything = json.dumps([body for _, body in receiver.posts]).lower()
    for user in get_user_model().objects.all():
        for detail in (user.username, user.email, user.get_full_name()):
            assert not detail or detail.lower() not in everything, detail
    assert other.name.lower() not in everything and squad.name.lower() not in everything


def test_a_failing_receiver_is_retried_with_back_off_and_shown_to_the_lead(
    client, tribe, cards, channels, receiver
):
    Channel.objects.filter(kind="teams").delete()
    rnd = make_round(
        tribe, "2027 Q1", state=Round.State.SCHEDULED, opens_in=timedelta(minutes=5), lasts=timedelta(days=3)
    )
    receiver.answers = [500, 503]
    now = rnd.opens_at + timedelta(minutes=1)
    did = tick(now=now)
    assert "opened Payments: 2027 Q1" in did and "could not post 1 notification (will try again)" in did
    note = Notification.objects.get()
    assert (note.state, note.attempts, note.next_attempt_at) == ("pending", 1, now + timedelta(minutes=1))
    assert note.last_error.startswith("HTTP 500")
    page = client.get(reverse("surveys:schedule", args=[tribe.slug])).content.decode()
    assert "Retrying" in page and "HTTP 500" in page
    assert (
        "1 message to the chat channel could not be posted"
        in client.get(reverse("surveys:manage")).content.decode()
    )

    assert tick(now=now + timedelta(seconds=30)) == []  # not yet: it waits a minute
    tick(now=now + timedelta(minutes=1))  # 503: now it waits two
    assert Notification.objects.get().next_attempt_at == now + timedelta(minutes=3)
    assert "posted 1 notification" in tick(now=now + timedelta(minutes=3))
    note.refresh_from_db()
    assert (note.state, note.attempts, note.last_error) == ("sent", 3, "")
    assert len(receiver.posts) == 3


def test_a_receiver_that_never_answers_is_given_up_without_holding_the_scheduler(
    client, tribe, cards, channels, receiver
):
    Channel.objects.filter(kind="slack").delete()
    rnd = make_round(
        tribe, "2027 Q1", state=Round.State.SCHEDULED, opens_in=timedelta(minutes=5), lasts=timedelta(days=3)
    )
    receiver.delay = 2  # longer than the timeout
    now = rnd.opens_at + timedelta(minutes=1)
    for attempt in range(ATTEMPTS):
        tick(now=now)
        now += timedelta(minutes=2**attempt)
    note = Notification.objects.get()
    assert note.state == "failed" and note.attempts == ATTEMPTS and "timed out" in note.last_error
    assert Round.objects.get().state == Round.State.OPEN  # the tick went on with its work
    page = client.get(reverse("surveys:schedule", args=[tribe.slug])).content.decode()
    assert "Gave up" in page
    receiver.delay = 0
    client.post(reverse("surveys:channel-retry", args=[tribe.slug, note.channel_id]))
    tick()
    assert Notification.objects.get().state == "sent"


def test_a_channel_added_later_hears_only_what_happens_after(client, tribe, cards, lead, receiver):
    make_round(
        tribe, "Earlier", opens_in=timedelta(days=-40), lasts=timedelta(days=5), state=Round.State.CLOSED
    )
    make_round(tribe, "Running", opens_in=timedelta(days=-2), lasts=timedelta(days=5))
    client.force_login(lead)
    add_channel(client, tribe, "slack", f"{receiver.url}/slack/x")
    tick()
    assert receiver.posts == [] and not Notification.objects.exists()


def test_removing_a_channel_stops_its_messages_and_is_audited(client, tribe, lead, channels):
    for channel in channels:
        client.post(reverse("surveys:channel-remove", args=[tribe.slug, channel.pk]))
    assert not Channel.objects.exists()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.CHANNEL_REMOVED).count() == 2


def test_a_channel_of_another_tribe_is_a_404(client, tribe, channels, charlie):
    from surveys.models import TribeRole

    other = charlie.squad_roles.get().squad.tribe
    TribeRole.objects.create(tribe=other, user=charlie, role=TribeRole.Role.LEAD)
    client.force_login(charlie)
    for name in ("channel-remove", "channel-retry"):
        assert client.post(reverse(f"surveys:{name}", args=[tribe.slug, channels[0].pk])).status_code == 404
        assert client.post(reverse(f"surveys:{name}", args=[other.slug, channels[0].pk])).status_code == 404
    assert Channel.objects.count() == 2


def test_a_url_sealed_under_another_key_is_reported_not_posted(settings, tribe, cards, receiver):
    lead = make_user("lead2")
    channel = Channel.objects.create(
        tribe=tribe, kind="slack", sealed_url=seal(f"{receiver.url}/slack/x"), url_hint="x", added_by=lead
    )
    settings.WEBHOOK_KEY = "a new key"
    rnd = make_round(tribe, "2027 Q1", state=Round.State.SCHEDULED, opens_in=timedelta(minutes=5))
    add_member(make_squad(tribe), lead)
    tick(now=rnd.opens_at + timedelta(minutes=1))
    note = Notification.objects.get(channel=channel)
    assert note.state == "failed" and "add the channel again" in note.last_error
    assert receiver.posts == []


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_at_once_post_each_message_once(settings, receiver):
    needs_postgres()
    tribe = make_tribe("Payments")
    lead = make_user("lead")
    for kind in ("slack", "teams"):
        Channel.objects.create(
            tribe=tribe, kind=kind, sealed_url=seal(f"{receiver.url}/{kind}"), url_hint=kind, added_by=lead
        )
    before = make_round(tribe, "Before", opens_in=timedelta(days=-8), lasts=timedelta(days=8, minutes=10))
    now = make_round(
        tribe, "Now", state=Round.State.SCHEDULED, opens_in=timedelta(minutes=15), lasts=timedelta(days=3)
    )
    when = now.opens_at + timedelta(minutes=1)  # "Now" opens, "Before" has closed: two messages a channel
    assert before.closes_at < when
    all_at_once(lambda: tick(now=when), lambda: tick(now=when))
    assert sorted(path for path, _ in receiver.posts) == ["/slack", "/slack", "/teams", "/teams"]
    assert Notification.objects.filter(state="sent").count() == 4


def test_a_host_no_longer_allowed_is_not_posted_to(settings, tribe, cards, channels, receiver):
    settings.WEBHOOK_HOSTS = ["hooks.slack.com"]
    rnd = make_round(tribe, "2027 Q1", state=Round.State.SCHEDULED, opens_in=timedelta(minutes=5))
    tick(now=rnd.opens_at + timedelta(minutes=1))
    assert receiver.posts == []
    assert {n.state for n in Notification.objects.all()} == {"failed"}
    assert "Webhooks can only go to hooks.slack.com" in Notification.objects.first().last_error


def test_a_malformed_answer_is_a_failed_post_not_a_failed_tick(tribe, cards, lead, receiver):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def answer_nonsense() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(b"HELLO WORLD\r\n\r\n")

    threading.Thread(target=answer_nonsense, daemon=True).start()
    Channel.objects.create(
        tribe=tribe,
        kind="slack",
        sealed_url=seal(f"http://127.0.0.1:{listener.getsockname()[1]}/hook"),
        url_hint="x",
        added_by=lead,
    )
    rnd = make_round(tribe, "2027 Q1", state=Round.State.SCHEDULED, opens_in=timedelta(minutes=5))
    did = tick(now=rnd.opens_at + timedelta(minutes=1))
    listener.close()
    assert did == ["opened Payments: 2027 Q1", "could not post 1 notification (will try again)"]
    note = Notification.objects.get()
    assert (note.state, note.attempts) == ("pending", 1) and "unreadable" in note.last_error


def test_a_message_goes_out_on_the_tick_that_queues_it(tribe, cards, channels, receiver):
    Channel.objects.update(added_at=timezone.now() - timedelta(days=2))
    make_round(tribe, "Running", opens_in=timedelta(days=-1), lasts=timedelta(days=5))
    assert "posted 2 notifications" in tick()  # at the real time, as the loop runs it
