"""What the API answers: plain fields, times in UTC, nothing that names a person."""

from __future__ import annotations

from datetime import UTC

from rest_framework import serializers

from ..models import Colour, HealthCard, Light, Round, Squad, Trend, Tribe


class UtcDateTimeField(serializers.DateTimeField):
    """ISO 8601 in UTC ("2027-01-04T08:00:00Z"), whatever the site's time zone."""

    def __init__(self, **kwargs):
        super().__init__(default_timezone=UTC, **kwargs)


class TribeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tribe
        fields = ["id", "slug", "name"]


class SquadSerializer(serializers.ModelSerializer):
    tribe = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Squad
        fields = ["id", "slug", "name", "tribe", "position"]


class CardSerializer(serializers.ModelSerializer):
    tribe = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = HealthCard
        fields = ["id", "name", "awesome", "crappy", "tribe", "position", "retired"]


class RoundSerializer(serializers.ModelSerializer):
    tribe = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    opens_at = UtcDateTimeField(read_only=True)
    closes_at = UtcDateTimeField(read_only=True)
    closed_at = UtcDateTimeField(
        read_only=True, allow_null=True, help_text="When the round was closed and its results frozen."
    )
    cards = serializers.SerializerMethodField(help_text="The ids of the cards the round asks, in order.")

    class Meta:
        model = Round
        fields = ["id", "tribe", "title", "state", "opens_at", "closes_at", "closed_at", "cards"]

    def get_cards(self, rnd: Round) -> list[int]:
        return [rc.card_id for rc in rnd.round_cards.all()]


class ResultRowSerializer(serializers.Serializer):
    """One closed round x squad x card. Below the minimum of answers its counts and colours are null."""

    round = serializers.IntegerField()
    round_title = serializers.CharField()
    round_closed_at = UtcDateTimeField(help_text="When the round was closed and its results frozen.")
    tribe = serializers.CharField(help_text="The tribe's slug.")
    squad = serializers.CharField(help_text="The squad's slug.")
    squad_name = serializers.CharField()
    card = serializers.IntegerField()
    card_name = serializers.CharField()
    hidden = serializers.BooleanField(
        help_text="True when fewer people answered than the minimum: counts and colours are then null."
    )
    members = serializers.IntegerField(help_text="Members of the squad when its part of the round closed.")
    ballots = serializers.IntegerField(
        allow_null=True, help_text="Ballots of the squad; null below the minimum."
    )
    participation = serializers.FloatField(allow_null=True, help_text="Ballots / members, 0 to 1.")
    voters = serializers.IntegerField(allow_null=True, help_text="People who answered this card.")
    green = serializers.IntegerField(allow_null=True)
    yellow = serializers.IntegerField(allow_null=True)
    red = serializers.IntegerField(allow_null=True)
    score = serializers.FloatField(allow_null=True, help_text="Mean of green 2, yellow 1, red 0.")
    light = serializers.ChoiceField(allow_null=True, choices=Light.choices)
    voted_trend = serializers.ChoiceField(allow_null=True, choices=Trend.choices)
    agreed_colour = serializers.ChoiceField(
        allow_null=True, choices=Colour.choices, help_text="What the squad agreed in its workshop."
    )
    agreed_trend = serializers.ChoiceField(allow_null=True, choices=Trend.choices)
    previous_score = serializers.FloatField(
        allow_null=True, help_text="The squad's score on this card in the tribe's previous closed round."
    )
    measured_change = serializers.FloatField(allow_null=True, help_text="score - previous_score.")
    change = serializers.ChoiceField(
        allow_null=True, choices=[("up", "up"), ("same", "same"), ("down", "down")]
    )
    split = serializers.BooleanField(allow_null=True, help_text="At least one green and one red vote.")
    divergence = serializers.CharField(
        allow_blank=True,
        help_text='Where the voted trend and the change disagree ("says improving, scores fell").',
    )
    open_link_ballots = serializers.IntegerField(
        allow_null=True, help_text="Ballots that came through an open link."
    )
    comments = serializers.ListField(
        allow_null=True,
        child=serializers.CharField(),
        help_text="Comments, sorted by text: only for keys that may read them, and only at or above "
        "the comment minimum; otherwise null.",
    )
