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
from ..pagecache import cached_part, cached_value
from ..services import rounds_close_due

HISTORY_ROUNDS = 8


def _load_rounds(tribe: Tribe) -> list[Round]:
    fields = ("id", "title", "state", "opens_at", "closes_at", "tribe_id")
    return list(
        Round.objects.filter(tribe=tribe).exclude(state=Round.State.DRAFT).order_by("-opens_at").only(*fields)
    )


def tribe_rounds(tribe: Tribe) -> tuple[list[Round], Round | None]:
    """The tribe's closed rounds, newest first, and its open round if any (cached per tribe version).

    A round found open past its closing time is closed (and its results frozen) first.
    """
    now = timezone.now()
    rounds = cached_value(f"rounds:{tribe.pk}:{tribe.version}", lambda: _load_rounds(tribe))
    if any(r.state == Round.State.OPEN and r.closes_at <= now for r in rounds):
        for closed in rounds_close_due(tribe=tribe, now=now):
            audit(AuditEvent.Action.ROUND_CLOSED, closed, tribe=tribe.name, by="closing time")
        tribe.refresh_from_db(fields=["version"])
        rounds = _load_rounds(tribe)
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


def round_cards(rnd: Round, version: int) -> list:
    """The cards a round asks, in order; kept per tribe version, which any change to them bumps."""
    return cached_value(
        f"round-cards:{rnd.pk}:{version}",
        lambda: [rc.card for rc in RoundCard.objects.filter(round_id=rnd.pk).select_related("card")],
    )


def _flags(*values: bool) -> str:
    return "".join("1" if value else "0" for value in values)


@login_required
@require_GET
def tribe_dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    tribe = get_tribe_for_viewer(request, slug)
    rounds, open_round = tribe_rounds(tribe)
    rnd, previous = selected_round(request, rounds)
    compare = request.GET.get("compare") == "1" and previous is not None
    can_coach = tribe.can_coach or request.user.is_staff

    def context() -> dict:
        ctx = {
            "tribe": tribe,
            "rounds": rounds,
            "round": rnd,
            "previous": previous,
            "compare": compare,
            "open_round": open_round,
            "min_responses": settings.HEALTHCHECK_MIN_RESPONSES,
            "can_manage": tribe.can_manage,
            "can_coach": can_coach,
        }
        if rnd is not None:
            squads = list(Squad.objects.filter(tribe=tribe))
            cards = round_cards(rnd, tribe.version)
            ctx["matrix"] = build_matrix(squads, cards, list(Result.objects.filter(round=rnd)))
        return ctx

    key = f"dashboard:{tribe.pk}:{tribe.version}:{rnd.pk if rnd else 0}:{_flags(compare, tribe.can_manage, can_coach)}"
    content = cached_part(request, key, "surveys/_tribe_dashboard.html", context)
    return render(request, "surveys/tribe_dashboard.html", {"tribe": tribe, "content": content})


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
    matrix = build_matrix(squads, round_cards(rnd, tribe.version), list(Result.objects.filter(round=rnd)))

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


def _squad_results(squad: Squad, rnd: Round, rounds: list[Round]) -> list[dict]:
    """Per card of the round: its result, comments (sorted by text) and a history chart."""
    history = list(reversed(rounds[:HISTORY_ROUNDS]))
    results = list(
        Result.objects.filter(squad=squad, round__in={r.pk for r in history} | {rnd.pk}).select_related(
            "card"
        )
    )
    by_key = {(r.round_id, r.card_id): r for r in results}
    current = sorted(
        (r for r in results if r.round_id == rnd.pk), key=lambda r: (r.card.position, r.card.name)
    )
    comments: dict[int, list[str]] = {}
    for card_id, text in (
        Answer.objects.filter(
            ballot__round=rnd, ballot__squad=squad, card_id__in=[r.card_id for r in current if r.visible]
        )
        .exclude(comment="")
        .order_by("card_id", "comment")
        .values_list("card_id", "comment")
    ):
        comments.setdefault(card_id, []).append(text)
    options = {
        "green_at": settings.HEALTHCHECK_LIGHT_GREEN_AT,
        "red_below": settings.HEALTHCHECK_LIGHT_RED_BELOW,
    }
    return [
        {
            "result": r,
            "comments": comments.get(r.card_id, []),
            "chart_id": f"history-{r.card_id}",
            "history": charts.sparkline(
                [point_for(h.title, by_key.get((h.pk, r.card_id))) for h in history], **options
            ),
        }
        for r in current
    ]


def _action_views(squad: Squad, rounds: list[Round]) -> list[ActionView]:
    """The squad's action items, each with its card's light when agreed and now."""
    actions = list(
        ActionItem.objects.filter(squad=squad)
        .select_related("card", "owner")
        .order_by("done", "due_date", "title")
    )
    latest = rounds[0] if rounds else None
    wanted = {a.baseline_round_id for a in actions if a.baseline_round_id} | (
        {latest.pk} if latest else set()
    )
    by_key = {}
    if actions and wanted:
        for result in Result.objects.filter(
            squad=squad, round__in=wanted, card__in={a.card_id for a in actions}
        ):
            by_key[(result.round_id, result.card_id)] = result
    return [
        ActionView(
            action=a,
            overdue=a.is_overdue(),
            before=by_key.get((a.baseline_round_id, a.card_id)),
            now=by_key.get((latest.pk, a.card_id)) if latest else None,
        )
        for a in actions
    ]


@login_required
@require_GET
def squad_page(request: HttpRequest, slug: str) -> HttpResponse:
    access = get_squad_for_viewer(request, slug)
    squad = access.squad
    rounds, _ = tribe_rounds(squad.tribe)
    rnd, previous = selected_round(request, rounds)
    can_edit = access.is_member or access.is_coach

    def context() -> dict:
        return {
            "squad": squad,
            "tribe": squad.tribe,
            "rounds": rounds,
            "round": rnd,
            "previous": previous,
            "access": access,
            "can_edit": can_edit,
            "min_responses": settings.HEALTHCHECK_MIN_RESPONSES,
            "results": _squad_results(squad, rnd, rounds) if rnd else [],
        }

    key = f"squad:{squad.pk}:{squad.tribe.version}:{rnd.pk if rnd else 0}:{_flags(access.is_coach, can_edit)}"
    ctx = {
        "squad": squad,
        "content": cached_part(request, key, "surveys/_squad.html", context),
        "actions": _action_views(squad, rounds),
        "can_edit": can_edit,
        "has_charts": rnd is not None,
    }
    return render(request, "surveys/squad.html", ctx)
