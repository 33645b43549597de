"""Django admin for staff: the organisation, its decks and rounds. Ballots and answers never appear here."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .audit import audit
from .models import (
    ApiKey,
    AuditEvent,
    HealthCard,
    Notification,
    Round,
    RoundCard,
    RoundRejected,
    Squad,
    SquadRole,
    TickLog,
    Tribe,
    TribeRole,
)
from .services import deck_copy_default


class AuditedAdmin(admin.ModelAdmin):
    """Records every change made through this admin screen in the audit log."""

    audit_action = AuditEvent.Action.ROLE_CHANGED

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        audit(self.audit_action, obj, request=request, change="changed" if change else "added", via="admin")

    def delete_model(self, request: HttpRequest, obj) -> None:
        audit(self.audit_action, obj, request=request, change="deleted", via="admin")
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        objects = list(queryset)
        for obj in objects:
            audit(self.audit_action, obj, request=request, change="deleted", via="admin")
        super().delete_queryset(request, queryset)


class SquadInline(admin.TabularInline):
    model = Squad
    fields = ["name", "slug", "position"]
    prepopulated_fields = {"slug": ["name"]}
    extra = 0


@admin.register(Tribe)
class TribeAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [SquadInline]

    def save_model(self, request: HttpRequest, obj: Tribe, form, change: bool) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if not change:
                deck_copy_default(tribe=obj)


@admin.register(Squad)
class SquadAdmin(AuditedAdmin):
    audit_action = AuditEvent.Action.ORGANISATION_CHANGED
    list_display = ["name", "tribe", "position", "slug"]
    list_filter = ["tribe"]
    search_fields = ["name", "slug", "tribe__name"]
    prepopulated_fields = {"slug": ["name"]}
    list_select_related = ["tribe"]


@admin.register(SquadRole)
class SquadRoleAdmin(AuditedAdmin):
    list_display = ["user", "role", "squad", "tribe"]
    list_filter = ["role", "squad__tribe"]
    search_fields = ["user__username", "user__email", "squad__name"]
    autocomplete_fields = ["user", "squad"]
    list_select_related = ["user", "squad__tribe"]

    @admin.display(ordering="squad__tribe__name")
    def tribe(self, obj: SquadRole) -> Tribe:
        return obj.squad.tribe


@admin.register(TribeRole)
class TribeRoleAdmin(AuditedAdmin):
    list_display = ["user", "role", "tribe"]
    list_filter = ["role", "tribe"]
    search_fields = ["user__username", "user__email", "tribe__name"]
    autocomplete_fields = ["user", "tribe"]
    list_select_related = ["user", "tribe"]


@admin.register(HealthCard)
class HealthCardAdmin(AuditedAdmin):
    audit_action = AuditEvent.Action.DECK_CHANGED
    list_display = ["name", "tribe", "position", "retired"]
    list_filter = ["retired", "tribe"]
    search_fields = ["name", "awesome", "crappy"]
    list_select_related = ["tribe"]

    def has_delete_permission(self, request: HttpRequest, obj: HealthCard | None = None) -> bool:
        # A card with answers is retired instead, so that history keeps its meaning.
        if obj is not None and (obj.answers.exists() or obj.round_cards.exists()):
            return False
        return super().has_delete_permission(request, obj)


def _is_plan(round: Round | None) -> bool:
    return round is None or round.state in (Round.State.DRAFT, Round.State.SCHEDULED)


class RoundCardInline(admin.TabularInline):
    model = RoundCard
    fields = ["card", "position"]
    autocomplete_fields = ["card"]
    extra = 0

    # A round's cards change only while it is a plan; after that the results depend on them.
    def has_add_permission(self, request: HttpRequest, obj: Round | None = None) -> bool:
        return _is_plan(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Round | None = None) -> bool:
        return _is_plan(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Round | None = None) -> bool:
        return _is_plan(obj) and super().has_delete_permission(request, obj)


def _transition(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset, verb: str, event: str) -> None:
    """Run one transition of the round's state machine on each chosen round, reporting each refusal."""
    for rnd in queryset.select_related("tribe"):
        try:
            done = getattr(rnd, verb)()
        except RoundRejected as exc:
            modeladmin.message_user(request, f"{rnd.title}: {exc}", messages.ERROR)
            continue
        if done is not False:
            audit(event, rnd, request=request, tribe=rnd.tribe.name, via="admin")
        modeladmin.message_user(request, f"{rnd.title}: {rnd.get_state_display().lower()}.", messages.SUCCESS)


