"""Who may see what. Each helper returns the object or raises Http404, the same answer as for a missing page."""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404, HttpRequest

from .audit import audit
from .models import AuditEvent, Round, Squad, SquadRole, Tribe, TribeRole


def _get_or_404(request: HttpRequest, queryset: QuerySet, **lookup):
    """The object if this person may have it; otherwise 404, audited when the object does exist."""
    found = queryset.filter(**lookup).first()
    if found is None:
        raise _denied(request, queryset.model, **lookup)
    return found


def _tribe_role(user, *roles: str) -> Exists:
    query = TribeRole.objects.filter(tribe=OuterRef("pk"), user=user)
    return Exists(query.filter(role__in=roles) if roles else query)


ROLES_SQL = """
SELECT 'squad', sr.role, s.id, s.slug, s.name, t.id, t.slug, t.name, t.version
  FROM surveys_squadrole sr
  JOIN surveys_squad s ON s.id = sr.squad_id
  JOIN surveys_tribe t ON t.id = s.tribe_id
 WHERE sr.user_id = %s
UNION ALL
SELECT 'tribe', tr.role, NULL, NULL, NULL, t.id, t.slug, t.name, t.version
  FROM surveys_triberole tr
  JOIN surveys_tribe t ON t.id = tr.tribe_id
 WHERE tr.user_id = %s
"""


@dataclass
class Roles:
    """Everything a person may see, read fresh from the database once per request."""

    squads: dict[str, tuple[Squad, set[str]]] = field(default_factory=dict)  # slug -> squad, its roles
    tribes: dict[str, Tribe] = field(default_factory=dict)  # slug -> every tribe they belong to
    tribe_roles: dict[int, set[str]] = field(default_factory=dict)  # tribe id -> lead / coach

    def coaches_in(self, tribe_id: int) -> bool:
        return any(
            squad.tribe_id == tribe_id and SquadRole.Role.COACH in kinds
            for squad, kinds in self.squads.values()
        )

    @property
    def supports(self) -> bool:
        return bool(self.tribe_roles) or any(
            SquadRole.Role.COACH in kinds for _, kinds in self.squads.values()
        )


_prepared: weakref.WeakSet = weakref.WeakSet()


def _fetch_roles(user_id: int) -> list[tuple]:
    """Run the roles query; on PostgreSQL as a statement prepared once per connection."""
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute(ROLES_SQL, [user_id, user_id])
            return cursor.fetchall()
        # Every page runs this query; planning it costs more than running it.
        raw = connection.connection
        if raw not in _prepared:
            # Once per connection, on the driver's own cursor: setup, not a query of the page.
            with raw.cursor() as setup:
                setup.execute("PREPARE surveys_roles(bigint) AS " + ROLES_SQL.replace("%s", "$1"))
            _prepared.add(raw)
        cursor.execute("EXECUTE surveys_roles(%s)", [user_id])
        return cursor.fetchall()


def roles_of(request: HttpRequest) -> Roles:
    """The signed-in person's roles, from one plain query, kept for the rest of the request."""
    cached = getattr(request, "_surveys_roles", None)
    if cached is not None:
        return cached
    roles = Roles()
    if request.user.is_authenticated:
        rows = _fetch_roles(request.user.pk)
        for kind, role, squad_id, squad_slug, squad_name, tribe_id, tribe_slug, tribe_name, version in rows:
            # from_db takes values in the model's field order.
            tribe = roles.tribes.get(tribe_slug) or Tribe.from_db(
                "default", ["id", "name", "slug", "version"], [tribe_id, tribe_name, tribe_slug, version]
            )
            roles.tribes[tribe_slug] = tribe
            if kind == "squad":
                squad, kinds = roles.squads.get(squad_slug) or (
                    Squad.from_db(
                        "default",
                        ["id", "tribe_id", "name", "slug"],
                        [squad_id, tribe_id, squad_name, squad_slug],
                    ),
                    set(),
                )
                squad.tribe = tribe
                kinds.add(role)
                roles.squads[squad_slug] = (squad, kinds)
            else:
                roles.tribe_roles.setdefault(tribe_id, set()).add(role)
    request._surveys_roles = roles
    return roles


def _denied(request: HttpRequest, model, **lookup) -> Http404:
    """A 404 for something this person may not see, audited when it does exist."""
    if model._default_manager.filter(**lookup).exists():
        audit(AuditEvent.Action.ACCESS_DENIED, request.path, request=request)
    return Http404("Not found")


