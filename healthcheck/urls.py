from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("surveys.api.urls")),
    path("", include("surveys.urls")),
]

handler403 = "healthcheck.views.permission_denied"
handler500 = "healthcheck.views.server_error"
