"""Writing the audit log. Nothing here ever records what anyone voted."""

from __future__ import annotations

from django.http import HttpRequest

from .models import AuditEvent
from .ratelimit import client_ip


def audit(
    action: str,
    target: object = "",
    *,
    request: HttpRequest | None = None,
    actor=None,
    **detail: object,
) -> AuditEvent:
    """Record one event; the actor is the signed-in person of the request unless given."""
    if actor is None and request is not None and request.user.is_authenticated:
        actor = request.user
    return AuditEvent.objects.create(
        action=action,
        target=str(target)[:200],
        actor=actor,
        actor_name=actor.get_username() if actor is not None else "",
        ip=client_ip(request) if request is not None else None,
        detail={key: str(value) for key, value in detail.items()},
    )


def sign_in_method(request: HttpRequest) -> str:
    """How the person just signed in: as the view said, or as allauth recorded it in the session."""
    said = getattr(request, "sign_in_method", None)
    if said:
        return said
    recorded = (getattr(request, "session", None) or {}).get("account_authentication_methods") or []
    last = recorded[-1] if recorded else {}
    if last.get("method") == "socialaccount":
        return f"single sign-on ({last.get('provider', '')})"
    return {"code": "emailed code", "password_reset": "password reset"}.get(last.get("method"), "password")


def on_signed_in(sender, request: HttpRequest, user, **kwargs) -> None:
    method = sign_in_method(request)
    audit(AuditEvent.Action.SIGNED_IN, user.get_username(), request=request, actor=user, method=method)


def on_sign_in_failed(sender, credentials: dict, request: HttpRequest | None = None, **kwargs) -> None:
    # The username or email is recorded as typed; the password never is.
    typed = credentials.get("username") or credentials.get("email") or ""
    audit(AuditEvent.Action.SIGN_IN_FAILED, typed, request=request)


def on_password_changed(sender, request: HttpRequest, user, **kwargs) -> None:
    audit(AuditEvent.Action.PASSWORD_CHANGED, user.get_username(), request=request, actor=user)
