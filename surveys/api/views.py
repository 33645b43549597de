"""The endpoints under /api/v1/: read-only, scoped to the key's tribe, paginated, filtered, as JSON or CSV."""

from __future__ import annotations

import functools
import hashlib
import json
from datetime import UTC, datetime

import django_filters
from django import forms
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Max, QuerySet
from django.utils import translation
from django.utils.cache import get_conditional_response
from django.utils.http import http_date, quote_etag
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from drf_spectacular.views import SpectacularAPIView
from rest_framework import mixins, viewsets
from rest_framework.exceptions import NotAuthenticated
from rest_framework.response import Response

from ..models import TIMED_STATES, Answer, HealthCard, Result, Round, Squad, Tribe
from ..services import rounds_advance
from .auth import HasApiKey
from .serializers import (
    CardSerializer,
    ResultRowSerializer,
    RoundSerializer,
    SquadSerializer,
    TribeSerializer,
)

TREND_OF_ARROW = {"up": "improving", "flat": "stable", "down": "worse"}


FORMAT = OpenApiParameter(
    "format", OpenApiTypes.STR, enum=["json", "csv"], description="`csv` for the same rows as CSV."
)


class ReportingViewSet(viewsets.GenericViewSet):
    """Answers carry an ETag of their content (and 304 when it matches), and never a shared cache."""

    last_modified: datetime | None = None

    advances_rounds = False  # as the pages do: rounds whose time has come open or close before a read

    def initial(self, request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        if self.advances_rounds:
            rounds_advance(tribe=request.auth.tribe)

    def scope(self, queryset: QuerySet, tribe_field: str) -> QuerySet:
        """Only the key's tribe, unless the key is for every tribe."""
        if getattr(self, "swagger_fake_view", False):  # the schema is drawn without a request
            return queryset
        tribe = self.request.auth.tribe_id
        return queryset if tribe is None else queryset.filter(**{tribe_field: tribe})

    def permission_denied(self, request, message=None, code=None):
        if request.auth is None:
            raise NotAuthenticated(HasApiKey.message)
        super().permission_denied(request, message, code)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if request.method not in ("GET", "HEAD") or response.status_code != 200:
            return response
        response.render()
        digest = hashlib.sha256(response["Content-Type"].encode() + b"\n" + response.content).hexdigest()
        response["ETag"] = quote_etag(digest[:32])
        response["Cache-Control"] = "private, no-cache"
        response["Vary"] = "Authorization, Accept"
        stamp = None
        if self.last_modified is not None:
            stamp = int(self.last_modified.timestamp())
            response["Last-Modified"] = http_date(stamp)
        return get_conditional_response(
            request, etag=response["ETag"], last_modified=stamp, response=response
        )


class ReadOnlyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ReportingViewSet):
    lookup_value_regex = "[0-9]+"


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.Filter):
    """An id: a whole number within the database's range, or the request is refused with a message."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, min_value=1, max_value=2**63 - 1, **kwargs)


class UtcDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 time, turned into UTC here, so the database never sees an odd offset."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError("Give a time between the years 1 and 9999.", code="invalid") from None


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class TribeFilter(django_filters.FilterSet):
    tribe = django_filters.CharFilter(field_name="tribe__slug", help_text="A tribe's slug.")


@extend_schema_view(list=extend_schema(parameters=[FORMAT]), retrieve=extend_schema(parameters=[FORMAT]))
class TribeViewSet(ReadOnlyViewSet):
    serializer_class = TribeSerializer

    def get_queryset(self) -> QuerySet:
        return self.scope(Tribe.objects.order_by("name", "pk"), "pk")


class SquadFilter(TribeFilter):
    class Meta:
        model = Squad
        fields = ["tribe"]


@extend_schema_view(list=extend_schema(parameters=[FORMAT]), retrieve=extend_schema(parameters=[FORMAT]))
class SquadViewSet(ReadOnlyViewSet):
    serializer_class = SquadSerializer
    filterset_class = SquadFilter

    def get_queryset(self) -> QuerySet:
        squads = Squad.objects.select_related("tribe").order_by(
            "tribe__name", "tribe_id", "position", "name", "pk"
        )
        return self.scope(squads, "tribe")


class CardFilter(TribeFilter):
    class Meta:
        model = HealthCard
        fields = ["tribe", "retired"]


@extend_schema_view(list=extend_schema(parameters=[FORMAT]), retrieve=extend_schema(parameters=[FORMAT]))
class CardViewSet(ReadOnlyViewSet):
    serializer_class = CardSerializer
    filterset_class = CardFilter

    def get_queryset(self) -> QuerySet:
        # A tribe's own cards: the default deck is only a template that tribes copy.
        cards = HealthCard.objects.filter(tribe__isnull=False).select_related("tribe")
        return self.scope(cards.order_by("tribe__name", "tribe_id", "position", "name", "pk"), "tribe")


class RoundFilter(TribeFilter):
    state = django_filters.ChoiceFilter(choices=[(s, s) for s in TIMED_STATES])
    closed_after = UtcDateTimeFilter(
        method="closed_since", help_text="Closed rounds that closed after this time (ISO 8601)."
    )

    class Meta:
        model = Round
        fields = ["tribe", "state", "closed_after"]

    def closed_since(self, queryset: QuerySet, name: str, value: datetime) -> QuerySet:
        return queryset.filter(state=Round.State.CLOSED, closed_at__gt=value)


@extend_schema_view(list=extend_schema(parameters=[FORMAT]), retrieve=extend_schema(parameters=[FORMAT]))
class RoundViewSet(ReadOnlyViewSet):
    """Rounds with a time (scheduled, open or closed); drafts and cancelled rounds are the lead's own."""

    serializer_class = RoundSerializer
    filterset_class = RoundFilter
    advances_rounds = True

    def get_queryset(self) -> QuerySet:
        rounds = Round.objects.filter(state__in=TIMED_STATES).select_related("tribe")
        rounds = rounds.prefetch_related("round_cards").order_by("opens_at", "pk")
        return self.scope(rounds, "tribe")


