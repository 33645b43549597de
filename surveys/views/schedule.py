"""A tribe's rhythm of rounds and its chat channels: the lead's page, with skip and shift."""

from __future__ import annotations

from contextlib import suppress

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from ..access import get_tribe_for_lead
from ..audit import audit
from ..forms import CadenceForm, ChannelForm, ShiftForm
from ..models import AuditEvent, Cadence, Channel, HealthCard, Notification, RoundRejected, Tribe, local_time
from ..notify import notification_retry, seal, url_hint
from ..services import cadence_next_round, cadence_plan, cadence_save, cadence_shift


def _page(tribe: Tribe) -> str:
    return reverse("surveys:schedule", args=[tribe.slug])


def _back(request: HttpRequest, tribe: Tribe) -> HttpResponse:
    """Back where the lead came from: the manage page or this tribe's schedule page."""
    if request.POST.get("next") == "manage":
        return redirect("surveys:manage")
    return redirect(_page(tribe))


def _cadence(tribe: Tribe) -> Cadence:
    return Cadence.objects.filter(tribe=tribe).first() or Cadence(tribe=tribe)


def _render(
    request: HttpRequest,
    tribe: Tribe,
    *,
    form: CadenceForm | None = None,
    shift_form: ShiftForm | None = None,
    channel_form: ChannelForm | None = None,
    status: int = 200,
) -> HttpResponse:
    saved = _cadence(tribe)  # as stored: an invalid form's instance holds what was typed
    ctx = {
        "tribe": tribe,
        "cadence": saved,
        "form": form or CadenceForm(instance=saved, tribe=tribe),
        "next_round": cadence_next_round(tribe),
        "no_cards": not HealthCard.objects.filter(tribe=tribe, retired=False).exists(),
        "shift_form": shift_form,
        "channels": list(Channel.objects.filter(tribe=tribe).select_related("added_by")),
        "channel_form": channel_form or ChannelForm(tribe=tribe),
        "notifications": list(
            Notification.objects.filter(channel__tribe=tribe).select_related("channel", "round")[:20]
        ),
    }
    return render(request, "surveys/manage/schedule.html", ctx, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def schedule(request: HttpRequest, slug: str) -> HttpResponse:
    tribe = get_tribe_for_lead(request, slug)
    if request.method == "GET":
        return _render(request, tribe)
    form = CadenceForm(request.POST, instance=_cadence(tribe), tribe=tribe)
    if not form.is_valid():
        return _render(request, tribe, form=form, status=400)
    cadence = cadence_save(cadence=form.save(commit=False), cards=form.cleaned_data["cards"], by=request.user)
    nxt = cadence_next_round(tribe)
    if cadence.every == Cadence.Every.OFF:
        messages.success(request, _("The rhythm is off: rounds are made by hand."))
    elif nxt is not None:
        messages.success(
            request,
            _("Saved: %(described)s. %(nxt)s is scheduled to open %(opens)s.")
            % {"described": cadence.described(), "nxt": nxt.title, "opens": local_time(nxt.opens_at)},
        )
    else:
        messages.warning(
            request,
            _("Saved: %(described)s. No round could be scheduled yet; see below.")
            % {"described": cadence.described()},
        )
    return redirect(_page(tribe))


def _the_round_shown(request: HttpRequest, tribe: Tribe):
    """The rhythm's next round, if it is still the one the lead saw (the page posts its id)."""
    rnd = cadence_next_round(tribe)
    if rnd is None or str(rnd.pk) != request.POST.get("round"):
        messages.error(
            request,
            _(
                "The next round of the rhythm has changed since the page was loaded (it may have opened); "
                "nothing was changed. Here it is as it is now."
            ),
        )
        return None
    return rnd


@login_required
@require_POST
def cadence_skip_view(request: HttpRequest, slug: str) -> HttpResponse:
    tribe = get_tribe_for_lead(request, slug)
    rnd = _the_round_shown(request, tribe)
    if rnd is None:
        return _back(request, tribe)
    try:
        rnd.cancel()
    except RoundRejected as exc:
        messages.error(request, str(exc))
        return _back(request, tribe)
    audit(AuditEvent.Action.ROUND_CANCELLED, rnd, request=request, tribe=tribe.name, by="skipped")
    with suppress(RoundRejected, IntegrityError):  # if not now, the scheduler makes it on its next tick
        cadence_plan(cadence=tribe.cadence)
    nxt = cadence_next_round(tribe)
    skipped = _("%(round)s is skipped.") % {"round": rnd.title}
    if nxt:
        skipped += " " + _("The next one is %(round)s, opening %(opens)s.") % {
            "round": nxt.title,
            "opens": local_time(nxt.opens_at),
        }
    messages.success(request, skipped)
    return _back(request, tribe)


@login_required
@require_POST
def cadence_shift_view(request: HttpRequest, slug: str) -> HttpResponse:
    tribe = get_tribe_for_lead(request, slug)
    rnd = _the_round_shown(request, tribe)
    if rnd is None:
        return _back(request, tribe)
    form = ShiftForm(request.POST)
    if form.is_valid():
        try:
            cadence_shift(round=rnd, opens_at=form.cleaned_data["opens_at"])
        except RoundRejected as exc:
            form.add_error("opens_at", str(exc))
        else:
            audit(AuditEvent.Action.ROUND_CHANGED, rnd, request=request, tribe=tribe.name, by="shifted")
            messages.success(
                request,
                _("%(round)s now opens %(opens)s and closes %(closes)s.")
                % {
                    "round": rnd.title,
                    "opens": local_time(rnd.opens_at),
                    "closes": local_time(rnd.closes_at),
                },
            )
            return _back(request, tribe)
    return _render(request, tribe, shift_form=form, status=400)


@login_required
@require_POST
def channel_add(request: HttpRequest, slug: str) -> HttpResponse:
    tribe = get_tribe_for_lead(request, slug)
    form = ChannelForm(request.POST, tribe=tribe)
    if not form.is_valid():
        return _render(request, tribe, channel_form=form, status=400)
    url = form.cleaned_data["url"]
    try:
        channel = Channel.objects.create(
            tribe=tribe,
            kind=form.cleaned_data["kind"],
            sealed_url=seal(url),
            url_hint=url_hint(url),
            added_by=request.user,
        )
    except IntegrityError:  # added at the same moment by someone else
        form.add_error(
            "kind",
            _("%(tribe)s has a channel of that kind already; remove it first.") % {"tribe": tribe.name},
        )
        return _render(request, tribe, channel_form=form, status=409)
    audit(AuditEvent.Action.CHANNEL_ADDED, channel, request=request, tribe=tribe.name)
    messages.success(
        request,
        _("The %(channel)s channel will hear when rounds open, close soon and are published.")
        % {"channel": channel.get_kind_display()},
    )
    return redirect(_page(tribe))


def _channel(request: HttpRequest, slug: str, channel_id: int) -> tuple[Tribe, Channel]:
    tribe = get_tribe_for_lead(request, slug)
    channel = Channel.objects.filter(tribe=tribe, pk=channel_id).first()
    if channel is None:
        raise Http404("No such channel")
    return tribe, channel


@login_required
@require_POST
def channel_remove(request: HttpRequest, slug: str, channel_id: int) -> HttpResponse:
    tribe, channel = _channel(request, slug, channel_id)
    audit(AuditEvent.Action.CHANNEL_REMOVED, channel, request=request, tribe=tribe.name)
    channel.delete()
    messages.success(
        request, _("The %(channel)s channel is removed.") % {"channel": channel.get_kind_display()}
    )
    return redirect(_page(tribe))


@login_required
@require_POST
def channel_retry(request: HttpRequest, slug: str, channel_id: int) -> HttpResponse:
    tribe, channel = _channel(request, slug, channel_id)
    count = notification_retry(channel=channel)
    messages.success(
        request,
        ngettext(
            "%(count)s notification will be tried again within a minute.",
            "%(count)s notifications will be tried again within a minute.",
            count,
        )
        % {"count": count},
    )
    return redirect(_page(tribe))
