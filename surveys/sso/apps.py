from __future__ import annotations

from django.apps import AppConfig


class SignOnConfig(AppConfig):
    name = "surveys.sso"
    label = "sso"
    verbose_name = "Single sign-on"
