from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET

from .. import charts
from ..access import get_squad_for_viewer, get_tribe_for_viewer, roles_of
from ..matrix import Matrix, build_matrix, systemic_rule
from ..models import ActionItem, Answer, Result, Round, RoundSquad, Squad, SquadRole, TribeResult
from ..release import fragment_key
from ..selectors import latest_closed, point_for, round_cards, selected_round, squad_rounds, tribe_rounds
from ..spreadsheet import neutralise
from ..templatetags.health import ARROWS, LIGHTS

HISTORY_ROUNDS = 8


def _round_matrix(rnd: Round, squads: list[Squad], cards: list) -> Matrix:
    results = list(Result.objects.filter(round=rnd))
    return build_matrix(squads, cards, results, list(TribeResult.objects.filter(round=rnd)))


def _squads_of(rnd: Round) -> list[Squad]:
    """The squads that took part, even one that has moved to another tribe since; done once finished."""
    finished = RoundSquad.objects.filter(round=rnd, squad=OuterRef("pk"), state=RoundSquad.State.CLOSED)
    return list(
        Squad.objects.filter(parts__round=rnd).annotate(done=Exists(finished)).order_by("position", "name")
    )


def _my_ballots(request: HttpRequest, tribe, current: Round | None) -> list[Squad]:
    """The person's squads of this tribe that are still voting in its open round: a link each."""
    if current is None or current.state != Round.State.OPEN:
        return []
    mine = [
        squad
        for squad, kinds in roles_of(request).squads.values()
        if squad.tribe_id == tribe.pk and SquadRole.Role.MEMBER in kinds
    ]
    if not mine:
        return []
    done = set(
        RoundSquad.objects.filter(round=current, squad__in=mine, state=RoundSquad.State.CLOSED).values_list(
            "squad_id", flat=True
        )
    )
    return [squad for squad in mine if squad.pk not in done]


@login_required
@require_GET
def tribe_dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    tribe = get_tribe_for_viewer(request, slug)
    rounds, current = tribe_rounds(tribe)
    rnd, previous = selected_round(request, rounds, default=latest_closed(rounds))
    compare = request.GET.get("compare") == "1" and previous is not None
    ctx = {
        "tribe": tribe,
        "rounds": rounds,
        "round": rnd,
        "previous": previous,
        "compare": compare,
        "current": current,
        "min_responses": settings.HEALTHCHECK_MIN_RESPONSES,
        "can_manage": tribe.can_manage,
        "can_coach": tribe.can_coach or request.user.is_staff,
        "systemic": systemic_rule(),
        "my_ballots": _my_ballots(request, tribe, current),
    }
    if rnd is not None:
        squads, cards = _squads_of(rnd), round_cards(rnd)
        # Squad names link only for those who may open the squad's page.
        roles = roles_of(request)
        # (A squad that has moved to another tribe since is no longer this tribe's to open.)
        openable = {
            s.slug
            for s in squads
            if request.user.is_staff or s.tribe_id in roles.tribe_roles or s.slug in roles.squads
        }
        # One squad at a time (?squad=<slug>): the card column, that squad and the tribe column.
        focus = request.GET.get("squad")
        all_squads = squads
        if focus is not None:
            squads = [s for s in squads if s.slug == focus]
            if not squads:
                raise Http404("No such squad in this round")
        ctx.update(openable=openable, focus=focus, picker=[s for s in all_squads if s.done])
        # Built only when the markup is not cached already.
        ctx["matrix"] = SimpleLazyObject(lambda: _round_matrix(rnd, squads, cards))
        if rnd.state == Round.State.CLOSED:
            # A closed round's results never change; the key holds everything else the matrix shows.
            ctx["matrix_key"] = fragment_key(
                "matrix",
                rnd.pk,
                compare,
                [(s.pk, s.name, s.slug, s.slug in openable) for s in squads],
                [(c.pk, c.name) for c in cards],
                ctx["systemic"],
            )
    return render(request, "surveys/tribe_dashboard.html", ctx)


def _light_word(light: str | None) -> str:
    """A light as a lower-case word in the reader's language ("green", "grön"), or nothing."""
    return str(LIGHTS[light][1]).lower() if light in LIGHTS else ""


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


