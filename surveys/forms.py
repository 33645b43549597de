from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .models import (
    COMMENT_MAX_LENGTH,
    ActionItem,
    Answer,
    Cadence,
    Channel,
    Colour,
    HealthCard,
    InviteLink,
    Round,
    Squad,
    SquadRole,
    Trend,
    Tribe,
    Workshop,
    local_time,
)
from .notify import webhook_problem
from .services import AnswerInput

CARD_FIELD = re.compile(r"^card-(?P<card_id>[^-]+)-(?P<part>[a-z]+)$")

COLOUR_HINTS = {
    Colour.GREEN: _("Happy with this"),
    Colour.YELLOW: _("Some problems"),
    Colour.RED: _("Needs support"),
}


@dataclass
class CardFields:
    """The three fields of one card on the ballot, kept together for the template."""

    card: HealthCard
    colour: forms.BoundField
    trend: forms.BoundField
    comment: forms.BoundField

    @property
    def answered(self) -> bool:
        return bool(self.colour.value())

    @property
    def has_errors(self) -> bool:
        return bool(self.colour.errors or self.trend.errors or self.comment.errors)


class BallotForm(forms.Form):
    """All cards of a round on one form: a colour, a trend and a comment for each."""

    def __init__(self, cards: Iterable[HealthCard], *args, answers: Iterable[Answer] = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.cards = list(cards)
        for answer in answers:
            prefix = f"card-{answer.card_id}"
            self.initial[f"{prefix}-colour"] = answer.colour
            self.initial[f"{prefix}-trend"] = answer.trend
            self.initial[f"{prefix}-comment"] = answer.comment
        for card in self.cards:
            prefix = f"card-{card.pk}"
            self.fields[f"{prefix}-colour"] = forms.ChoiceField(
                label=_("How is it?"),
                choices=Colour.choices,
                required=False,
                widget=forms.RadioSelect,
                error_messages={"invalid_choice": _("Choose green, yellow or red.")},
            )
            self.fields[f"{prefix}-trend"] = forms.ChoiceField(
                label=_("Where is it heading?"),
                choices=Trend.choices,
                required=False,
                widget=forms.RadioSelect,
                error_messages={"invalid_choice": _("Choose improving, stable or getting worse.")},
            )
            self.fields[f"{prefix}-comment"] = forms.CharField(
                label=_("Comment (optional, anonymous)"),
                required=False,
                max_length=COMMENT_MAX_LENGTH,
                widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
                error_messages={
                    # {limit} is filled in here, with the language's digit grouping; Django fills in the rest.
                    "max_length": gettext(
                        "Keep the comment to {limit} characters (it has %(show_value)d)."
                    ).replace("{limit}", number_format(COMMENT_MAX_LENGTH, force_grouping=True)),
                    "null_characters_not_allowed": _(
                        "The comment holds a hidden NUL character; remove it and save again."
                    ),
                },
            )

    def card_fields(self) -> list[CardFields]:
        return [
            CardFields(
                card=card,
                colour=self[f"card-{card.pk}-colour"],
                trend=self[f"card-{card.pk}-trend"],
                comment=self[f"card-{card.pk}-comment"],
            )
            for card in self.cards
        ]

    def answered_count(self) -> int:
        return sum(1 for group in self.card_fields() if group.answered)

    def clean(self) -> dict:
        cleaned = super().clean()
        known = {str(card.pk) for card in self.cards}
        for key in self.data:
            match = CARD_FIELD.match(key)
            if match and match["card_id"] not in known:
                raise forms.ValidationError(
                    _(
                        "This ballot names a card that is not part of this health check. "
                        "Reload the page and try again; nothing was saved."
                    ),
                    code="unknown_card",
                )
            if match and hasattr(self.data, "getlist") and len(self.data.getlist(key)) > 1:
                raise forms.ValidationError(
                    _(
                        "This ballot gives one card two answers. Reload the page and try again; nothing was saved."
                    ),
                    code="repeated",
                )
        for card in self.cards:
            prefix = f"card-{card.pk}"
            has_colour = bool(cleaned.get(f"{prefix}-colour"))
            extras = cleaned.get(f"{prefix}-trend") or cleaned.get(f"{prefix}-comment", "").strip()
            if extras and not has_colour and f"{prefix}-colour" not in self.errors:
                self.add_error(f"{prefix}-colour", _("Choose a colour to save your trend and comment."))
        if not self.errors and not any(cleaned.get(f"card-{c.pk}-colour") for c in self.cards):
            raise forms.ValidationError(
                _("Choose a colour for at least one card before saving."), code="empty"
            )
        return cleaned

    def answer_inputs(self) -> list[AnswerInput]:
        data = self.cleaned_data
        return [
            AnswerInput(
                card_id=card.pk,
                colour=data[f"card-{card.pk}-colour"],
                trend=data.get(f"card-{card.pk}-trend") or "",
                comment=data.get(f"card-{card.pk}-comment", "").strip(),
            )
            for card in self.cards
            if data.get(f"card-{card.pk}-colour")
        ]

    def missing(self) -> tuple[list[HealthCard], list[HealthCard]]:
        """Cards with no colour yet, and cards with a colour but no trend."""
        data = self.cleaned_data
        no_colour = [c for c in self.cards if not data.get(f"card-{c.pk}-colour")]
        no_trend = [
            c for c in self.cards if data.get(f"card-{c.pk}-colour") and not data.get(f"card-{c.pk}-trend")
        ]
        return no_colour, no_trend


class ActionItemForm(forms.ModelForm):
    """Add or edit an action item of a squad: the card, a title, an owner and a due date."""

    class Meta:
        model = ActionItem
        fields = ["card", "title", "owner", "due_date"]
        labels = {"card": _("Health card"), "title": _("What will we do?"), "owner": _("Owner (optional)")}
        widgets = {"due_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

    def __init__(self, *args, cards, people, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.card_id is not None:  # an action keeps its card, even one retired since
            cards = (cards | HealthCard.objects.filter(pk=self.instance.card_id)).distinct()
        self.fields["card"].queryset = cards
        self.fields["card"].error_messages["invalid_choice"] = _("Choose one of this squad's health cards.")
        self.fields["owner"].queryset = people
        self.fields["owner"].error_messages["invalid_choice"] = _(
            "Choose someone from this squad, or nobody."
        )
        self.fields["owner"].label_from_instance = lambda user: user.get_full_name() or user.get_username()
        self.fields["title"].error_messages["required"] = _("Give the action a title.")
        self.fields["due_date"].label = _("Due date (optional)")

    def clean_due_date(self) -> date | None:
        due = self.cleaned_data.get("due_date")
        creating = self.instance.pk is None
        if due and (creating or due != self.instance.due_date) and due < timezone.localdate():
            raise forms.ValidationError(_("The due date cannot be in the past."))
        return due


DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class RoundForm(forms.Form):
    """Create or change a round: its title, when it opens and closes, and the cards it asks."""

    title = forms.CharField(
        label=_("Title"),
        max_length=80,
        error_messages={"required": _("Give the round a title, such as 2026 Q4.")},
    )
    opens_at = forms.DateTimeField(label=_("Opens"), widget=DATETIME_WIDGET)
    closes_at = forms.DateTimeField(label=_("Closes"), widget=DATETIME_WIDGET)
    cards = forms.ModelMultipleChoiceField(
        label=_("Cards"),
        queryset=HealthCard.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": _("Choose at least one card."),
            "invalid_choice": _(
                "A chosen card is not in the deck any more; reload the page and choose again."
            ),
        },
    )

    def __init__(self, *args, tribe: Tribe, round: Round | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.tribe, self.round = tribe, round
        if round is not None and round.state == Round.State.OPEN:
            # An open round keeps its opening time; its close can only move later (Round.set_times).
            self.fields["opens_at"].disabled = True
            self.fields["opens_at"].help_text = _("The round is open, so its opening time stays.")
            self.fields["closes_at"].help_text = _("Only a later closing time is possible now.")
        chosen = Q(round_cards__round=round) if round is not None else Q(pk__in=[])
        self.fields["cards"].queryset = (
            HealthCard.objects.filter(Q(tribe=tribe, retired=False) | chosen)
            .distinct()
            .order_by("position", "name")
        )

    def clean(self) -> dict:
        cleaned = super().clean()
        if self.fields["opens_at"].disabled:  # as stored, not as the widget rounds it to the minute
            cleaned["opens_at"] = self.round.opens_at
        opens_at, closes_at, title = cleaned.get("opens_at"), cleaned.get("closes_at"), cleaned.get("title")
        if opens_at and closes_at:
            if closes_at <= opens_at:
                self.add_error("closes_at", _("The closing time must be after the opening time."))
            else:
                clash = (
                    Round.objects.overlapping(tribe_id=self.tribe.pk, opens_at=opens_at, closes_at=closes_at)
                    .exclude(pk=self.round.pk if self.round else None)
                    .first()
                )
                if clash is not None:
                    self.add_error(
                        None,
                        _(
                            "%(tribe)s already has %(round)s from %(opens)s to %(closes)s; "
                            "rounds of a tribe must not overlap."
                        )
                        % {
                            "tribe": self.tribe.name,
                            "round": clash.title,
                            "opens": local_time(clash.opens_at),
                            "closes": local_time(clash.closes_at),
                        },
                    )
        if (
            title
            and Round.objects.filter(tribe=self.tribe, title=title)
            .exclude(pk=getattr(self.round, "pk", None))
            .exists()
        ):
            self.add_error(
                "title",
                _("%(tribe)s already has a round called %(title)s.")
                % {"tribe": self.tribe.name, "title": title},
            )
        return cleaned


class ExtendForm(forms.Form):
    closes_at = forms.DateTimeField(label=_("New closing time"), widget=DATETIME_WIDGET)


class CadenceForm(forms.ModelForm):
    """A tribe's rhythm: how often its rounds open, on which weekday and time, for how long, with which cards."""

    class Meta:
        model = Cadence
        fields = ["every", "weeks", "anchor", "weekday", "at", "open_days", "cards"]
        labels = {"every": _("Every"), "weekday": _("Weekday"), "cards": _("Cards")}
        widgets = {
            "every": forms.RadioSelect,
            "at": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "anchor": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "cards": forms.CheckboxSelectMultiple,
        }
        help_texts = {
            "weeks": _("For every few weeks: how many weeks from one opening to the next."),
            "anchor": _(
                "For every few weeks: the first opening day (moved to the weekday); empty means the next one."
            ),
            "weekday": _(
                "Monthly and quarterly rounds open on the first such weekday of the month or quarter."
            ),
            "at": _("Local time of the installation; it stays the same across daylight-saving changes."),
            "cards": _("None chosen: the tribe's active deck at the time each round is made."),
        }

    def __init__(self, *args, tribe: Tribe, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.tribe = tribe
        self.fields["cards"].queryset = HealthCard.objects.filter(tribe=tribe, retired=False).order_by(
            "position", "name"
        )
        self.fields["weeks"].min_value = 1
        self.fields["weeks"].widget.attrs.update(min=1, max=26)
        self.fields["open_days"].widget.attrs.update(min=1, max=84)

    def clean(self) -> dict:
        cleaned = super().clean()
        every, weeks, days = cleaned.get("every"), cleaned.get("weeks"), cleaned.get("open_days")
        if days is not None and days < 1:
            self.add_error("open_days", _("A round stays open at least one day."))
        elif weeks is not None and not 1 <= weeks <= 26:
            self.add_error("weeks", _("Choose between 1 and 26 weeks."))
        elif every and days is not None and every != Cadence.Every.OFF:
            longest = Cadence(every=every, weeks=weeks or 1).longest_open()
            if not 1 <= days <= longest:
                self.add_error(
                    "open_days",
                    _(
                        "With this rhythm a round can stay open 1 to %(longest)s days, so that it closes "
                        "before the next one opens."
                    )
                    % {"longest": longest},
                )
        return cleaned


class ShiftForm(forms.Form):
    opens_at = forms.DateTimeField(label=_("New opening time"), widget=DATETIME_WIDGET)

    def clean_opens_at(self):
        opens_at = self.cleaned_data["opens_at"]
        if opens_at <= timezone.now():
            raise forms.ValidationError(_("Choose an opening time in the future."))
        return opens_at


class ChannelForm(forms.Form):
    kind = forms.ChoiceField(label=_("Service"), choices=Channel.Kind.choices)
    url = forms.URLField(
        label=_("Incoming webhook URL"),
        max_length=500,
        assume_scheme="https",
        help_text=_(
            "Slack: an app's incoming webhook. Teams: a workflow's “post to a channel when a webhook "
            "request is received”. It is stored encrypted and never shown again in full."
        ),
        error_messages={"invalid": _("That is not a URL: copy the webhook URL again.")},
    )

    def __init__(self, *args, tribe: Tribe, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.tribe = tribe

    def clean(self) -> dict:
        cleaned = super().clean()
        kind, url = cleaned.get("kind"), cleaned.get("url")
        if url:
            problem = webhook_problem(url)
            if problem:
                self.add_error("url", problem)
        if kind and Channel.objects.filter(tribe=self.tribe, kind=kind).exists():
            self.add_error(
                "kind",
                _("%(tribe)s has a %(kind)s channel already; remove it first.")
                % {"tribe": self.tribe.name, "kind": Channel.Kind(kind).label},
            )
        return cleaned


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What the key is for, so it can be told apart later: “Power BI, tribe report”."),
        error_messages={"required": _("Give the key a name.")},
    )
    tribe = forms.ModelChoiceField(
        label=_("Reads the results of"),
        queryset=Tribe.objects.none(),
        error_messages={
            "required": _("Choose the tribe the key reads."),
            "invalid_choice": _("Choose one of the tribes."),
        },
    )
    read_comments = forms.BooleanField(
        label=_("Include comments"),
        required=False,
        help_text=_(
            "Comments of squads where enough people answered, as on the squad pages. Leave it off "
            "unless the report needs them."
        ),
    )

    def __init__(self, *args, tribes, everything: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tribe"].queryset = tribes
        if everything:  # staff may make a key that reads every tribe
            self.fields["tribe"].required = False
            self.fields["tribe"].empty_label = _("Every tribe")
        else:  # a lead chooses among the tribes they lead, the first chosen already
            self.fields["tribe"].empty_label = None

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Give the key a name."))
        return name


class PersonAddForm(forms.Form):
    email = forms.EmailField(
        label=_("Email"),
        max_length=254,
        error_messages={
            "required": _("Give the person's email address."),
            "invalid": _("That is not an email address."),
        },
    )
    full_name = forms.CharField(
        label=_("Full name"),
        max_length=300,
        required=False,
        help_text=_("For a new account; leave it empty otherwise."),
    )
    squad = forms.ModelChoiceField(
        label=_("Squad"),
        queryset=Squad.objects.none(),
        empty_label=None,
        error_messages={"invalid_choice": _("Choose one of the squads.")},
    )
    role = forms.ChoiceField(label=_("As"), choices=SquadRole.Role.choices, initial=SquadRole.Role.MEMBER)

    def __init__(self, *args, tribe: Tribe, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["squad"].queryset = Squad.objects.filter(tribe=tribe)


class SquadNameForm(forms.Form):
    name = forms.CharField(
        label=_("Squad name"), max_length=100, error_messages={"required": _("Give the squad a name.")}
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Give the squad a name."))
        return name


class CardForm(forms.ModelForm):
    class Meta:
        model = HealthCard
        fields = ["name", "awesome", "crappy"]
        labels = {"name": _("Name"), "awesome": _("Example of awesome"), "crappy": _("Example of crappy")}
        widgets = {"awesome": forms.Textarea(attrs={"rows": 2}), "crappy": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, tribe: Tribe, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.tribe = tribe
        self.fields["name"].error_messages["required"] = _("Give the card a name.")
        self.fields["awesome"].error_messages["required"] = _("Describe what awesome looks like.")
        self.fields["crappy"].error_messages["required"] = _("Describe what crappy looks like.")

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if (
            HealthCard.objects.filter(tribe=self.tribe, name__iexact=name)
            .exclude(pk=self.instance.pk)
            .exists()
        ):
            raise forms.ValidationError(_("The deck already has a card called %(name)s.") % {"name": name})
        return name


class InviteForm(forms.Form):
    squad = forms.ModelChoiceField(label=_("Squad"), queryset=Squad.objects.none(), empty_label=None)
    kind = forms.ChoiceField(
        label=_("Kind of link"),
        choices=InviteLink.Kind.choices,
        initial=InviteLink.Kind.SIGN_IN,
        widget=forms.RadioSelect,
        help_text=_(
            "A sign-in link leads people to sign in and to their own ballot. An open link is for "
            "squads without accounts: anyone holding it can vote, once per browser, so someone with the link "
            "could vote more than once, up to the squad's number of members. Results say how many ballots came "
            "through an open link."
        ),
    )

    def __init__(self, *args, tribe: Tribe, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["squad"].queryset = Squad.objects.filter(tribe=tribe)


class WorkshopForm(forms.Form):
    """How a squad's workshop runs: the flow, the kind of link people join with, the card timer."""

    flow = forms.ChoiceField(
        label=_("How it runs"), choices=Workshop.Flow.choices, initial=Workshop.Flow.LIVE
    )
    kind = forms.ChoiceField(
        label=_("People join with"),
        choices=InviteLink.Kind.choices,
        initial=InviteLink.Kind.SIGN_IN,
        help_text=_(
            "With an open link, someone holding it could vote more than once (up to the squad's "
            "number of members); results say how many ballots came through it."
        ),
    )
    minutes = forms.IntegerField(label=_("Minutes per card"), min_value=1, max_value=60, initial=5)

    def clean(self) -> dict:
        cleaned = super().clean()
        if "minutes" in cleaned:
            cleaned["card_seconds"] = cleaned.pop("minutes") * 60
        return cleaned


class AgreedCardForm(forms.Form):
    """What the squad agreed for the current card; pre-filled with the majority colour and median trend."""

    colour = forms.ChoiceField(label=_("Agreed colour"), choices=Colour.choices, widget=forms.RadioSelect)
    trend = forms.ChoiceField(
        label=_("Agreed trend"),
        choices=[("", _("Not agreed")), *Trend.choices],
        required=False,
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("Note (optional)"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class WorkshopActionForm(forms.Form):
    title = forms.CharField(label=_("What will we do?"), max_length=200)
    owner = forms.ModelChoiceField(label=_("Owner (optional)"), queryset=None, required=False)
    due_date = forms.DateField(
        label=_("Due date (optional)"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, squad: Squad, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        from django.contrib.auth import get_user_model

        self.fields["owner"].queryset = (
            get_user_model().objects.filter(squad_roles__squad=squad).distinct().order_by("username")
        )
        self.fields["owner"].label_from_instance = lambda user: user.get_full_name() or user.get_username()

    def clean_due_date(self) -> date | None:
        due = self.cleaned_data.get("due_date")
        if due and due < timezone.localdate():
            raise forms.ValidationError(_("The due date cannot be in the past."))
        return due
