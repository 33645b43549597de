"""Running health checks: rounds, the tribe's deck and workshop invite links (leads and coaches)."""

from __future__ import annotations

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Exists, OuterRef, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ..access import (
    get_card_for_lead,
    get_invite_for_inviter,
    get_round_for_inviter,
    get_round_for_manager,
    get_tribe_for_lead,
    get_tribe_for_manager,
    managed_tribes,
    squads_for_inviter,
)
from ..audit import audit
from ..forms import CardForm, ExtendForm, InviteForm, RoundForm, WorkshopForm
from ..models import (
    AuditEvent,
    Ballot,
    Cadence,
    HealthCard,
    InviteLink,
    Notification,
    Round,
    RoundCard,
    RoundRejected,
    RoundSquad,
    Squad,
    SquadRole,
    TribeRole,
    Workshop,
    local_time,
)
from ..services import (
    card_add,
    card_delete,
    card_move,
    card_retire,
    card_update,
    invite_create,
    invite_is_live,
    round_create,
    round_delete,
    round_update,
)


def _detail(rnd: Round) -> str:
    return reverse("surveys:round-detail", args=[rnd.pk])


@login_required
@require_GET
def manage_home(request: HttpRequest) -> HttpResponse:
    tribes = list(
        managed_tribes(request.user).annotate(
            is_lead=Exists(
                TribeRole.objects.filter(tribe=OuterRef("pk"), user=request.user, role=TribeRole.Role.LEAD)
            )
        )
    )
    rounds = (
        Round.objects.filter(tribe__in=tribes)
        .annotate(card_count=Count("round_cards", distinct=True))
        .select_related("tribe")
        .order_by("tribe__name", "-opens_at")
    )
    coached_open = (
        Round.objects.filter(
            state=Round.State.OPEN,
            tribe__squads__roles__user=request.user,
            tribe__squads__roles__role=SquadRole.Role.COACH,
        )
        .exclude(tribe__in=tribes)
        .distinct()
        .select_related("tribe")
    )
    coached = list(Squad.objects.filter(roles__user=request.user, roles__role=SquadRole.Role.COACH))
    if not tribes and not coached:
        raise Http404("Only tribe leads and coaches run health checks")
    # For leads: the rhythm, the next round it made (to skip or shift), and messages that failed.
    cadences = {c.tribe_id: c for c in Cadence.objects.filter(tribe__in=tribes)}
    upcoming = {
        r.tribe_id: r
        for r in Round.objects.filter(
            tribe__in=tribes, cadence_day__isnull=False, state=Round.State.SCHEDULED
        ).order_by("-opens_at")
    }
    troubled = dict(
        Notification.objects.filter(channel__tribe__in=tribes, attempts__gt=0)
        .exclude(state=Notification.State.SENT)
        .values("channel__tribe")
        .annotate(n=Count("pk"))
        .values_list("channel__tribe", "n")
    )
    for tribe in tribes:
        tribe.rhythm = cadences.get(tribe.pk)
        tribe.next_round = upcoming.get(tribe.pk)
        tribe.failing = troubled.get(tribe.pk, 0)
    ctx = {
        "tribes": tribes,
        "rounds": list(rounds),
        "coached_open": list(coached_open),
        "coached": coached,
        "flows": Workshop.Flow.choices,
        "kinds": InviteLink.Kind.choices,
        "makes_api_keys": request.user.is_staff or any(tribe.is_lead for tribe in tribes),
    }
    return render(request, "surveys/manage/home.html", ctx)


@login_required
@require_http_methods(["GET", "POST"])
def round_new(request: HttpRequest, slug: str) -> HttpResponse:
    tribe = get_tribe_for_manager(request, slug)
    if request.method == "POST":
        form = RoundForm(request.POST, tribe=tribe)
        if form.is_valid():
            rnd = round_create(tribe=tribe, **form.cleaned_data)
            audit(AuditEvent.Action.ROUND_CREATED, rnd, request=request, tribe=tribe.name)
            messages.success(
                request,
                _("%(round)s is saved as a draft. Open it when you are ready.") % {"round": rnd.title},
            )
            return redirect(_detail(rnd))
    else:
        # The next whole minute: a round just closed ends now, and rounds must not overlap.
        now = timezone.localtime().replace(second=0, microsecond=0) + timezone.timedelta(minutes=1)
        form = RoundForm(
            tribe=tribe,
            initial={
                "opens_at": now,
                "closes_at": now + timezone.timedelta(days=14),
                "cards": HealthCard.objects.filter(tribe=tribe, retired=False),
            },
        )
    return render(request, "surveys/manage/round_form.html", {"tribe": tribe, "form": form, "round": None})


