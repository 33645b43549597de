"""Telling a tribe's chat channel about its rounds: Slack and Microsoft Teams incoming webhooks.

The scheduler queues one notification per channel, round and event (opened, closing tomorrow,
results published) and posts them with retries and back-off. A message names the tribe and the
round, counts squads and links to the app; it never names a person. The webhook URL is a secret
that lets anyone post to the channel: it is stored encrypted and only its end is ever shown.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .models import Channel, Notification, Round, RoundSquad, local_time

logger = logging.getLogger(__name__)

# After a failed post, wait 1, 2, 4, 8, 16 minutes... and give up after this many attempts.
ATTEMPTS = 8
# A post that has been "sending" this long died with its scheduler; it may be taken again.
STALE_SENDING = timedelta(minutes=10)


def _fernet() -> Fernet:
    secret = settings.WEBHOOK_KEY or f"webhook-urls:{settings.SECRET_KEY}"
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()))


def seal(url: str) -> str:
    return _fernet().encrypt(url.encode()).decode()


def unseal(sealed: str) -> str | None:
    """The URL, or None when it was sealed under another key (the key changed: add it again)."""
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except InvalidToken:
        return None


def url_hint(url: str) -> str:
    """Enough of the URL to recognise it, never enough to use it: its host and last four characters."""
    return f"{urlsplit(url).hostname}/…{url.rstrip('/')[-4:]}"


def _host_allowed(host: str) -> bool:
    return any(host == allowed or host.endswith("." + allowed) for allowed in settings.WEBHOOK_HOSTS)


def webhook_problem(url: str) -> str | None:
    """Why this URL cannot be a channel's webhook, in words; None when it can."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" and not (parts.scheme == "http" and settings.WEBHOOK_ALLOW_HTTP):
        return _("The webhook URL must start with https://.")
    if not host or parts.username or parts.password:
        return _("That is not a webhook URL: copy it again from the channel's settings.")
    if not _host_allowed(host):
        return _(
            "Webhooks can only go to %(hosts)s; the administrator can allow other hosts with WEBHOOK_HOSTS."
        ) % {"hosts": ", ".join(settings.WEBHOOK_HOSTS)}
    return None


# What the messages say


def _dashboard(rnd: Round) -> str:
    return f"{settings.SITE_URL}{reverse('surveys:tribe-dashboard', args=[rnd.tribe.slug])}?round={rnd.pk}"


def _squads_done(rnd: Round) -> tuple[int, int]:
    counts = RoundSquad.objects.filter(round=rnd).aggregate(
        done=Count("pk", filter=Q(state=RoundSquad.State.CLOSED)), total=Count("pk")
    )
    return counts["done"], counts["total"]


def message_for(rnd: Round, event: str) -> tuple[str, str]:
    """The text and link of a notification: the tribe, the round, counts of squads; never a person.
    It is written in the tribe's language."""
    with translation.override(rnd.tribe.language):
        return _message_for(rnd, event)


def _message_for(rnd: Round, event: str) -> tuple[str, str]:
    names = {"tribe": rnd.tribe.name, "round": rnd.title, "closes": local_time(rnd.closes_at)}
    if event == Notification.Event.OPENED:
        home = f"{settings.SITE_URL}{reverse('surveys:home')}"
        return (
            _(
                "The %(tribe)s health check %(round)s is open until %(closes)s. "
                "It takes about five minutes, and every vote is anonymous."
            )
            % names,
            home,
        )
    done, total = _squads_done(rnd)
    names |= {"done": done, "total": total}
    if event == Notification.Event.CLOSING:
        home = f"{settings.SITE_URL}{reverse('surveys:home')}"
        return (
            _(
                "The %(tribe)s health check %(round)s closes %(closes)s: %(done)s of %(total)s squads are done. "
                "If you have not voted yet, now is the time."
            )
            % names,
            home,
        )
    return (
        _(
            "The results of the %(tribe)s health check %(round)s are published (%(done)s of %(total)s squads took part)."
        )
        % names,
        _dashboard(rnd),
    )


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def payload_for(kind: str, text: str, link: str, event: str) -> dict:
    """The JSON body each service expects from an incoming webhook."""
    label = _("Open the results") if event == Notification.Event.PUBLISHED else _("Open the health check")
    if kind == Channel.Kind.SLACK:
        return {
            "text": f"{text} {link}",
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": _slack_escape(text)}},
                {
                    "type": "actions",
                    "elements": [
                        {"type": "button", "text": {"type": "plain_text", "text": label}, "url": link}
                    ],
                },
            ],
        }
    return {  # Teams: an Adaptive Card, as Teams workflows' incoming webhooks take it
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [{"type": "TextBlock", "text": text, "wrap": True}],
                    "actions": [{"type": "Action.OpenUrl", "title": label, "url": link}],
                },
            }
        ],
    }


# Queueing


def _queue(channels: list[Channel], rounds: list[Round], event: str, now: datetime) -> int:
    wanted = [
        (channel, rnd)
        for rnd in rounds
        for channel in channels
        if channel.tribe_id == rnd.tribe_id and channel.added_at <= _event_time(rnd, event)
    ]
    if not wanted:
        return 0
    have = set(
        Notification.objects.filter(event=event, round__in=rounds).values_list("channel_id", "round_id")
    )
    new, messages = [], {}
    for channel, rnd in wanted:
        if (channel.pk, rnd.pk) not in have:
            if rnd.pk not in messages:  # one message per round, whatever the number of channels
                messages[rnd.pk] = message_for(rnd, event)
            text, link = messages[rnd.pk]
            new.append(
                Notification(
                    channel=channel,
                    round=rnd,
                    event=event,
                    text=text,
                    link=link,
                    created_at=now,
                    next_attempt_at=now,
                )
            )
    created = Notification.objects.bulk_create(new, ignore_conflicts=True)  # another scheduler was quicker
    return len(created)


