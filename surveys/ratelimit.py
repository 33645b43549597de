"""A fixed-window rate limit kept in the database, so that every app server counts together."""

from __future__ import annotations

import ipaddress
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from .models import RateLimit


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, or None: the one our load balancer saw, when we run behind one."""
    candidates = [request.META.get("REMOTE_ADDR", "")]
    if settings.BEHIND_PROXY:
        # The balancer appends the address it saw; anything before it came from the client.
        candidates.insert(0, request.META.get("HTTP_X_FORWARDED_FOR", "").rsplit(",", 1)[-1].strip())
    for candidate in candidates:
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return None


def client_address(request: HttpRequest) -> str:
    """The client's address as a rate-limit key."""
    return client_ip(request) or "unknown"


def hits_in_window(key: str, *, period: int, now: datetime | None = None) -> int:
    window = int((now or timezone.now()).timestamp()) // period
    return RateLimit.objects.filter(key=key, window=window).values_list("hits", flat=True).first() or 0


@transaction.atomic
def hit(key: str, *, period: int, now: datetime | None = None) -> int:
    """Count one hit for key in the current window of period seconds; return the window's total."""
    window = int((now or timezone.now()).timestamp()) // period
    RateLimit.objects.get_or_create(key=key, window=window)
    RateLimit.objects.filter(key=key, window=window).update(hits=F("hits") + 1)
    RateLimit.objects.filter(key=key, window__lt=window - 1).delete()
    return RateLimit.objects.filter(key=key, window=window).values_list("hits", flat=True).get()
