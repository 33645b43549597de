from __future__ import annotations

import csv
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from .. import charts
from ..access import get_squad_for_viewer, get_tribe_for_viewer
from ..audit import audit
from ..matrix import build_matrix
from ..models import ActionItem, Answer, AuditEvent, Result, Round, RoundCard, Squad, Tribe
from ..services import rounds_close_due


def tribe_rounds(tribe: Tribe) -> tuple[list[Round], Round | None]:
    """The tribe's closed rounds, newest first, and its open round if any, in one query.

    A round found open past its closing time is closed (and its results frozen) first.
    """
    now = timezone.now()
    fields = ("id", "title", "state", "opens_at", "closes_at", "tribe_id")
    rounds = list(
        Round.objects.filter(tribe=tribe).exclude(state=Round.State.DRAFT).order_by("-opens_at").only(*fields)
    )
    if any(r.state == Round.State.OPEN and r.closes_at <= now for r in rounds):
        for closed in rounds_close_due(tribe=tribe, now=now):
            audit(AuditEvent.Action.ROUND_CLOSED, closed, tribe=tribe.name, by="closing time")
        rounds = list(
            Round.objects.filter(tribe=tribe)
            .exclude(state=Round.State.DRAFT)
            .order_by("-opens_at")
            .only(*fields)
        )
    closed = [r for r in rounds if r.state == Round.State.CLOSED]
    still_open = sorted((r for r in rounds if r.state == Round.State.OPEN), key=lambda r: r.closes_at)
    return closed, still_open[0] if still_open else None


def selected_round(request: HttpRequest, rounds: list[Round]) -> tuple[Round | None, Round | None]:
    """The round chosen with ?round=<id> (the latest by default) and the one before it."""
    wanted = request.GET.get("round")
    ids = [str(r.pk) for r in rounds]
    if wanted and wanted not in ids:
        raise Http404("No such closed round")
    if not rounds:
        return None, None
    index = ids.index(wanted) if wanted else 0
    return rounds[index], rounds[index + 1] if index + 1 < len(rounds) else None


def _round_cards(rnd: Round) -> list:
    return [rc.card for rc in RoundCard.objects.filter(round=rnd).select_related("card")]


@login_required
@require_GET
def tribe_dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    tribe = get_tribe_for_viewer(request, slug)
    rounds, open_round = tribe_rounds(tribe)
    rnd, previous = selected_round(request, rounds)
    ctx = {
        "tribe": tribe,
        "rounds": rounds,
        "round": rnd,
        "previous": previous,
        "compare": request.GET.get("compare") == "1" and previous is not None,
        "open_round": open_round,
        "min_responses": settings.HEALTHCHECK_MIN_RESPONSES,
        "can_manage": tribe.can_manage,
    }
    if rnd is not None:
        squads = list(Squad.objects.filter(tribe=tribe))
        results = list(Result.objects.filter(round=rnd))
        ctx["matrix"] = build_matrix(squads, _round_cards(rnd), results)
    return render(request, "surveys/tribe_dashboard.html", ctx)


def _neutralise(value: object) -> object:
    """Keep spreadsheet programs from reading a text cell as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


@login_required
@require_GET
def tribe_export(request: HttpRequest, slug: str) -> HttpResponse:
    """The results of one round as CSV: aggregates only, with the minimum of responses applied."""
    tribe = get_tribe_for_viewer(request, slug)
    rnd, _ = selected_round(request, tribe_rounds(tribe)[0])
    if rnd is None:
        raise Http404("No closed round yet")
    squads = list(Squad.objects.filter(tribe=tribe))
    matrix = build_matrix(squads, _round_cards(rnd), list(Result.objects.filter(round=rnd)))

    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{tribe.slug}-round-{rnd.pk}.csv"'
    writer = csv.writer(response)
    # Scores are 0 to 2 and changes are given as words, so no number needs a sign.
    writer.writerow(
        [
            "round",
            "squad",
            "card",
            "voters",
            "members",
            "green",
            "yellow",
            "red",
            "score",
            "light",
            "voted trend",
            "previous score",
            "measured change",
            "split",
            "note",
        ]
    )
    trend_words = {"up": "improving", "flat": "stable", "down": "getting worse", None: ""}
    for row in matrix.rows:
        for squad, cell in zip(matrix.squads, row.cells, strict=True):
            if cell is None or not cell.visible:
                members = cell.members if cell else ""
                values = [members, "", "", "", "", "", "", "", "", "", "not enough votes"]
            else:
                previous = cell.previous_score if cell.change is not None else None
                values = [
                    cell.members,
                    cell.greens,
                    cell.yellows,
                    cell.reds,
                    _number(cell.score),
                    cell.light,
                    trend_words[cell.arrow],
                    _number(previous),
                    cell.change_direction or "",
                    "yes" if cell.split else "no",
                    cell.divergence,
                ]
            voters = cell.voters if cell is not None and cell.visible else ""
            writer.writerow(_neutralise(v) for v in [rnd.title, squad.name, row.card.name, voters, *values])
        t = row.tribe
        writer.writerow(
            _neutralise(v)
            for v in [
                rnd.title,
                f"Tribe ({t.reached} of {t.total} squads with enough votes)",
                row.card.name,
                "",
                "",
                t.counts["green"],
                t.counts["yellow"],
                t.counts["red"],
                _number(t.score),
                t.light or "",
                "",
                _number(t.previous_score),
                t.change_direction or "",
                "",
                "possible systemic issue" if row.systemic else "",
            ]
        )
    return response


HISTORY_ROUNDS = 8


@dataclass
class ActionView:
    action: ActionItem
    overdue: bool
    before: Result | None
    now: Result | None

    @property
    def movement(self) -> str:
        """The card's light when the action was agreed and now, e.g. "yellow → green"."""
        if self.before is None or self.now is None or self.before.round_id == self.now.round_id:
            return ""
        return f"{self.before.light or 'not enough votes'} → {self.now.light or 'not enough votes'}"


