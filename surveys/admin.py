"""Django admin for staff: the organisation, its decks and rounds. Ballots and answers never appear here."""

from __future__ import annotations

from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest

from .audit import audit
from .models import AuditEvent, HealthCard, Round, RoundCard, Squad, SquadRole, Tribe, TribeRole
from .services import deck_copy_default


def touch_tribes_of(*objects) -> None:
    """Changes made in the admin outdate the cached pages of the tribes they belong to."""
    tribe_ids = {getattr(obj, "tribe_id", None) for obj in objects} - {None}
    squad_ids = {getattr(obj, "squad_id", None) for obj in objects} - {None}
    if squad_ids:
        tribe_ids |= set(Squad.objects.filter(pk__in=squad_ids).values_list("tribe_id", flat=True))
    for tribe_id in tribe_ids:
        Tribe.touch(tribe_id)


class AuditedAdmin(admin.ModelAdmin):
    """Records every change made through this admin screen in the audit log."""

    audit_action = AuditEvent.Action.ROLE_CHANGED

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        audit(self.audit_action, obj, request=request, change="changed" if change else "added", via="admin")
        touch_tribes_of(obj)

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        touch_tribes_of(form.instance)

    def delete_model(self, request: HttpRequest, obj) -> None:
        audit(self.audit_action, obj, request=request, change="deleted", via="admin")
        super().delete_model(request, obj)
        touch_tribes_of(obj)

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        objects = list(queryset)
        for obj in objects:
            audit(self.audit_action, obj, request=request, change="deleted", via="admin")
        super().delete_queryset(request, queryset)
        touch_tribes_of(*objects)


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
            Tribe.touch(obj.pk)


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


class RoundCardInline(admin.TabularInline):
    model = RoundCard
    fields = ["card", "position"]
    autocomplete_fields = ["card"]
    extra = 0


@admin.register(Round)
class RoundAdmin(AuditedAdmin):
    audit_action = AuditEvent.Action.ROUND_CHANGED
    list_display = ["title", "tribe", "state", "opens_at", "closes_at"]
    list_filter = ["state", "tribe"]
    search_fields = ["title", "tribe__name"]
    date_hierarchy = "opens_at"
    list_select_related = ["tribe"]
    inlines = [RoundCardInline]

    def has_delete_permission(self, request: HttpRequest, obj: Round | None = None) -> bool:
        if obj is not None and obj.ballots.exists():
            return False
        return super().has_delete_permission(request, obj)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit log, read only: who did what and when (never what anyone voted)."""

    list_display = ["at", "actor_name", "action", "target", "ip"]
    list_filter = ["action", "at"]
    search_fields = ["actor_name", "target"]
    date_hierarchy = "at"
    readonly_fields = ["at", "actor", "actor_name", "action", "target", "detail", "ip"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
