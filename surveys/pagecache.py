"""Cached page parts.

Results of closed rounds are frozen, so the HTML drawn from them can be kept. Keys carry
the tribe's version number, which every change to what a tribe's pages show bumps, and
a fingerprint of the code, templates and rules, so a deploy never serves old markup.
What differs per request (the CSRF token) is put in after the cache; access is always
checked before a cached part is used.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

CSRF_PLACEHOLDER = "csrf-placeholder-9c1e0b7d"
TIMEOUT = 24 * 3600
LOCAL_ENTRIES = 256


class _LocalCache:
    """A small in-process layer in front of the shared cache.

    Safe because a key never changes its value: every key carries a version and the release,
    so a change means a new key. The oldest entries make room for new ones.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: OrderedDict[str, object] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str) -> object | None:
        with self.lock:
            value = self.entries.get(key)
            if value is not None:
                self.entries.move_to_end(key)
            return value

    def set(self, key: str, value: object) -> None:
        with self.lock:
            self.entries[key] = value
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


local = _LocalCache(LOCAL_ENTRIES)


def _get(key: str) -> object | None:
    value = local.get(key)
    if value is None:
        value = cache.get(key)
        if value is not None:
            local.set(key, value)
    return value


def _set(key: str, value: object) -> None:
    cache.set(key, value, TIMEOUT)
    local.set(key, value)


@lru_cache(maxsize=1)
def release() -> str:
    """A fingerprint of everything that shapes cached markup: rules, templates and code."""
    digest = hashlib.sha256()
    for name in (
        "HEALTHCHECK_SCORE",
        "HEALTHCHECK_LIGHT_GREEN_AT",
        "HEALTHCHECK_LIGHT_RED_BELOW",
        "HEALTHCHECK_TREND_ARROW_AT",
        "HEALTHCHECK_CHANGE_AT",
        "HEALTHCHECK_MIN_RESPONSES",
        "TIME_ZONE",
    ):
        digest.update(repr(getattr(settings, name)).encode())
    root = Path(settings.BASE_DIR)
    for path in sorted([*root.glob("templates/**/*.html"), *root.glob("surveys/**/*.py")]):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def cached_part(
    request: HttpRequest, key: str | None, template: str, context: Callable[[], dict]
) -> SafeString:
    """Render template with the context built by context(), or take it from the cache under key.

    With key None the part is rendered fresh and not kept (a form with errors, say).
    """
    html = _get(f"{release()}:{key}") if key else None
    if html is None:
        html = render_to_string(template, {**context(), "csrf_token": CSRF_PLACEHOLDER})
        if key:
            _set(f"{release()}:{key}", html)
    return mark_safe(html.replace(CSRF_PLACEHOLDER, get_token(request)))  # noqa: S308 (our own template output)


def cached_value(key: str, build: Callable[[], object]) -> object:
    """A value kept under key (which should carry a version) for a day."""
    full_key = f"{release()}:{key}"
    value = _get(full_key)
    if value is None:
        value = build()
        _set(full_key, value)
    return value
