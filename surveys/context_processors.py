from __future__ import annotations

import hashlib

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject
from django.utils.safestring import SafeString

from .access import Roles, roles_of
from .pagecache import cached_part


def navigation_from(roles: Roles) -> dict:
    """The squad pages and tribe dashboards that a person's roles open, and whether they support squads."""
    squads = sorted((squad for squad, _ in roles.squads.values()), key=lambda s: s.name)
    return {
        "squads": squads,
        "tribes": sorted(roles.tribes.values(), key=lambda t: t.name),
        "supports": roles.supports,
    }


def _navigation_html(request: HttpRequest) -> SafeString:
    """The navigation links, rendered once per distinct set of roles."""
    nav = navigation_from(roles_of(request))
    shape = (
        request.user.is_staff,
        nav["supports"],
        [(s.slug, s.name) for s in nav["squads"]],
        [(t.slug, t.name) for t in nav["tribes"]],
    )
    key = "nav:" + hashlib.sha256(repr(shape).encode()).hexdigest()[:20]
    return cached_part(request, key, "_nav.html", lambda: {"nav": nav, "is_staff": request.user.is_staff})


def navigation(request: HttpRequest) -> dict:
    """Links for the navigation, from the roles the request reads anyway."""
    user = getattr(request, "user", None)  # absent when a request fails before authentication
    if user is None or not user.is_authenticated:
        return {}
    return {
        "nav": SimpleLazyObject(lambda: navigation_from(roles_of(request))),
        "nav_html": SimpleLazyObject(lambda: _navigation_html(request)),
    }
