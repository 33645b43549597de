from __future__ import annotations

from django.urls import path, register_converter

from .views import account, actions, coach, keys, manage, people, results, schedule, vote, workshop


class IdConverter:
    """A database id: at most 18 digits, so that a longer number is a 404, never a database error."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id")

app_name = "surveys"

urlpatterns = [
    path("", vote.home, name="home"),
    path("rounds/<id:round_id>/squads/<slug:squad_slug>/vote/", vote.vote, name="vote"),
    path("rounds/<id:round_id>/squads/<slug:squad_slug>/guest/", vote.guest_vote, name="guest-vote"),
    path("join/<str:token>/", vote.join, name="join"),
    path("guest/forget/", vote.guest_forget, name="guest-forget"),
    path("workshops/<id:workshop_id>/", workshop.workshop_facilitator, name="workshop"),
    path("workshops/<id:workshop_id>/screen/", workshop.workshop_screen, name="workshop-screen"),
    path("workshops/<id:workshop_id>/phone/", workshop.workshop_phone, name="workshop-phone"),
    path("workshops/<id:workshop_id>/control/", workshop.workshop_control, name="workshop-control"),
    path(
        "workshops/<id:workshop_id>/state/<str:token>/", workshop.workshop_state_view, name="workshop-state"
    ),
    path("tribes/<slug:slug>/", results.tribe_dashboard, name="tribe-dashboard"),
    path("tribes/<slug:slug>/export.csv", results.tribe_export, name="tribe-export"),
    path("tribes/<slug:slug>/trends/", coach.tribe_trends, name="tribe-trends"),
    path("tribes/<slug:slug>/comments/", coach.tribe_comments, name="tribe-comments"),
    path("squads/<slug:slug>/", results.squad_page, name="squad"),
    path("squads/<slug:slug>/trends/", coach.squad_trends, name="squad-trends"),
    path("squads/<slug:slug>/actions/new/", actions.action_new, name="action-new"),
    path("squads/<slug:slug>/actions/<id:pk>/edit/", actions.action_edit, name="action-edit"),
    path("squads/<slug:slug>/actions/<id:pk>/done/", actions.action_done, name="action-done"),
    path("squads/<slug:slug>/actions/<id:pk>/delete/", actions.action_delete, name="action-delete"),
    path("coach/", coach.coach_queue, name="coach-queue"),
    path("account/reminders/", account.reminder_settings, name="reminder-settings"),
    path("language/", account.choose_language, name="language"),
    path("manage/", manage.manage_home, name="manage"),
    path("manage/tribes/<slug:slug>/rounds/new/", manage.round_new, name="round-new"),
    path("manage/tribes/<slug:slug>/deck/", manage.deck, name="deck"),
    path("manage/tribes/<slug:slug>/people/", people.people, name="people"),
    path("manage/tribes/<slug:slug>/schedule/", schedule.schedule, name="schedule"),
    path("manage/tribes/<slug:slug>/schedule/skip/", schedule.cadence_skip_view, name="cadence-skip"),
    path("manage/tribes/<slug:slug>/schedule/shift/", schedule.cadence_shift_view, name="cadence-shift"),
    path("manage/tribes/<slug:slug>/channels/", schedule.channel_add, name="channel-add"),
    path(
        "manage/tribes/<slug:slug>/channels/<id:channel_id>/remove/",
        schedule.channel_remove,
        name="channel-remove",
    ),
    path(
        "manage/tribes/<slug:slug>/channels/<id:channel_id>/retry/",
        schedule.channel_retry,
        name="channel-retry",
    ),
    path("manage/api-keys/", keys.api_keys, name="api-keys"),
    path("manage/api-keys/<id:key_id>/revoke/", keys.api_key_revoke_view, name="api-key-revoke"),
    path("manage/rounds/<id:round_id>/", manage.round_detail, name="round-detail"),
    path("manage/rounds/<id:round_id>/edit/", manage.round_edit, name="round-edit"),
    path("manage/rounds/<id:round_id>/open/", manage.round_open_view, name="round-open"),
    path("manage/rounds/<id:round_id>/extend/", manage.round_extend_view, name="round-extend"),
    path("manage/rounds/<id:round_id>/delete/", manage.round_delete_view, name="round-delete"),
    path("manage/rounds/<id:round_id>/close/", manage.round_close_view, name="round-close"),
    path("manage/rounds/<id:round_id>/schedule/", manage.round_schedule_view, name="round-schedule"),
    path("manage/rounds/<id:round_id>/cancel/", manage.round_cancel_view, name="round-cancel"),
    path(
        "manage/rounds/<id:round_id>/squads/<slug:squad_slug>/finish/",
        manage.squad_finish_view,
        name="squad-finish",
    ),
    path("manage/rounds/<id:round_id>/invites/", manage.invite_new, name="invite-new"),
    path("manage/rounds/<id:round_id>/workshops/", workshop.workshop_new, name="workshop-new"),
    path("manage/invites/<id:invite_id>/", manage.invite_detail, name="invite-detail"),
    path("manage/invites/<id:invite_id>/revoke/", manage.invite_revoke, name="invite-revoke"),
    path("manage/cards/<id:card_id>/edit/", manage.card_edit, name="card-edit"),
    path("manage/cards/<id:card_id>/change/", manage.card_change, name="card-change"),
]
