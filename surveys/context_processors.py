from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from .access import Roles, roles_of


def navigation_from(roles: Roles) -> dict:
    """The squad pages and tribe dashboards that a person's roles open, and whether they support squads."""
    squads = sorted((squad for squad, _ in roles.squads.values()), key=lambda s: s.name)
    return {
        "squads": squads,
        "tribes": sorted(roles.tribes.values(), key=lambda t: t.name),
        "supports": roles.supports,
    }


def navigation(request: HttpRequest) -> dict:
    """Links for the navigation, from the roles the request reads anyway."""
    user = getattr(request, "user", None)  # absent when a request fails before authentication
    if user is None or not user.is_authenticated:
        return {}
    return {"nav": SimpleLazyObject(lambda: navigation_from(roles_of(request)))}
