from __future__ import annotations

from django.urls import path

from . import views

app_name = "surveys"

urlpatterns = [
    path("", views.home, name="home"),
    path("rounds/<int:round_id>/squads/<slug:squad_slug>/vote/", views.vote, name="vote"),
]
