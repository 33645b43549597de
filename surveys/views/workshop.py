"""The live workshop: the facilitator's controls, the projector screen, the phones, and the
small state endpoint they all poll.

The state endpoint is reached through a signed address handed out by the pages (which check
access), so that a poll reads no session and no user: one query for the workshop's state, and
a 304 when its ETag says nothing changed.
"""

from __future__ import annotations

import hashlib

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ..access import (
    get_round_for_inviter,
    get_workshop_for_supporter,
    get_workshop_for_viewer,
    get_workshop_for_voter,
    roles_of,
    squads_for_inviter,
)
from ..audit import audit
from ..forms import AgreedCardForm, WorkshopActionForm, WorkshopForm
from ..guests import guest_of
from ..models import AuditEvent, Colour, InviteLink, RoundRejected, Trend, Workshop
from ..selectors import workshop_state
from ..services import (
    BallotRejected,
    action_create,
    workshop_agree,
    workshop_answer,
    workshop_finish,
    workshop_join,
    workshop_start,
    workshop_step,
)

STATE_SALT = "surveys.workshop-state"
STATE_MAX_AGE = 24 * 3600
VIEWS = ("screen", "facilitator", "phone")


def state_url(workshop: Workshop, view: str) -> str:
    """The signed address of the workshop's state for one kind of view, valid for a day."""
    token = signing.dumps([workshop.pk, view], salt=STATE_SALT, compress=True)
    return reverse("surveys:workshop-state", args=[workshop.pk, token])


def _etag(state: dict, view: str) -> str:
    """The fragment's tag: its view, its state and the language it is written in."""
    parts = (view, translation.get_language(), sorted(state.items()))
    return '"' + hashlib.sha256(repr(parts).encode()).hexdigest()[:24] + '"'


@require_GET
def workshop_state_view(request: HttpRequest, workshop_id: int, token: str) -> HttpResponse:
    """What the screen, the phones and the facilitator show now, as a small fragment to swap in."""
    try:
        signed_id, view = signing.loads(token, salt=STATE_SALT, max_age=STATE_MAX_AGE)
    except signing.BadSignature:
        raise Http404("No such workshop") from None
    if signed_id != workshop_id or view not in VIEWS:
        raise Http404("No such workshop")
    state = workshop_state(workshop_id)
    if state is None:
        raise Http404("No such workshop")
    if view == "phone":
        # A phone shows its own ballot: it reloads its card when the facilitator moves on.
        state = {k: state[k] for k in ("state", "position", "card_id", "revealed")}
    etag = _etag(state, view)
    if etag in request.headers.get("If-None-Match", ""):
        response = HttpResponseNotModified()
    elif view == "phone":
        at = request.GET.get("at", "")
        response = HttpResponse(status=204)
        if at != f"{state['state']}:{state['card_id']}":
            response["HX-Refresh"] = "true"
    else:
        response = render(request, f"surveys/workshop/_{view}_state.html", {"s": state})
    response["ETag"] = etag
    response["Cache-Control"] = "no-cache"
    return response


@login_required
@require_POST
def workshop_new(request: HttpRequest, round_id: int) -> HttpResponse:
    rnd = get_round_for_inviter(request, round_id)
    squad = squads_for_inviter(request.user, rnd).filter(slug=request.POST.get("squad", "")).first()
    back = "surveys:round-detail" if rnd.tribe_id in roles_of(request).tribe_roles else "surveys:manage"
    form = WorkshopForm(request.POST)
    if squad is None or not form.is_valid():
        messages.error(request, _("Choose one of your squads and how the workshop runs."))
        return redirect(back, **({"round_id": rnd.pk} if back == "surveys:round-detail" else {}))
    try:
        workshop = workshop_start(round=rnd, squad=squad, started_by=request.user, **form.cleaned_data)
    except RoundRejected as exc:
        messages.error(request, str(exc))
        return redirect(back, **({"round_id": rnd.pk} if back == "surveys:round-detail" else {}))
    audit(AuditEvent.Action.WORKSHOP_STARTED, workshop, request=request, flow=workshop.flow)
    return redirect("surveys:workshop", workshop_id=workshop.pk)


def _qr(request: HttpRequest, link: InviteLink | None) -> tuple[str, str]:
    if link is None:
        return "", ""
    url = request.build_absolute_uri(reverse("surveys:join", args=[link.token]))
    return url, segno.make(url, error="m").svg_inline(
        scale=6, border=2, omitsize=True, title=_("Workshop link")
    )