@login_required
@require_GET
def tribe_export(request: HttpRequest, slug: str) -> HttpResponse:
    """The results of one round as CSV: aggregates only, with the minimum of responses applied."""
    tribe = get_tribe_for_viewer(request, slug)
    rounds, _open = tribe_rounds(tribe)
    rnd, _picked = selected_round(request, rounds, default=latest_closed(rounds))
    if rnd is None:
        raise Http404("No results yet")
    matrix = _round_matrix(rnd, _squads_of(rnd), round_cards(rnd))

    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{tribe.slug}-round-{rnd.pk}.csv"'
    writer = csv.writer(response)
    # Scores are 0 to 2 and changes are given as words, so no number needs a sign. The headers and
    # words are in the reader's language; numbers keep a decimal point, as spreadsheets import them.
    writer.writerow(
        [
            _("round"),
            _("squad"),
            _("card"),
            _("voters"),
            _("members"),
            _("green"),
            _("yellow"),
            _("red"),
            _("score"),
            _("light"),
            _("voted trend"),
            _("previous score"),
            _("measured change"),
            _("split"),
            _("note"),
            _("open-link ballots"),
            _("agreed colour"),
            _("agreed trend"),
        ]
    )
    hidden = _("fewer than %(k)s answered") % {"k": settings.HEALTHCHECK_MIN_RESPONSES}
    trend_words = {key: str(words) for key, (_symbol, words) in ARROWS.items()} | {None: ""}
    trend_of = {"improving": "up", "stable": "flat", "worse": "down"}
    directions = {
        "up": pgettext("change", "up"),
        "down": pgettext("change", "down"),
        "same": pgettext("change", "same"),
    }
    yes, no = _("yes"), _("no")
    for row in matrix.rows:
        for squad, cell in zip(matrix.squads, row.cells, strict=True):
            if cell is None or not cell.visible:
                members = cell.members if cell else ""
                values = [members, "", "", "", "", "", "", "", "", "", hidden]
            else:
                previous = cell.previous_score if cell.change is not None else None
                values = [
                    cell.members,
                    cell.greens,
                    cell.yellows,
                    cell.reds,
                    _number(cell.score),
                    _light_word(cell.light),
                    trend_words[cell.arrow],
                    _number(previous),
                    directions.get(cell.change_direction, ""),
                    yes if cell.split else no,
                    cell.divergence,
                ]
            shown = cell is not None and cell.visible
            voters = cell.voters if shown else ""
            through_link = cell.open_link_ballots if shown else ""
            agreed = (
                [_light_word(cell.agreed_colour), trend_words[trend_of.get(cell.agreed_trend)]]
                if shown
                else ["", ""]
            )
            writer.writerow(
                neutralise(v)
                for v in [rnd.title, squad.name, row.card.name, voters, *values, through_link, *agreed]
            )
        t = row.tribe
        if t is None:  # the round is still open: no tribe column yet
            continue
        writer.writerow(
            neutralise(v)
            for v in [
                rnd.title,
                _("Tribe (%(reached)s of %(total)s squads with enough votes)")
                % {"reached": t.reached, "total": t.total},
                row.card.name,
                "",
                "",
                t.greens,
                t.yellows,
                t.reds,
                _number(t.score),
                _light_word(t.light),
                "",
                "",
                _("%(direction)s (same %(compared)s squads)")
                % {"direction": directions[t.change_direction], "compared": t.compared}
                if t.change_direction
                else "",
                "",
                _("possible systemic issue") if row.systemic else "",
                "",
                "",
                "",
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
        too_few = _("not enough votes")
        return f"{_light_word(self.before.light) or too_few} → {_light_word(self.now.light) or too_few}"


@dataclass
class CardResult:
    """One card of the squad page: its frozen result, its comments, and its history, drawn only when needed."""

    result: Result
    comments: list[str]
    history_points: Callable[[], list[charts.Point]]
    cache_key: str
    actions: list[ActionView] = field(default_factory=list)  # its open action items

    @cached_property
    def history(self) -> charts.Sparkline:
        return charts.sparkline(
            self.history_points(),
            green_at=settings.HEALTHCHECK_LIGHT_GREEN_AT,
            red_below=settings.HEALTHCHECK_LIGHT_RED_BELOW,
        )


def _squad_results(squad: Squad, rnd: Round, rounds: list[Round], can_edit: bool) -> list[CardResult]:
    """Per card of the round: its result, comments (sorted by text) and a history chart.

    A finished squad's results never change, so each card's markup (all but its comments) is
    cached under a key holding everything else it shows: names, titles, links.
    """
    history = list(reversed(rounds[rounds.index(rnd) : rounds.index(rnd) + HISTORY_ROUNDS]))
    results = list(
        Result.objects.filter(squad=squad, round__in=[h.pk for h in history]).select_related("card")
    )
    current = sorted(
        (r for r in results if r.round_id == rnd.pk), key=lambda r: (r.card.position, r.card.name)
    )
    earlier = {(r.round_id, r.card_id): r for r in results}
    comments: dict[int, list[str]] = {}
    for card_id, text in (
        Answer.objects.filter(
            ballot__round=rnd,
            ballot__squad=squad,
            card_id__in=[r.card_id for r in current if r.comments_visible],
        )
        .exclude(comment="")
        .order_by("card_id", "comment")
        .values_list("card_id", "comment")
    ):
        comments.setdefault(card_id, []).append(text)

    def points_for(card_id: int) -> Callable[[], list[charts.Point]]:
        return lambda: [point_for(h.title, earlier.get((h.pk, card_id))) for h in history]

    shown = (squad.slug, can_edit, [(h.pk, h.title) for h in history])
    return [
        CardResult(
            result=r,
            comments=comments.get(r.card_id, []),
            history_points=points_for(r.card_id),
            cache_key=fragment_key("squad-card", r.pk, r.card.name, shown),
        )
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
    rounds = squad_rounds(squad)
    rnd, previous = selected_round(request, rounds)
    can_edit = access.is_member or access.is_coach
    results = _squad_results(squad, rnd, rounds, can_edit) if rnd else []
    actions = _action_views(squad, rounds)
    for item in results:  # each card shows its open action items, where they were added
        item.actions = [a for a in actions if a.action.card_id == item.result.card_id and not a.action.done]
    ctx = {
        "squad": squad,
        "tribe": squad.tribe,
        "rounds": rounds,
        "round": rnd,
        "previous": previous,
        "access": access,
        "can_edit": can_edit,
        "min_responses": settings.HEALTHCHECK_MIN_RESPONSES,
        "min_comment_responses": settings.HEALTHCHECK_MIN_COMMENT_RESPONSES,
        "results": results,
        "participation": results[0].result if results else None,
        "actions": actions,
    }
    return render(request, "surveys/squad.html", ctx)