class ResultFilter(django_filters.FilterSet):
    tribe = django_filters.CharFilter(field_name="round__tribe__slug", help_text="A tribe's slug.")
    squad = django_filters.CharFilter(field_name="squad__slug", help_text="A squad's slug.")
    card = IdFilter(field_name="card_id", help_text="A card's id.")
    round = IdFilter(field_name="round_id", help_text="A round's id.")
    closed_after = UtcDateTimeFilter(
        field_name="round__closed_at",
        lookup_expr="gt",
        help_text="Rounds that closed after this time (ISO 8601).",
    )

    class Meta:
        model = Result
        fields = ["tribe", "squad", "card", "round", "closed_after"]


def result_row(result: Result, comments: list[str] | None) -> dict:
    """The flat row of one result, with the minimums applied exactly as the dashboard applies them."""
    visible = result.visible
    shown_ballots = result.ballots >= settings.HEALTHCHECK_MIN_RESPONSES
    return {
        "round": result.round_id,
        "round_title": result.round.title,
        "round_closed_at": result.round.closed_at,
        "tribe": result.round.tribe.slug,
        "squad": result.squad.slug,
        "squad_name": result.squad.name,
        "card": result.card_id,
        "card_name": result.card.name,
        "hidden": not visible,
        "members": result.members,
        "ballots": result.ballots if shown_ballots else None,
        "participation": round(result.participation, 4)
        if shown_ballots and result.participation is not None
        else None,
        "voters": result.voters if visible else None,
        "green": result.greens if visible else None,
        "yellow": result.yellows if visible else None,
        "red": result.reds if visible else None,
        "score": round(result.score, 4) if visible and result.score is not None else None,
        "light": result.light,
        "voted_trend": TREND_OF_ARROW.get(result.arrow),
        "agreed_colour": (result.agreed_colour or None) if visible else None,
        "agreed_trend": (result.agreed_trend or None) if visible else None,
        "previous_score": round(result.previous_score, 4) if result.change is not None else None,
        "measured_change": round(result.change, 4) if result.change is not None else None,
        "change": result.change_direction,
        "split": result.split if visible else None,
        "divergence": result.divergence,
        "open_link_ballots": result.open_link_ballots if visible else None,
        "comments": comments,
    }


@extend_schema_view(list=extend_schema(parameters=[FORMAT]))
class ResultViewSet(ReportingViewSet):
    """The frozen results of closed rounds, one row per round x squad x card, oldest round first."""

    serializer_class = ResultRowSerializer
    filterset_class = ResultFilter
    advances_rounds = True

    def get_queryset(self) -> QuerySet:
        results = Result.objects.filter(round__state=Round.State.CLOSED).select_related(
            "round__tribe", "squad", "card"
        )
        return self.scope(
            results.order_by("round__closes_at", "round_id", "squad_id", "card_id"), "round__tribe"
        )

    def list(self, request, *args, **kwargs) -> Response:
        results = self.filter_queryset(self.get_queryset())
        self.last_modified = results.aggregate(at=Max("round__closed_at"))["at"]
        page = self.paginate_queryset(results)
        comments = self._comments(page) if request.auth.read_comments else {}
        rows = [
            result_row(
                r,
                comments.get((r.round_id, r.squad_id, r.card_id), [])
                if request.auth.read_comments and r.comments_visible
                else None,
            )
            for r in page
        ]
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)

    def _comments(self, page: list[Result]) -> dict[tuple[int, int, int], list[str]]:
        """The comments of the page's cells that reached the comment minimum, in one query, sorted by text."""
        wanted = {(r.round_id, r.squad_id, r.card_id) for r in page if r.comments_visible}
        found: dict[tuple[int, int, int], list[str]] = {}
        if not wanted:
            return found
        answers = (
            Answer.objects.filter(
                ballot__round_id__in={w[0] for w in wanted},
                ballot__squad_id__in={w[1] for w in wanted},
                card_id__in={w[2] for w in wanted},
            )
            .exclude(comment="")
            .order_by("comment")
            .values_list("ballot__round_id", "ballot__squad_id", "card_id", "comment")
        )
        for round_id, squad_id, card_id, text in answers:
            if (round_id, squad_id, card_id) in wanted:
                found.setdefault((round_id, squad_id, card_id), []).append(text)
        return found


@functools.cache
def _schema() -> dict:
    # In English whatever the first asker's language: the API, its fields and its choices are
    # documented in English for reporting tools, and this is drawn once per process.
    with translation.override("en"):  # lazy words become plain English strings here, once
        schema = SpectacularAPIView.generator_class().get_schema(request=None, public=True)
        return json.loads(json.dumps(schema, cls=DjangoJSONEncoder))


class SchemaView(SpectacularAPIView):
    """The OpenAPI schema, drawn once per process: it changes only with the code."""

    def _get_schema_response(self, request):
        return Response(
            data=_schema(),
            headers={"Content-Disposition": f'inline; filename="{self._get_filename(request, None)}"'},
        )