@admin.action(description=_("Schedule the chosen drafts"))
def schedule_rounds(modeladmin, request, queryset) -> None:
    _transition(modeladmin, request, queryset, "schedule", AuditEvent.Action.ROUND_SCHEDULED)


@admin.action(description=_("Open the chosen rounds now"))
def open_rounds(modeladmin, request, queryset) -> None:
    _transition(modeladmin, request, queryset, "open", AuditEvent.Action.ROUND_OPENED)


@admin.action(description=_("Close the chosen rounds now"))
def close_rounds(modeladmin, request, queryset) -> None:
    _transition(modeladmin, request, queryset, "close", AuditEvent.Action.ROUND_CLOSED)


@admin.action(description=_("Cancel the chosen rounds"))
def cancel_rounds(modeladmin, request, queryset) -> None:
    _transition(modeladmin, request, queryset, "cancel", AuditEvent.Action.ROUND_CANCELLED)


@admin.register(Round)
class RoundAdmin(AuditedAdmin):
    """Rounds: their state and, once planned, their times change only through the actions."""

    audit_action = AuditEvent.Action.ROUND_CHANGED
    list_display = ["title", "tribe", "state", "opens_at", "closes_at"]
    list_filter = ["state", "tribe"]
    search_fields = ["title", "tribe__name"]
    date_hierarchy = "opens_at"
    list_select_related = ["tribe"]
    inlines = [RoundCardInline]
    actions = [schedule_rounds, open_rounds, close_rounds, cancel_rounds]

    def get_readonly_fields(self, request: HttpRequest, obj: Round | None = None) -> list[str]:
        if obj is None:
            return ["state"]
        return ["tribe", "state", "opens_at", "closes_at"]

    def get_fields(self, request: HttpRequest, obj: Round | None = None) -> list[str]:
        return ["tribe", "title", "opens_at", "closes_at", "state"]

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # only a draft is deleted, one at a time
        return actions

    def has_delete_permission(self, request: HttpRequest, obj: Round | None = None) -> bool:
        if obj is not None and obj.state != Round.State.DRAFT:
            return False
        return super().has_delete_permission(request, obj)


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record kept by the application itself: staff read it, nobody adds, changes or deletes it."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """The audit log, read only: who did what and when (never what anyone voted)."""

    list_display = ["at", "actor_name", "action", "target", "ip"]
    list_filter = ["action", "at"]
    search_fields = ["actor_name", "target"]
    date_hierarchy = "at"
    readonly_fields = ["at", "actor", "actor_name", "action", "target", "detail", "ip"]


@admin.register(TickLog)
class TickLogAdmin(ReadOnlyAdmin):
    """What the scheduler did, read only."""

    list_display = ["at", "__str__"]
    date_hierarchy = "at"
    readonly_fields = ["at", "did"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    """What the chat channels were told, and whether it got through; read only."""

    list_display = ["created_at", "channel", "round", "event", "state", "attempts", "last_error"]
    list_filter = ["state", "event", "channel__kind"]
    readonly_fields = [
        "channel",
        "round",
        "event",
        "text",
        "link",
        "state",
        "attempts",
        "created_at",
        "next_attempt_at",
        "sent_at",
        "last_error",
    ]


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    """API keys, read only: they are made and revoked on /manage/api-keys/, where each is shown once."""

    list_display = ["name", "tribe", "prefix", "read_comments", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["tribe", "read_comments"]
    readonly_fields = [
        "name",
        "tribe",
        "prefix",
        "read_comments",
        "created_at",
        "created_by",
        "last_used_at",
        "revoked_at",
    ]
    exclude = ["digest"]
