from __future__ import annotations

from django.urls import path

from .views import manage, results, vote

app_name = "surveys"

urlpatterns = [
    path("", vote.home, name="home"),
    path("rounds/<int:round_id>/squads/<slug:squad_slug>/vote/", vote.vote, name="vote"),
    path("tribes/<slug:slug>/", results.tribe_dashboard, name="tribe-dashboard"),
    path("tribes/<slug:slug>/export.csv", results.tribe_export, name="tribe-export"),
    path("squads/<slug:slug>/", results.squad_page, name="squad"),
    path("manage/rounds/<int:round_id>/close/", manage.round_close_view, name="round-close"),
]
