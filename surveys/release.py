"""A fingerprint of everything that shapes rendered markup: the rules in settings, the templates,
the translations and the code. Cache keys of immutable fragments carry it, so a deploy never serves old markup."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.utils import translation

RULES = (
    "HEALTHCHECK_SCORE",
    "HEALTHCHECK_LIGHT_GREEN_AT",
    "HEALTHCHECK_LIGHT_RED_BELOW",
    "HEALTHCHECK_TREND_ARROW_AT",
    "HEALTHCHECK_CHANGE_AT",
    "HEALTHCHECK_MIN_RESPONSES",
    "HEALTHCHECK_SYSTEMIC_MIN_SQUADS",
    "HEALTHCHECK_SYSTEMIC_RED_SHARE",
    "HEALTHCHECK_SYSTEMIC_TROUBLED_SHARE",
    "TIME_ZONE",
)


@lru_cache(maxsize=1)
def release() -> str:
    digest = hashlib.sha256()
    for name in RULES:
        digest.update(repr(getattr(settings, name)).encode())
    root = Path(settings.BASE_DIR)
    sources = [*root.glob("templates/**/*.html"), *root.glob("surveys/**/*.py"), *root.glob("locale/**/*.po")]
    for path in sorted(sources):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def fragment_key(*parts: object) -> str:
    """A cache key for an immutable fragment: the release, the language it is written in and a
    digest of all it depends on."""
    parts = (translation.get_language(), *parts)
    return release() + ":" + hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
