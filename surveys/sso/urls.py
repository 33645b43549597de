from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("sso/<slug:provider_id>/login/", views.login, name="sso_login"),
    path("sso/<slug:provider_id>/login/callback/", views.callback, name="sso_callback"),
]
