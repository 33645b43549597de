"""Who may see what. Each helper returns the object or raises Http404, the same answer as for a missing page."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404, HttpRequest

from .audit import audit
from .models import AuditEvent, Round, Squad, SquadRole, Tribe, TribeRole


def _get_or_404(request: HttpRequest, queryset: QuerySet, **lookup):
    """The object if this person may have it; otherwise 404, audited when the object does exist."""
    found = queryset.filter(**lookup).first()
    if found is None:
        if queryset.model._default_manager.filter(**lookup).exists():
            audit(AuditEvent.Action.ACCESS_DENIED, request.path, request=request)
        raise Http404("Not found")
    return found


def _tribe_role(user, *roles: str) -> Exists:
    query = TribeRole.objects.filter(tribe=OuterRef("pk"), user=user)
    return Exists(query.filter(role__in=roles) if roles else query)


def get_tribe_for_viewer(request: HttpRequest, slug: str) -> Tribe:
    """The tribe, if the person belongs to it in any role (or is staff).

    The tribe comes with can_manage (the person leads or coaches it) and can_coach
    (they also may coach one of its squads), for the links the page offers.
    """
    coaches_a_squad = Exists(
        SquadRole.objects.filter(squad__tribe=OuterRef("pk"), user=request.user, role=SquadRole.Role.COACH)
    )
    tribes = Tribe.objects.annotate(
        can_manage=_tribe_role(request.user, TribeRole.Role.LEAD, TribeRole.Role.COACH),
        can_coach=_tribe_role(request.user) | coaches_a_squad,
    )
    if not request.user.is_staff:
        in_a_squad = Exists(SquadRole.objects.filter(squad__tribe=OuterRef("pk"), user=request.user))
        tribes = tribes.filter(_tribe_role(request.user) | in_a_squad)
    return _get_or_404(request, tribes, slug=slug)


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
    user = request.user
    squads = Squad.objects.select_related("tribe").annotate(
        is_member=Exists(
            SquadRole.objects.filter(squad=OuterRef("pk"), user=user, role=SquadRole.Role.MEMBER)
        ),
        is_squad_coach=Exists(
            SquadRole.objects.filter(squad=OuterRef("pk"), user=user, role=SquadRole.Role.COACH)
        ),
        is_tribe_supporter=Exists(TribeRole.objects.filter(tribe=OuterRef("tribe"), user=user)),
    )
    if not user.is_staff:
        squads = squads.filter(Q(is_member=True) | Q(is_squad_coach=True) | Q(is_tribe_supporter=True))
    squad = _get_or_404(request, squads, slug=slug)
    return SquadAccess(
        squad=squad, is_member=squad.is_member, is_coach=squad.is_squad_coach or squad.is_tribe_supporter
    )


def get_squad_for_member(request: HttpRequest, slug: str) -> Squad:
    """The squad, if the signed-in person votes in it; anyone else gets a 404."""
    member = Exists(
        SquadRole.objects.filter(squad=OuterRef("pk"), user=request.user, role=SquadRole.Role.MEMBER)
    )
    return _get_or_404(request, Squad.objects.select_related("tribe").filter(member), slug=slug)


def get_squad_for_coach(request: HttpRequest, slug: str) -> Squad:
    """The squad, for its coaches and the coaches and lead of its tribe (and staff)."""
    access = get_squad_for_viewer(request, slug)
    if not (access.is_coach or request.user.is_staff):
        audit(AuditEvent.Action.ACCESS_DENIED, request.path, request=request)
        raise Http404("No such squad")
    return access.squad


def get_tribe_for_coach(request: HttpRequest, slug: str) -> Tribe:
    """The tribe, for its lead and coaches, and for coaches of any of its squads (and staff)."""
    tribes = Tribe.objects.all()
    if not request.user.is_staff:
        coaches_a_squad = Exists(
            SquadRole.objects.filter(
                squad__tribe=OuterRef("pk"), user=request.user, role=SquadRole.Role.COACH
            )
        )
        tribes = tribes.filter(_tribe_role(request.user) | coaches_a_squad)
    return _get_or_404(request, tribes, slug=slug)


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