def _event_time(rnd: Round, event: str) -> datetime:
    """When the event happened (a channel hears only of events after it was added)."""
    if event == Notification.Event.CLOSING:
        return rnd.closes_at - timedelta(days=1)
    return rnd.opens_at if event == Notification.Event.OPENED else rnd.closes_at


def notifications_queue(*, now: datetime | None = None) -> int:
    """Queue what the channels have not heard yet: rounds opened, closing within a day, published."""
    now = now or timezone.now()
    channels = list(Channel.objects.all())
    if not channels:
        return 0
    tribes = {channel.tribe_id for channel in channels}
    since = min(channel.added_at for channel in channels)
    recent = Round.objects.filter(tribe__in=tribes).select_related("tribe")
    open_rounds = list(recent.filter(state=Round.State.OPEN, opens_at__gte=since, closes_at__gt=now))
    closing = [
        rnd
        for rnd in recent.filter(
            state=Round.State.OPEN, closes_at__gt=now, closes_at__lte=now + timedelta(days=1)
        )
        # A round open for a day or less has no "closing tomorrow".
        if rnd.closes_at - rnd.opens_at > timedelta(days=1)
    ]
    published = list(recent.filter(state=Round.State.CLOSED, closes_at__gte=since))
    return (
        _queue(channels, open_rounds, Notification.Event.OPENED, now)
        + _queue(channels, closing, Notification.Event.CLOSING, now)
        + _queue(channels, published, Notification.Event.PUBLISHED, now)
    )


# Delivery


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a webhook answers; it never sends us elsewhere
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def post(url: str, body: dict) -> str | None:
    """Post the JSON body; None when the service took it, otherwise what went wrong, in short."""
    request = urllib.request.Request(  # noqa: S310 - the URL's scheme and host were checked when it was added
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "squad-health-check"},
        method="POST",
    )
    try:
        with _opener.open(request, timeout=settings.WEBHOOK_TIMEOUT) as response:
            if 200 <= response.status < 300:
                return None
            return f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code} {exc.reason}"[:300]
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return (_("Could not reach the service: %(reason)s") % {"reason": reason})[:300]
    except Exception as exc:  # a malformed answer, say: a failed post, never a failed tick
        return (_("The service answered something unreadable: %(error)s") % {"error": type(exc).__name__})[
            :300
        ]


def _claim(note: Notification, now: datetime) -> bool:
    """Take the notification for this scheduler: a conditional update that only one can win."""
    return bool(
        Notification.objects.filter(pk=note.pk, state=note.state, attempts=note.attempts)
        .filter(_due(now))
        # The claim lasts from the moment it is made, however long the tick has been running, and
        # never ends before the tick's own "now", or a scheduler on that clock could take it again.
        .update(state=Notification.State.SENDING, next_attempt_at=max(now, timezone.now()) + STALE_SENDING)
    )


def _due(now: datetime) -> Q:
    return Q(state__in=[Notification.State.PENDING, Notification.State.SENDING], next_attempt_at__lte=now)


def notifications_deliver(*, now: datetime | None = None, limit: int = 20) -> tuple[int, int]:
    """Post the due notifications, each by one scheduler only; returns (sent, failed this time).

    A failure waits 1, 2, 4... minutes before the next attempt, and after ATTEMPTS the
    notification is given up (the tribe's manage page shows it). Posts have a short timeout, and
    at most `limit` go out per tick, so a slow service never holds up the scheduler for long.
    """
    now = now or timezone.now()
    sent = failed = 0
    due = (
        Notification.objects.filter(_due(now))
        .select_related("channel__tribe")
        .order_by("next_attempt_at")[:limit]
    )
    for note in list(due):
        if not _claim(note, now):
            continue
        url = unseal(note.channel.sealed_url)
        # Checked again on every post: the allowed hosts may have changed since the channel was added.
        with translation.override(note.channel.tribe.language):  # the button and errors, as the text
            refused = (
                _("The webhook URL cannot be read with the current key; add the channel again.")
                if url is None
                else webhook_problem(url)
            )
            error = refused or post(url, payload_for(note.channel.kind, note.text, note.link, note.event))
        note.attempts += 1
        if error is None:
            note.state, note.sent_at, note.last_error = Notification.State.SENT, now, ""
            sent += 1
        else:
            failed += 1
            note.last_error = error
            if note.attempts >= ATTEMPTS or refused:
                note.state = Notification.State.FAILED
            else:
                note.state = Notification.State.PENDING
                note.next_attempt_at = now + timedelta(minutes=2 ** (note.attempts - 1))
            logger.warning(
                "Posting to the %s channel %s failed: %s", note.channel.kind, note.channel.pk, error
            )
        with transaction.atomic():
            note.save(update_fields=["attempts", "state", "sent_at", "last_error", "next_attempt_at"])
    return sent, failed


def notification_retry(*, channel: Channel) -> int:
    """Try the channel's given-up notifications again, from the next tick on."""
    return Notification.objects.filter(channel=channel, state=Notification.State.FAILED).update(
        state=Notification.State.PENDING, attempts=0, next_attempt_at=timezone.now()
    )
