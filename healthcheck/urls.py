from __future__ import annotations

from allauth.account import views as accounts
from allauth.socialaccount.providers.saml import views as saml
from django.contrib import admin
from django.urls import include, path

from surveys.views import invitation

from . import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    # Sign-in is django-allauth's; "login" and "logout" keep their short names for our pages.
    path("accounts/login/", views.lets_forms_reach_identity_providers(accounts.login), name="login"),
    path("accounts/logout/", accounts.logout, name="logout"),
    path(
        "accounts/login/code/",
        views.if_login_by_code(accounts.request_login_code),
        name="account_request_login_code",
    ),
    path(
        "accounts/login/code/confirm/",
        views.if_login_by_code(accounts.confirm_login_code),
        name="account_confirm_login_code",
    ),
    path("accounts/invitation/<str:uidb36>/<str:token>/", invitation.invitation, name="invitation"),
    # Email addresses, linked sign-ins and passwords without the old one are kept by staff and the
    # identity provider, not here; nobody signs up, through single sign-on or otherwise.
    path("accounts/email/", views.not_here),
    path("accounts/confirm-email/", views.not_here),
    path("accounts/confirm-email/<str:key>/", views.not_here),
    path("accounts/password/set/", views.not_here),
    path("accounts/reauthenticate/", views.not_here),
    path("accounts/3rdparty/", views.not_here),
    path("accounts/3rdparty/signup/", views.not_here),
    path(
        "accounts/saml/<str:organization_slug>/login/",
        views.lets_forms_reach_identity_providers(saml.login),
        name="saml_login",
    ),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("surveys.api.urls")),
    path("", include("surveys.urls")),
]

handler403 = "healthcheck.views.permission_denied"
handler500 = "healthcheck.views.server_error"
