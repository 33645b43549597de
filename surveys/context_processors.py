from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from .models import SquadRole, TribeRole


def navigation_from(squad_roles: list[SquadRole], tribe_roles: list[TribeRole]) -> dict:
    """The squad pages and tribe dashboards that a person's roles open."""
    squads, tribes = {}, {}
    for role in sorted(squad_roles, key=lambda r: r.squad.name):
        squads[role.squad.slug] = role.squad
        tribes[role.squad.tribe.slug] = role.squad.tribe
    for role in tribe_roles:
        tribes[role.tribe.slug] = role.tribe
    return {"squads": list(squads.values()), "tribes": sorted(tribes.values(), key=lambda t: t.name)}


def _navigation(user) -> dict:
    return navigation_from(
        list(SquadRole.objects.filter(user=user).select_related("squad__tribe")),
        list(TribeRole.objects.filter(user=user).select_related("tribe")),
    )


def navigation(request: HttpRequest) -> dict:
    """The squads and tribes a person can open, read only when a page shows the navigation."""
    if not request.user.is_authenticated:
        return {}
    return {"nav": SimpleLazyObject(lambda: _navigation(request.user))}
