from __future__ import annotations

from django.urls import path

from healthcheck.views import lets_forms_reach_identity_providers

from . import views

urlpatterns = [
    path("sso/<slug:provider_id>/login/", lets_forms_reach_identity_providers(views.login), name="sso_login"),
    path("sso/<slug:provider_id>/login/callback/", views.callback, name="sso_callback"),
]