@login_required
@require_GET
def workshop_facilitator(request: HttpRequest, workshop_id: int) -> HttpResponse:
    workshop = get_workshop_for_supporter(request, workshop_id)
    state = workshop_state(workshop.pk)
    url, qr = _qr(request, workshop.link)
    current = workshop.current_card
    agreed = workshop.agreed.filter(card=current).first() if current else None
    ctx = {
        "workshop": workshop,
        "s": state,
        "url": url,
        "qr": qr,
        "state_url": state_url(workshop, "facilitator"),
        "agree_form": AgreedCardForm(
            initial={
                "colour": agreed.colour if agreed else state.get("majority", ""),
                "trend": agreed.trend if agreed else state.get("median_trend", ""),
                "note": agreed.note if agreed else "",
            }
        ),
        "action_form": WorkshopActionForm(squad=workshop.part.squad),
    }
    return render(request, "surveys/workshop/facilitator.html", ctx)


@login_required
@require_POST
def workshop_control(request: HttpRequest, workshop_id: int) -> HttpResponse:
    """Every facilitator action: start, next, previous, reveal, agree, add an action, finish."""
    workshop = get_workshop_for_supporter(request, workshop_id)
    step = request.POST.get("step", "")
    back = redirect("surveys:workshop", workshop_id=workshop.pk)
    try:
        if step in ("start", "next", "previous", "reveal"):
            workshop_step(workshop=workshop, step=step)
        elif step == "agree":
            form = AgreedCardForm(request.POST)
            if not form.is_valid():
                messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
                return back
            workshop_agree(workshop=workshop, card=workshop.current_card, **form.cleaned_data)
            messages.success(
                request, _("Agreed for %(current_card)s.") % {"current_card": workshop.current_card.name}
            )
        elif step == "action":
            form = WorkshopActionForm(request.POST, squad=workshop.part.squad)
            if not form.is_valid():
                messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
                return back
            action = action_create(
                squad=workshop.part.squad,
                card=workshop.current_card,
                created_by=request.user,
                **form.cleaned_data,
            )
            messages.success(request, _("Action added: %(action)s") % {"action": action.title})
        elif step == "finish":
            if workshop_finish(workshop=workshop):
                audit(AuditEvent.Action.SQUAD_FINISHED, workshop.part.squad, request=request, via="workshop")
            messages.success(
                request,
                _("%(squad)s has finished: the results are ready.") % {"squad": workshop.part.squad.name},
            )
            return redirect(
                reverse("surveys:squad", args=[workshop.part.squad.slug]) + f"?round={workshop.part.round_id}"
            )
        else:
            messages.error(request, _("Unknown step."))
    except RoundRejected as exc:
        messages.error(request, str(exc))
    return back


@login_required
@require_GET
def workshop_screen(request: HttpRequest, workshop_id: int) -> HttpResponse:
    """For the projector: large type, the current card, counts, the timer, and the reveal."""
    workshop = get_workshop_for_viewer(request, workshop_id)
    url, qr = _qr(request, workshop.link)
    ctx = {
        "workshop": workshop,
        "s": workshop_state(workshop.pk),
        "url": url,
        "qr": qr,
        "state_url": state_url(workshop, "screen"),
    }
    return render(request, "surveys/workshop/screen.html", ctx)


@require_http_methods(["GET", "POST"])
def workshop_phone(request: HttpRequest, workshop_id: int) -> HttpResponse:
    """A phone: only the current card, three large colours and a trend. Its answers are the ballot
    of the person (a member, signed in) or of the browser (a guest of the squad's open link)."""
    guest = guest_of(request)
    if not request.user.is_authenticated and guest is None:
        return redirect_to_login(request.get_full_path())
    workshop = Workshop.objects.select_related("link").filter(pk=workshop_id).first()
    guest = guest_of(request, workshop.link) if workshop is not None and workshop.link else None
    workshop, voter, link = get_workshop_for_voter(request, workshop_id, guest)
    status = 200
    if request.method == "POST":
        try:
            workshop_answer(
                workshop=workshop,
                voter=voter,
                card_id=request.POST.get("card", ""),
                colour=request.POST.get("colour", ""),
                trend=request.POST.get("trend", ""),
                through_link=link,
            )
        except BallotRejected as exc:
            messages.error(request, str(exc))
            status = 409
        else:
            return redirect("surveys:workshop-phone", workshop_id=workshop.pk)
    own = workshop_join(workshop=workshop, voter=voter)
    state = workshop_state(workshop.pk)
    ctx = {
        "workshop": workshop,
        "s": state,
        "own": own,
        "own_colour": str(Colour(own["colour"]).label).lower() if own.get("colour") else "",
        "colours": [(c.value, c.label) for c in Colour],
        "trends": [(t.value, t.label) for t in Trend],
        "state_url": state_url(workshop, "phone") + f"?at={state['state']}:{state['card_id']}",
    }
    return render(request, "surveys/workshop/phone.html", ctx, status=status)
