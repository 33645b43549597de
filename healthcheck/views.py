"""Project-level views: the load balancer's health check and the error pages."""

from __future__ import annotations

import sys
from functools import wraps
from urllib.parse import urlsplit

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template import loader
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """Answer "ok" when the database answers; 503 otherwise."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return HttpResponse("database unavailable", status=503, content_type="text/plain")
    return HttpResponse("ok", content_type="text/plain")


def server_error(request: HttpRequest) -> HttpResponse:
    """A lost database connection is a short outage, not a bug: answer 503 and ask to retry.

    The pages are rendered without the request's context, which would query the database again.
    """
    error = sys.exc_info()[1]
    if isinstance(error, (OperationalError, InterfaceError)):
        response = HttpResponse(loader.get_template("503.html").render(), status=503)
        response["Retry-After"] = "5"
        return response
    return HttpResponse(loader.get_template("500.html").render(), status=500)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    from surveys.audit import audit
    from surveys.models import AuditEvent

    audit(AuditEvent.Action.ACCESS_DENIED, request.path, request=request, reason="forbidden action")
    return render(request, "403.html", {"reason": str(exception)}, status=403)


def not_here(request: HttpRequest) -> HttpResponse:
    """A page the sign-in package has that this application does not offer."""
    raise Http404("Not here")


def if_login_by_code(view):
    """The view while LOGIN_BY_CODE is on, and a 404 while it is off (checked on each request)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not settings.ACCOUNT_LOGIN_BY_CODE_ENABLED:
            raise Http404("Sign-in by code is off")
        return view(request, *args, **kwargs)

    return wrapped


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else None


def sign_on_origins() -> list[str]:
    """Where a sign-on button's form may end up: the configured identity providers' sites."""
    origins = set()
    for kind in settings.SOCIALACCOUNT_PROVIDERS.values():
        for app in kind.get("APPS", []):
            config = app.get("settings", {})
            idp = config.get("idp", {})
            for url in (
                config.get("issuer"),
                config.get("server_url"),
                idp.get("sso_url"),
                idp.get("metadata_url"),
            ):
                if url and (origin := _origin(url)):
                    origins.add(origin)
    return sorted(origins)


def lets_forms_reach_identity_providers(view):
    """The page's forms may be sent on to the identity providers (Chrome checks form-action on
    the redirect that follows the POST), and nowhere else."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if origins := sign_on_origins():
            response._csp_update = {"form-action": origins}
        return response

    return wrapped
