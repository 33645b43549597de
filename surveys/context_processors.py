from __future__ import annotations

from django.db.models import CharField, Value
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from .models import SquadRole, TribeRole


def navigation_rows(user) -> list[tuple[str, str, str, str, str]]:
    """(squad slug, squad name, tribe slug, tribe name, role) for each of a person's roles, in one query."""
    squad_rows = SquadRole.objects.filter(user=user).values_list(
        "squad__slug", "squad__name", "squad__tribe__slug", "squad__tribe__name", "role"
    )
    blank = Value("", output_field=CharField())
    tribe_rows = (
        TribeRole.objects.filter(user=user)
        .annotate(no_slug=blank, no_name=blank)
        .values_list("no_slug", "no_name", "tribe__slug", "tribe__name", "role")
    )
    return list(squad_rows.union(tribe_rows, all=True))


def navigation_from(rows: list[tuple[str, str, str, str, str]]) -> dict:
    """The squad pages and tribe dashboards that a person's roles open, and whether they support squads."""
    squads = {slug: {"slug": slug, "name": name} for slug, name, _, _, _ in rows if slug}
    tribes = {slug: {"slug": slug, "name": name} for _, _, slug, name, _ in rows}
    return {
        "squads": sorted(squads.values(), key=lambda s: s["name"]),
        "tribes": sorted(tribes.values(), key=lambda t: t["name"]),
        "supports": any(role in ("coach", "lead") for *_, role in rows),
    }


def navigation(request: HttpRequest) -> dict:
    """Links for the navigation, read only when a page shows it."""
    user = getattr(request, "user", None)  # absent when a request fails before authentication
    if user is None or not user.is_authenticated:
        return {}
    return {"nav": SimpleLazyObject(lambda: navigation_from(navigation_rows(user)))}
