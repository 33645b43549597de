"""Action items of a squad: members and coaches add, edit and complete them; people delete their own."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from ..access import get_action_for_editor, get_squad_for_editor
from ..forms import ActionItemForm
from ..models import ActionItem, HealthCard, RoundSquad, Squad
from ..services import action_create


def _form(squad: Squad, *args, **kwargs) -> ActionItemForm:
    return ActionItemForm(
        *args,
        cards=HealthCard.objects.filter(tribe=squad.tribe, retired=False),
        people=get_user_model().objects.filter(squad_roles__squad=squad).distinct().order_by("username"),
        **kwargs,
    )


def _back(squad: Squad, action: ActionItem | None = None) -> str:
    url = reverse("surveys:squad", args=[squad.slug])
    return f"{url}#action-{action.pk}" if action else f"{url}#actions"


def _back_to_card(request: HttpRequest, squad: Squad, action: ActionItem) -> str:
    """Back to the card the action was added from, in the round that was on screen, where it
    now shows; else to the list of action items."""
    rnd = request.GET.get("round", "")
    if (
        rnd.isascii()
        and rnd.isdigit()
        and len(rnd) <= 12  # a round's id, not any number a database could choke on
        and RoundSquad.objects.filter(round_id=int(rnd), squad=squad, state=RoundSquad.State.CLOSED).exists()
    ):
        url = reverse("surveys:squad", args=[squad.slug])
        return f"{url}?round={int(rnd)}#card-{action.card_id}"
    return _back(squad, action)


@login_required
@require_http_methods(["GET", "POST"])
def action_new(request: HttpRequest, slug: str) -> HttpResponse:
    squad = get_squad_for_editor(request, slug)
    if request.method == "POST":
        form = _form(squad, request.POST)
        if form.is_valid():
            action = action_create(squad=squad, created_by=request.user, **form.cleaned_data)
            messages.success(request, _(_("Action added: %(action)s")) % {"action": action.title})
            return redirect(_back_to_card(request, squad, action))
    else:
        form = _form(squad, initial={"card": request.GET.get("card")})
    return render(request, "surveys/action_form.html", {"squad": squad, "form": form, "action": None})


@login_required
@require_http_methods(["GET", "POST"])
def action_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    action = get_action_for_editor(request, slug, pk)
    squad = action.squad
    form = _form(squad, request.POST or None, instance=action)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _(_("Action saved: %(action)s")) % {"action": action.title})
        return redirect(_back(squad, action))
    return render(request, "surveys/action_form.html", {"squad": squad, "form": form, "action": action})


@login_required
@require_POST
def action_done(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    action = get_action_for_editor(request, slug, pk)
    squad = action.squad
    action.done = request.POST.get("done", "1") == "1"
    action.save(update_fields=["done"])
    done = _("Done: %(action)s") if action.done else _("Reopened: %(action)s")
    messages.success(request, done % {"action": action.title})
    return redirect(_back(squad, action))


@login_required
@require_POST
def action_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    action = get_action_for_editor(request, slug, pk)
    squad = action.squad
    if action.created_by_id != request.user.pk:
        raise PermissionDenied("Only the person who added an action item can delete it.")
    action.delete()
    messages.success(request, _(_("Action deleted: %(action)s")) % {"action": action.title})
    return redirect(_back(squad))
