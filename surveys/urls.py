from __future__ import annotations

from django.urls import path

from .views import actions, coach, manage, results, vote

app_name = "surveys"

urlpatterns = [
    path("", vote.home, name="home"),
    path("rounds/<int:round_id>/squads/<slug:squad_slug>/vote/", vote.vote, name="vote"),
    path("tribes/<slug:slug>/", results.tribe_dashboard, name="tribe-dashboard"),
    path("tribes/<slug:slug>/export.csv", results.tribe_export, name="tribe-export"),
    path("tribes/<slug:slug>/trends/", coach.tribe_trends, name="tribe-trends"),
    path("tribes/<slug:slug>/comments/", coach.tribe_comments, name="tribe-comments"),
    path("squads/<slug:slug>/", results.squad_page, name="squad"),
    path("squads/<slug:slug>/trends/", coach.squad_trends, name="squad-trends"),
    path("squads/<slug:slug>/actions/new/", actions.action_new, name="action-new"),
    path("squads/<slug:slug>/actions/<int:pk>/edit/", actions.action_edit, name="action-edit"),
    path("squads/<slug:slug>/actions/<int:pk>/done/", actions.action_done, name="action-done"),
    path("squads/<slug:slug>/actions/<int:pk>/delete/", actions.action_delete, name="action-delete"),
    path("coach/", coach.coach_queue, name="coach-queue"),
    path("manage/rounds/<int:round_id>/close/", manage.round_close_view, name="round-close"),
]
