from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from ..access import get_round_for_manager
from ..models import Ballot, Round
from ..services import round_close


@login_required
@require_http_methods(["GET", "POST"])
def round_close_view(request: HttpRequest, round_id: int) -> HttpResponse:
    """Close a round by hand: GET asks for confirmation, POST closes it and freezes the results."""
    rnd = get_round_for_manager(request, round_id)
    if rnd.state != Round.State.OPEN:
        messages.info(request, f"{rnd.title} is not open, so there is nothing to close.")
        return redirect("surveys:tribe-dashboard", slug=rnd.tribe.slug)
    if request.method == "POST":
        round_close(round=rnd)
        messages.success(request, f"{rnd.title} is closed and its results are ready.")
        return redirect(reverse("surveys:tribe-dashboard", args=[rnd.tribe.slug]) + f"?round={rnd.pk}")
    ctx = {"round": rnd, "ballots": Ballot.objects.filter(round=rnd).count()}
    return render(request, "surveys/round_close.html", ctx)
