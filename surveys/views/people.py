"""A tribe's people and squads, run by its lead without a staff admin; its coaches can read them."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from ..access import get_tribe_for_manager
from ..forms import PersonAddForm, SquadNameForm
from ..models import Squad, SquadRole, Tribe, TribeRole
from ..people import (
    InvitationsFailed,
    PeopleRejected,
    people_invite,
    person_add,
    role_move,
    role_remove,
    squad_create,
    squad_rename,
    squad_shift,
)


def _squads(tribe: Tribe) -> list[Squad]:
    """The tribe's squads in their order, each with its people, from two queries."""
    roles = (
        SquadRole.objects.select_related("user")
        .prefetch_related("user__socialaccount_set")
        .order_by("role", "user__first_name", "user__last_name", "user__username")
    )
    return list(Squad.objects.filter(tribe=tribe).prefetch_related(Prefetch("roles", queryset=roles)))


def _render(request: HttpRequest, tribe: Tribe, *, is_lead: bool, status: int = 200, **forms) -> HttpResponse:
    ctx = {
        "tribe": tribe,
        "is_lead": is_lead,
        "squads": _squads(tribe),
        "supporters": list(
            TribeRole.objects.filter(tribe=tribe).select_related("user").order_by("role", "user__username")
        ),
        "add_form": forms.get("add_form") or PersonAddForm(tribe=tribe),
        "squad_form": forms.get("squad_form") or SquadNameForm(),
        "problem": forms.get("problem"),
        "problem_squad": forms.get("problem_squad"),
    }
    return render(request, "surveys/manage/people.html", ctx, status=status)


def _id(value: str) -> int:
    """A posted id, or 0 (which matches nothing) for anything that is not a plain number."""
    return int(value) if value.isascii() and value.isdigit() and len(value) < 19 else 0


def _role(tribe: Tribe, role_id: str) -> SquadRole:
    role = (
        SquadRole.objects.filter(pk=_id(role_id), squad__tribe=tribe).select_related("user", "squad").first()
    )
    if role is None:
        raise Http404("No such role in this tribe")
    return role


def _squad(tribe: Tribe, squad_id: str) -> Squad:
    squad = Squad.objects.filter(pk=_id(squad_id), tribe=tribe).select_related("tribe").first()
    if squad is None:
        raise Http404("No such squad in this tribe")
    return squad


@login_required
@require_http_methods(["GET", "POST"])
def people(request: HttpRequest, slug: str) -> HttpResponse:
    tribe = get_tribe_for_manager(request, slug)
    is_lead = TribeRole.objects.filter(tribe=tribe, user=request.user, role=TribeRole.Role.LEAD).exists()
    if request.method == "GET":
        return _render(request, tribe, is_lead=is_lead)
    if not is_lead:
        raise PermissionDenied("Only the tribe lead changes its people and squads.")
    action = request.POST.get("action", "")
    try:
        if action == "add":
            form = PersonAddForm(request.POST, tribe=tribe)
            if not form.is_valid():
                return _render(request, tribe, is_lead=True, status=400, add_form=form)
            try:
                person_add(tribe=tribe, added_by=request.user, request=request, **form.cleaned_data)
            except PeopleRejected as exc:
                form.add_error("email", str(exc))
                return _render(request, tribe, is_lead=True, status=400, add_form=form)
            except InvitationsFailed as exc:
                messages.warning(
                    request,
                    _(
                        "%(email)s is added, but the invitation could not be sent (%(exc)s). "
                        "Use “Invite again” once the mail server answers."
                    )
                    % {"email": form.cleaned_data["email"], "exc": exc},
                )
                return redirect("surveys:people", slug=tribe.slug)
            role = SquadRole.Role(form.cleaned_data["role"]).label.lower()
            # The same words whether the address had an account or not.
            messages.success(
                request,
                _(
                    "%(email)s is now %(role)s of %(squad)s. "
                    "If they have no password yet, an invitation to set one is on its way."
                )
                % {
                    "email": form.cleaned_data["email"],
                    "role": role,
                    "squad": form.cleaned_data["squad"].name,
                },
            )
        elif action == "move":
            role = _role(tribe, request.POST.get("role", ""))
            to = _squad(tribe, request.POST.get("squad", ""))
            role_move(role=role, to=to, request=request)
            messages.success(
                request,
                _("%(user)s moved to %(to)s.")
                % {"user": role.user.get_full_name() or role.user.get_username(), "to": to.name},
            )
        elif action == "remove":
            role = _role(tribe, request.POST.get("role", ""))
            role_remove(role=role, request=request)
            who = role.user.get_full_name() or role.user.get_username()
            messages.success(
                request,
                _("%(who)s is no longer %(role)s of %(squad)s.")
                % {"who": who, "role": role.get_role_display().lower(), "squad": role.squad.name},
            )
        elif action == "invite":
            person = (
                get_user_model()
                .objects.filter(
                    pk=_id(request.POST.get("person", "")),
                    squad_roles__squad__tribe=tribe,
                )
                .first()
            )
            if person is None:
                raise Http404("No such person in this tribe")
            if person.has_usable_password():
                raise PeopleRejected(
                    _("%(person)s has set a password already.") % {"person": person.get_username()}
                )
            try:
                people_invite(users=[person], invited_by=request.user, tribe=tribe, request=request)
            except InvitationsFailed as exc:
                raise PeopleRejected(_("The invitation could not be sent: %(exc)s") % {"exc": exc}) from None
            messages.success(
                request, _("A new invitation is on its way to %(email)s.") % {"email": person.email}
            )
        elif action == "squad-add":
            form = SquadNameForm(request.POST)
            if not form.is_valid():
                return _render(request, tribe, is_lead=True, status=400, squad_form=form)
            try:
                squad = squad_create(tribe=tribe, name=form.cleaned_data["name"], request=request)
            except PeopleRejected as exc:
                form.add_error("name", str(exc))
                return _render(request, tribe, is_lead=True, status=400, squad_form=form)
            messages.success(
                request, _("%(squad)s is added to %(tribe)s.") % {"squad": squad.name, "tribe": tribe.name}
            )
        elif action == "squad-rename":
            squad = _squad(tribe, request.POST.get("squad", ""))
            form = SquadNameForm(request.POST)
            if not form.is_valid():
                raise PeopleRejected(_("Give the squad a name."))
            before = squad.name
            squad_rename(squad=squad, name=form.cleaned_data["name"], request=request)
            messages.success(
                request, _("%(before)s is now called %(squad)s.") % {"before": before, "squad": squad.name}
            )
        elif action in ("squad-up", "squad-down"):
            squad = _squad(tribe, request.POST.get("squad", ""))
            squad_shift(squad=squad, by=-1 if action == "squad-up" else 1, request=request)
        else:
            raise PeopleRejected(_("That is not something this page does."))
    except PeopleRejected as exc:
        return _render(
            request,
            tribe,
            is_lead=True,
            status=400,
            problem=str(exc),
            problem_squad=request.POST.get("squad"),
        )
    return redirect("surveys:people", slug=tribe.slug)