def get_tribe_for_viewer(request: HttpRequest, slug: str) -> Tribe:
    """The tribe, if the person belongs to it in any role (or is staff).

    The tribe comes with can_manage (the person leads or coaches it) and can_coach
    (they also may coach one of its squads), for the links the page offers.
    """
    roles = roles_of(request)
    tribe = roles.tribes.get(slug)
    if tribe is None and request.user.is_staff:
        tribe = Tribe.objects.filter(slug=slug).first()
    if tribe is None:
        raise _denied(request, Tribe, slug=slug)
    kinds = roles.tribe_roles.get(tribe.pk, set())
    tribe.can_manage = bool(kinds & {TribeRole.Role.LEAD, TribeRole.Role.COACH})
    tribe.can_coach = bool(kinds) or roles.coaches_in(tribe.pk)
    return tribe


def get_round_for_manager(request: HttpRequest, round_id: int) -> Round:
    """The round, if the person leads or coaches its tribe: its rounds are theirs to run."""
    managed = TribeRole.objects.filter(
        tribe=OuterRef("tribe"), user=request.user, role__in=[TribeRole.Role.LEAD, TribeRole.Role.COACH]
    )
    return _get_or_404(request, Round.objects.select_related("tribe").filter(Exists(managed)), pk=round_id)


@dataclass(frozen=True)
class SquadAccess:
    squad: Squad
    is_member: bool
    is_coach: bool  # coaches the squad, or coaches or leads its tribe


def get_squad_for_viewer(request: HttpRequest, slug: str) -> SquadAccess:
    """The squad, for its members, its coaches, and the coaches and lead of its tribe."""
    roles = roles_of(request)
    squad, kinds = roles.squads.get(slug, (None, set()))
    if squad is None:
        squad = Squad.objects.select_related("tribe").filter(slug=slug).first()
        if squad is None or not (squad.tribe_id in roles.tribe_roles or request.user.is_staff):
            raise _denied(request, Squad, slug=slug)
    supports_tribe = squad.tribe_id in roles.tribe_roles
    return SquadAccess(
        squad=squad,
        is_member=SquadRole.Role.MEMBER in kinds,
        is_coach=SquadRole.Role.COACH in kinds or supports_tribe,
    )


def get_squad_for_member(request: HttpRequest, slug: str) -> Squad:
    """The squad, if the signed-in person votes in it; anyone else gets a 404."""
    squad, kinds = roles_of(request).squads.get(slug, (None, set()))
    if squad is None or SquadRole.Role.MEMBER not in kinds:
        raise _denied(request, Squad, slug=slug)
    return squad


def get_squad_for_coach(request: HttpRequest, slug: str) -> Squad:
    """The squad, for its coaches and the coaches and lead of its tribe (and staff)."""
    access = get_squad_for_viewer(request, slug)
    if not (access.is_coach or request.user.is_staff):
        audit(AuditEvent.Action.ACCESS_DENIED, request.path, request=request)
        raise Http404("No such squad")
    return access.squad


def get_tribe_for_coach(request: HttpRequest, slug: str) -> Tribe:
    """The tribe, for its lead and coaches, and for coaches of any of its squads (and staff)."""
    tribe = get_tribe_for_viewer(request, slug)
    if not (tribe.can_coach or request.user.is_staff):
        audit(AuditEvent.Action.ACCESS_DENIED, request.path, request=request)
        raise Http404("Not found")
    return tribe


def squads_supported_by(user) -> QuerySet[Squad]:
    """The squads a person coaches, directly or as coach or lead of their tribe."""
    coaches = Exists(SquadRole.objects.filter(squad=OuterRef("pk"), user=user, role=SquadRole.Role.COACH))
    supports_tribe = Exists(TribeRole.objects.filter(tribe=OuterRef("tribe"), user=user))
    return Squad.objects.filter(coaches | supports_tribe).select_related("tribe")


def managed_tribes(user) -> QuerySet[Tribe]:
    """Tribes whose rounds the person runs: as tribe lead or tribe coach."""
    return Tribe.objects.filter(_tribe_role(user, TribeRole.Role.LEAD, TribeRole.Role.COACH))


def get_tribe_for_manager(request: HttpRequest, slug: str) -> Tribe:
    return _get_or_404(request, managed_tribes(request.user), slug=slug)


def get_tribe_for_lead(request: HttpRequest, slug: str) -> Tribe:
    """The tribe, if the person leads it: the deck is the lead's to change."""
    return _get_or_404(
        request, Tribe.objects.filter(_tribe_role(request.user, TribeRole.Role.LEAD)), slug=slug
    )


def squads_for_inviter(user, round: Round) -> QuerySet[Squad]:
    """Squads of the round a person may invite to: all for its lead and coaches, else those they coach."""
    squads = Squad.objects.filter(tribe_id=round.tribe_id)
    if TribeRole.objects.filter(user=user, tribe_id=round.tribe_id).exists():
        return squads
    return squads.filter(roles__user=user, roles__role=SquadRole.Role.COACH)
