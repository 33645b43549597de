"""Who may see what. Each helper returns the object or raises Http404, the same answer as for a missing page."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404, HttpRequest

from .audit import audit
from .models import (
    ActionItem,
    ApiKey,
    AuditEvent,
    HealthCard,
    InviteLink,
    Round,
    Squad,
    SquadRole,
    Tribe,
    TribeRole,
    Workshop,
)


def _get_or_404(request: HttpRequest, queryset: QuerySet, **lookup):
    """The object if this person may have it; otherwise 404, audited when the object does exist."""
    found = queryset.filter(**lookup).first()
    if found is None:
        raise _denied(request, queryset.model, **lookup)
    return found


def _tribe_role(user, *roles: str) -> Exists:
    query = TribeRole.objects.filter(tribe=OuterRef("pk"), user=user)
    return Exists(query.filter(role__in=roles) if roles else query)


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


def roles_of(request: HttpRequest) -> Roles:
    """The signed-in person's roles, from two plain queries, kept for the rest of the request."""
    cached = getattr(request, "_surveys_roles", None)
    if cached is not None:
        return cached
    roles = Roles()
    if request.user.is_authenticated:
        for role in SquadRole.objects.filter(user=request.user).select_related("squad__tribe"):
            squad = roles.squads.get(role.squad.slug, (role.squad, set()))[0]
            roles.squads.setdefault(squad.slug, (squad, set()))[1].add(role.role)
            roles.tribes.setdefault(squad.tribe.slug, squad.tribe)
        for role in TribeRole.objects.filter(user=request.user).select_related("tribe"):
            roles.tribes.setdefault(role.tribe.slug, role.tribe)
            roles.tribe_roles.setdefault(role.tribe_id, set()).add(role.role)
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


def tribes_for_key_maker(user) -> QuerySet[Tribe]:
    """The tribes whose results a person may hand to a reporting tool: every one for staff, else those they lead."""
    if user.is_staff:
        return Tribe.objects.all()
    return Tribe.objects.filter(_tribe_role(user, TribeRole.Role.LEAD))


def get_api_key_for_maker(request: HttpRequest, key_id: int) -> ApiKey:
    """An API key, for staff or a lead of its tribe (a key for every tribe is staff's alone)."""
    keys = ApiKey.objects.select_related("tribe")
    if not request.user.is_staff:
        keys = keys.filter(tribe__in=tribes_for_key_maker(request.user))
    return _get_or_404(request, keys, pk=key_id)


def squads_for_inviter(user, round: Round) -> QuerySet[Squad]:
    """Squads of the round a person may invite to: all for its lead and coaches, else those they coach."""
    squads = Squad.objects.filter(tribe_id=round.tribe_id)
    if TribeRole.objects.filter(user=user, tribe_id=round.tribe_id).exists():
        return squads
    return squads.filter(roles__user=user, roles__role=SquadRole.Role.COACH)


def get_squad_for_editor(request: HttpRequest, slug: str) -> Squad:
    """The squad, for those who keep its action items: its members, its coaches, its tribe's lead and coaches."""
    access = get_squad_for_viewer(request, slug)
    if not (access.is_member or access.is_coach):
        raise _denied(request, Squad, slug=slug)
    return access.squad


def get_action_for_editor(request: HttpRequest, slug: str, pk: int) -> ActionItem:
    """An action item of a squad whose action items the person keeps."""
    squad = get_squad_for_editor(request, slug)
    action = ActionItem.objects.select_related("card").filter(pk=pk, squad=squad).first()
    if action is None:
        raise _denied(request, ActionItem, pk=pk)
    action.squad = squad
    return action


def get_card_for_lead(request: HttpRequest, card_id: int) -> HealthCard:
    """A card of a tribe's own deck, if the person leads that tribe."""
    led = TribeRole.objects.filter(tribe=OuterRef("tribe"), user=request.user, role=TribeRole.Role.LEAD)
    return _get_or_404(request, HealthCard.objects.select_related("tribe").filter(Exists(led)), pk=card_id)


def get_round_for_inviter(request: HttpRequest, round_id: int) -> Round:
    """The round, if the person may make workshop links for at least one of its squads."""
    coaches = SquadRole.objects.filter(
        squad__tribe=OuterRef("tribe"), user=request.user, role=SquadRole.Role.COACH
    )
    supports = TribeRole.objects.filter(tribe=OuterRef("tribe"), user=request.user)
    return _get_or_404(
        request, Round.objects.select_related("tribe").filter(Exists(coaches) | Exists(supports)), pk=round_id
    )


def get_invite_for_inviter(request: HttpRequest, invite_id: int) -> InviteLink:
    """A workshop link of a squad the person may invite to."""
    invite = InviteLink.objects.select_related("round__tribe", "squad").filter(pk=invite_id).first()
    if (
        invite is None
        or not squads_for_inviter(request.user, invite.round).filter(pk=invite.squad_id).exists()
    ):
        raise _denied(request, InviteLink, pk=invite_id)
    return invite


def _workshop(request: HttpRequest, workshop_id: int) -> Workshop:
    workshop = (
        Workshop.objects.select_related("part__round__tribe", "part__squad", "current_card", "link")
        .filter(pk=workshop_id)
        .first()
    )
    if workshop is None:
        raise _denied(request, Workshop, pk=workshop_id)
    return workshop


def get_workshop_for_supporter(request: HttpRequest, workshop_id: int) -> Workshop:
    """The workshop, for the squad's coaches and its tribe's coaches and lead: they facilitate."""
    workshop = _workshop(request, workshop_id)
    if not supports(request, workshop.part.squad):
        raise _denied(request, Workshop, pk=workshop_id)
    return workshop


def get_workshop_for_viewer(request: HttpRequest, workshop_id: int) -> Workshop:
    """The workshop's screen, for the squad's members and supporters."""
    workshop = _workshop(request, workshop_id)
    if not (is_member(request, workshop.part.squad) or supports(request, workshop.part.squad)):
        raise _denied(request, Workshop, pk=workshop_id)
    return workshop


def get_workshop_for_voter(
    request: HttpRequest, workshop_id: int, guest: str | None
) -> tuple[Workshop, str, InviteLink | None]:
    """The workshop, who votes from this phone, and the open link a guest came through.

    A member of the squad votes as themselves. Anyone else needs a guest id of this workshop's
    own open link, still live; the squad's supporters never vote through it.
    """
    from .services import invite_is_live

    workshop = _workshop(request, workshop_id)
    squad = workshop.part.squad
    if is_member(request, squad):
        return workshop, f"user:{request.user.pk}", None
    link = workshop.link
    through_link = bool(guest) and link is not None and link.kind == InviteLink.Kind.OPEN
    if through_link and not supports(request, squad, link) and invite_is_live(link):
        return workshop, f"guest:{guest}", link
    raise _denied(request, Workshop, pk=workshop_id)


def is_member(request: HttpRequest, squad: Squad) -> bool:
    _, kinds = roles_of(request).squads.get(squad.slug, (None, set()))
    return SquadRole.Role.MEMBER in kinds


def supports(request: HttpRequest, squad: Squad, link: InviteLink | None = None) -> bool:
    """Whether the person coaches the squad or its tribe, leads the tribe, or made the link."""
    if link is not None and request.user.is_authenticated and link.created_by_id == request.user.pk:
        return True
    roles = roles_of(request)
    _, kinds = roles.squads.get(squad.slug, (None, set()))
    return SquadRole.Role.COACH in kinds or squad.tribe_id in roles.tribe_roles