@login_required
@require_http_methods(["GET", "POST"])
def round_edit(request: HttpRequest, round_id: int) -> HttpResponse:
    rnd = get_round_for_manager(request, round_id)
    if rnd.state in (Round.State.CLOSED, Round.State.CANCELLED):
        messages.info(request, rnd.refusal("changed"))
        return redirect(_detail(rnd))
    form = RoundForm(
        request.POST or None,
        tribe=rnd.tribe,
        round=rnd,
        initial={
            "title": rnd.title,
            "opens_at": timezone.localtime(rnd.opens_at),
            "closes_at": timezone.localtime(rnd.closes_at),
            "cards": rnd.cards.all(),
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            round_update(round=rnd, **form.cleaned_data)
        except RoundRejected as exc:
            form.add_error(None, str(exc))
        else:
            audit(
                AuditEvent.Action.ROUND_CHANGED,
                form.cleaned_data["title"],
                request=request,
                tribe=rnd.tribe.name,
            )
            messages.success(request, _("%(title)s is saved.") % {"title": form.cleaned_data["title"]})
            return redirect(_detail(rnd))
    return render(request, "surveys/manage/round_form.html", {"tribe": rnd.tribe, "form": form, "round": rnd})


@login_required
@require_GET
def round_detail(request: HttpRequest, round_id: int) -> HttpResponse:
    rnd = get_round_for_manager(request, round_id)
    invites = list(
        InviteLink.objects.filter(round=rnd)
        .select_related("squad")
        .order_by("squad__position", "squad__name", "-id")
    )
    # How many ballots each squad has (counts only, never who), and whether it has finished.
    ballots = dict(
        Ballot.objects.filter(round=rnd).values("squad").annotate(n=Count("id")).values_list("squad", "n")
    )
    parts = {part.squad_id: part for part in RoundSquad.objects.filter(round=rnd).select_related("workshop")}
    squads = [
        {"squad": squad, "ballots": ballots.get(squad.pk, 0), "part": parts.get(squad.pk)}
        for squad in Squad.objects.filter(tribe=rnd.tribe).annotate(
            members=Count("roles", filter=Q(roles__role=SquadRole.Role.MEMBER))
        )
    ]
    ctx = {
        "round": rnd,
        "cards": [rc.card for rc in rnd.round_cards.select_related("card")],
        "ballots": sum(ballots.values()),
        "squads": squads,
        "invites": invites,
        "invite_form": InviteForm(tribe=rnd.tribe),
        "workshop_form": WorkshopForm(),
        "extend_form": ExtendForm(
            initial={"closes_at": timezone.localtime(rnd.closes_at) + timezone.timedelta(days=2)}
        ),
        "status": rnd.voting_status(),
        "now": timezone.now(),
    }
    return render(request, "surveys/manage/round_detail.html", ctx)


def _round_action(
    request: HttpRequest, rnd: Round, action, success: str, event: str, **detail
) -> HttpResponse:
    """Make one transition of the round; audit it only when it happened."""
    try:
        done = action()
    except RoundRejected as exc:
        messages.error(request, str(exc))
    else:
        if done is not False:
            audit(event, rnd, request=request, tribe=rnd.tribe.name, **detail)
        messages.success(request, success)
    return redirect(_detail(rnd))


@login_required
@require_POST
def round_open_view(request: HttpRequest, round_id: int) -> HttpResponse:
    rnd = get_round_for_manager(request, round_id)
    return _round_action(
        request,
        rnd,
        rnd.open,
        _("%(round)s is open: every squad of %(tribe)s can vote.")
        % {"round": rnd.title, "tribe": rnd.tribe.name},
        AuditEvent.Action.ROUND_OPENED,
    )


@login_required
@require_POST
def round_schedule_view(request: HttpRequest, round_id: int) -> HttpResponse:
    rnd = get_round_for_manager(request, round_id)
    return _round_action(
        request,
        rnd,
        rnd.schedule,
        _("%(round)s is scheduled: it opens by itself on %(opens)s.")
        % {"round": rnd.title, "opens": local_time(rnd.opens_at)},
        AuditEvent.Action.ROUND_SCHEDULED,
    )


@login_required
@require_POST
def round_cancel_view(request: HttpRequest, round_id: int) -> HttpResponse:
    rnd = get_round_for_manager(request, round_id)
    return _round_action(
        request,
        rnd,
        rnd.cancel,
        _("%(round)s is cancelled.") % {"round": rnd.title},
        AuditEvent.Action.ROUND_CANCELLED,
    )


@login_required
@require_POST
def round_extend_view(request: HttpRequest, round_id: int) -> HttpResponse:
    rnd = get_round_for_manager(request, round_id)
    form = ExtendForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter the new closing time as a date and time."))
        return redirect(_detail(rnd))
    closes_at = form.cleaned_data["closes_at"]
    return _round_action(
        request,
        rnd,
        lambda: rnd.extend(closes_at=closes_at),
        _("%(round)s now closes later.") % {"round": rnd.title},
        AuditEvent.Action.ROUND_EXTENDED,
        closes_at=closes_at.isoformat(),
    )


@login_required
@require_POST
def round_delete_view(request: HttpRequest, round_id: int) -> HttpResponse:
    rnd = get_round_for_manager(request, round_id)
    try:
        round_delete(round=rnd)
    except RoundRejected as exc:
        messages.error(request, str(exc))
        return redirect(_detail(rnd))
    audit(AuditEvent.Action.ROUND_DELETED, rnd.title, request=request, tribe=rnd.tribe.name)
    messages.success(request, _("The draft %(round)s is deleted.") % {"round": rnd.title})
    return redirect("surveys:manage")


@login_required
@require_http_methods(["GET", "POST"])
def round_close_view(request: HttpRequest, round_id: int) -> HttpResponse:
    """Close a round by hand: GET asks for confirmation, POST closes it and freezes the results."""
    rnd = get_round_for_manager(request, round_id)
    if rnd.voting_status() != "open" and rnd.state != Round.State.OPEN:
        messages.info(
            request, _("%(round)s is not open, so there is nothing to close.") % {"round": rnd.title}
        )
        return redirect(_detail(rnd))
    if request.method == "POST":
        try:
            closed = rnd.close()
        except RoundRejected as exc:
            messages.error(request, str(exc))
            return redirect(_detail(rnd))
        if closed:
            audit(AuditEvent.Action.ROUND_CLOSED, rnd, request=request, tribe=rnd.tribe.name)
        messages.success(request, _("%(round)s is closed and its results are ready.") % {"round": rnd.title})
        return redirect(reverse("surveys:tribe-dashboard", args=[rnd.tribe.slug]) + f"?round={rnd.pk}")
    ctx = {"round": rnd, "ballots": Ballot.objects.filter(round=rnd).count()}
    return render(request, "surveys/round_close.html", ctx)


@login_required
@require_POST
def squad_finish_view(request: HttpRequest, round_id: int, squad_slug: str) -> HttpResponse:
    """Close one squad's part of an open round, so that its results show at once."""
    rnd = get_round_for_manager(request, round_id)
    part = RoundSquad.objects.filter(round=rnd, squad__slug=squad_slug).select_related("squad").first()
    if part is None:
        raise Http404("That squad has no part in this round")
    return _round_action(
        request,
        rnd,
        part.close,
        _("%(squad)s has finished %(round)s: its results are ready.")
        % {"squad": part.squad.name, "round": rnd.title},
        AuditEvent.Action.SQUAD_FINISHED,
        squad=part.squad.name,
    )


# Invite links


@login_required
@require_POST
def invite_new(request: HttpRequest, round_id: int) -> HttpResponse:
    rnd = get_round_for_inviter(request, round_id)
    squads = squads_for_inviter(request.user, rnd)
    form = InviteForm(request.POST, tribe=rnd.tribe)
    form.fields["squad"].queryset = squads
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect(
            _detail(rnd)
            if TribeRole.objects.filter(user=request.user, tribe=rnd.tribe).exists()
            else "surveys:manage"
        )
    try:
        invite = invite_create(
            round=rnd,
            squad=form.cleaned_data["squad"],
            kind=form.cleaned_data["kind"],
            created_by=request.user,
        )
    except RoundRejected as exc:
        messages.error(request, str(exc))
        return redirect("surveys:manage")
    audit(AuditEvent.Action.INVITE_CREATED, invite, request=request, kind=invite.kind)
    return redirect("surveys:invite-detail", invite_id=invite.pk)


@login_required
@require_GET
def invite_detail(request: HttpRequest, invite_id: int) -> HttpResponse:
    """A page for the projector: a large QR code and the link, for one squad in one round."""
    invite = get_invite_for_inviter(request, invite_id)
    url = request.build_absolute_uri(reverse("surveys:join", args=[invite.token]))
    qr = segno.make(url, error="m").svg_inline(
        scale=8, border=2, omitsize=True, title=_("Invite link for %(squad)s") % {"squad": invite.squad.name}
    )
    ctx = {"invite": invite, "url": url, "qr": qr, "live": invite_is_live(invite)}
    return render(request, "surveys/manage/invite.html", ctx)


@login_required
@require_POST
def invite_revoke(request: HttpRequest, invite_id: int) -> HttpResponse:
    invite = get_invite_for_inviter(request, invite_id)
    InviteLink.objects.filter(pk=invite.pk).update(revoked=True)
    audit(AuditEvent.Action.INVITE_REVOKED, invite, request=request)
    messages.success(
        request, _("The invite link for %(squad)s no longer works.") % {"squad": invite.squad.name}
    )
    return redirect("surveys:invite-detail", invite_id=invite.pk)


# The tribe's deck


@login_required
@require_http_methods(["GET", "POST"])
def deck(request: HttpRequest, slug: str) -> HttpResponse:
    tribe = get_tribe_for_lead(request, slug)
    form = CardForm(request.POST or None, tribe=tribe)
    if request.method == "POST" and form.is_valid():
        card = card_add(tribe=tribe, **form.cleaned_data)
        audit(AuditEvent.Action.DECK_CHANGED, card, request=request, tribe=tribe.name, change="added")
        messages.success(request, _("%(card)s is added to the deck.") % {"card": card.name})
        return redirect("surveys:deck", slug=tribe.slug)
    cards = (
        HealthCard.objects.filter(tribe=tribe)
        .annotate(used=Exists(RoundCard.objects.filter(card=OuterRef("pk"))))
        .order_by("position", "name")
    )
    return render(request, "surveys/manage/deck.html", {"tribe": tribe, "cards": cards, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def card_edit(request: HttpRequest, card_id: int) -> HttpResponse:
    card = get_card_for_lead(request, card_id)
    form = CardForm(request.POST or None, instance=card, tribe=card.tribe)
    if request.method == "POST" and form.is_valid():
        before = HealthCard.objects.values_list("name", flat=True).get(pk=card.pk)
        card_update(card=card, **form.cleaned_data)
        audit(
            AuditEvent.Action.DECK_CHANGED,
            card,
            request=request,
            tribe=card.tribe.name,
            change="edited",
            was=before,
        )
        messages.success(request, _("%(card)s is saved; its history stays with it.") % {"card": card.name})
        return redirect("surveys:deck", slug=card.tribe.slug)
    return render(request, "surveys/manage/card_form.html", {"card": card, "form": form, "tribe": card.tribe})


@login_required
@require_POST
def card_change(request: HttpRequest, card_id: int) -> HttpResponse:
    """Move a card up or down, retire or restore it, or delete it if it was never used."""
    card = get_card_for_lead(request, card_id)
    action = request.POST.get("action")
    if action in ("up", "down"):
        card_move(card=card, up=action == "up")
    elif action in ("retire", "restore"):
        card_retire(card=card, retired=action == "retire")
        done = _("%(card)s is retired.") if card.retired else _("%(card)s is back in the deck.")
        messages.success(request, done % {"card": card.name})
    elif action == "delete":
        try:
            card_delete(card=card)
        except RoundRejected as exc:
            messages.error(request, str(exc))
            return redirect("surveys:deck", slug=card.tribe.slug)
        messages.success(request, _("%(card)s is deleted.") % {"card": card.name})
    else:
        messages.error(request, _("Unknown change."))
        return redirect("surveys:deck", slug=card.tribe.slug)
    audit(AuditEvent.Action.DECK_CHANGED, card, request=request, tribe=card.tribe.name, change=action)
    return redirect("surveys:deck", slug=card.tribe.slug)
