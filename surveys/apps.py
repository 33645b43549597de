from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = _("Squad health checks")

    def ready(self) -> None:
        from allauth.account.signals import password_changed, password_reset, password_set
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        from .audit import on_password_changed, on_sign_in_failed, on_signed_in
        from .views.account import remember_language

        # Sign-ins are audited where Django announces them.
        user_logged_in.connect(on_signed_in, dispatch_uid="surveys.audit.signed_in")
        user_logged_in.connect(remember_language, dispatch_uid="surveys.account.remember_language")
        user_login_failed.connect(on_sign_in_failed, dispatch_uid="surveys.audit.sign_in_failed")
        for name, signal in (("changed", password_changed), ("reset", password_reset), ("set", password_set)):
            signal.connect(on_password_changed, dispatch_uid=f"surveys.audit.password_{name}")