@login_required
@require_GET
def squad_page(request: HttpRequest, slug: str) -> HttpResponse:
    access = get_squad_for_viewer(request, slug)
    squad = access.squad
    rounds, _ = tribe_rounds(squad.tribe)
    rnd, previous = selected_round(request, rounds)
    actions = list(
        ActionItem.objects.filter(squad=squad)
        .select_related("card", "owner", "baseline_round")
        .order_by("done", "due_date", "title")
    )
    latest = rounds[0] if rounds else None
    history = list(reversed(rounds[:HISTORY_ROUNDS]))
    wanted = {r.pk for r in history} | {a.baseline_round_id for a in actions if a.baseline_round_id}
    if rnd is not None:
        wanted.add(rnd.pk)
    # One query: the selected round, the recent history, and the rounds where actions started.
    results = list(Result.objects.filter(squad=squad, round__in=wanted).select_related("card"))
    by_key = {(r.round_id, r.card_id): r for r in results}

    ctx = {
        "squad": squad,
        "tribe": squad.tribe,
        "rounds": rounds,
        "round": rnd,
        "previous": previous,
        "access": access,
        "can_edit": access.is_member or access.is_coach,
        "min_responses": settings.HEALTHCHECK_MIN_RESPONSES,
        "actions": [
            ActionView(
                action=a,
                overdue=a.is_overdue(),
                before=by_key.get((a.baseline_round_id, a.card_id)),
                now=by_key.get((latest.pk, a.card_id)) if latest else None,
            )
            for a in actions
        ],
    }
    if rnd is not None:
        current = sorted(
            (r for r in results if r.round_id == rnd.pk), key=lambda r: (r.card.position, r.card.name)
        )
        visible_cards = [r.card_id for r in current if r.visible]
        comments: dict[int, list[str]] = {}
        # Sorted by text: a stable order that says nothing about who wrote first.
        for card_id, text in (
            Answer.objects.filter(ballot__round=rnd, ballot__squad=squad, card_id__in=visible_cards)
            .exclude(comment="")
            .order_by("card_id", "comment")
            .values_list("card_id", "comment")
        ):
            comments.setdefault(card_id, []).append(text)
        options = {
            "green_at": settings.HEALTHCHECK_LIGHT_GREEN_AT,
            "red_below": settings.HEALTHCHECK_LIGHT_RED_BELOW,
        }
        ctx["results"] = [
            {
                "result": r,
                "comments": comments.get(r.card_id, []),
                "actions": [a for a in ctx["actions"] if a.action.card_id == r.card_id and not a.action.done],
                "chart_id": f"history-{r.card_id}",
                "history": charts.sparkline(
                    [point_for(h.title, by_key.get((h.pk, r.card_id))) for h in history], **options
                ),
            }
            for r in current
        ]
        ctx["participation"] = current[0] if current else None
    return render(request, "surveys/squad.html", ctx)


def point_for(title: str, result: Result | None) -> charts.Point:
    """A chart point for one result; below the minimum it becomes a gap, never a zero."""
    if result is None:
        return charts.Point(round=title, score=None, light=None, voters=0)
    return charts.Point(
        round=title,
        score=result.score if result.visible else None,
        light=result.light,
        voters=result.voters,
        trend=result.arrow,
    )
