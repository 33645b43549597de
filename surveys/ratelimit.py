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


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return any(address in network for network in settings.TRUSTED_PROXIES)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, or None.

    X-Forwarded-For is read only when the request comes from one of our TRUSTED_PROXIES; then
    the client is the last address in it that is not one of those proxies (each proxy appends
    the address it saw, and anything before that came from the client itself).
    """
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return None
    if _trusted(address):
        for entry in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
            try:
                forwarded = ipaddress.ip_address(entry.strip())
            except ValueError:
                break  # a malformed entry: trust nothing before it
            address = forwarded
            if not _trusted(forwarded):
                break
    return str(address)


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
    RateLimit.objects.get_or_create(key=key, window=window, defaults={"period": period})
    RateLimit.objects.filter(key=key, window=window).update(hits=F("hits") + 1)
    # Every expired row of windows this long, whatever its key.
    RateLimit.objects.filter(period=period, window__lt=window - 1).delete()
    return RateLimit.objects.filter(key=key, window=window).values_list("hits", flat=True).get()
