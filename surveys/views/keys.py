"""API keys for reporting tools: made by a tribe lead for their tribe, or by staff for any or all."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from ..access import get_api_key_for_maker, tribes_for_key_maker
from ..audit import audit
from ..forms import ApiKeyForm
from ..models import ApiKey, AuditEvent
from ..services import api_key_create, api_key_revoke

# The new key waits here between the POST that made it and the page that shows it, once.
SHOWN_ONCE = "_new_api_key"


def _scope(key: ApiKey) -> str:
    return key.tribe.name if key.tribe else "every tribe"


@login_required
@require_http_methods(["GET", "POST"])
def api_keys(request: HttpRequest) -> HttpResponse:
    tribes = tribes_for_key_maker(request.user)
    if not request.user.is_staff and not tribes.exists():
        raise Http404("Only tribe leads and staff make API keys")
    form = ApiKeyForm(request.POST or None, tribes=tribes, everything=request.user.is_staff)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():  # a key exists only with its audit row
            key, text = api_key_create(
                name=form.cleaned_data["name"],
                tribe=form.cleaned_data["tribe"],
                read_comments=form.cleaned_data["read_comments"],
                created_by=request.user,
            )
            audit(
                AuditEvent.Action.API_KEY_CREATED,
                key,
                request=request,
                reads=_scope(key),
                comments="yes" if key.read_comments else "no",
            )
        request.session[SHOWN_ONCE] = text
        return redirect("surveys:api-keys")  # a reload shows the list, and makes no second key
    new_key = request.session.pop(SHOWN_ONCE, None) if request.method == "GET" else None
    keys = ApiKey.objects.select_related("tribe", "created_by").annotate(
        works=Exists(ApiKey.usable().filter(pk=OuterRef("pk")))
    )
    if not request.user.is_staff:
        keys = keys.filter(tribe__in=tribes)
    ctx = {
        "form": form,
        "keys": list(keys),
        "new_key": new_key,
        "per_minute": settings.API_REQUESTS_PER_MINUTE,
        "min_responses": settings.HEALTHCHECK_MIN_RESPONSES,
        "min_comment_responses": settings.HEALTHCHECK_MIN_COMMENT_RESPONSES,
        "site_url": settings.SITE_URL,
    }
    response = render(request, "surveys/manage/api_keys.html", ctx, status=400 if form.errors else 200)
    if new_key:  # the only page that ever holds the key: no cache may keep it
        add_never_cache_headers(response)
    return response


@login_required
@require_POST
def api_key_revoke_view(request: HttpRequest, key_id: int) -> HttpResponse:
    key = get_api_key_for_maker(request, key_id)
    with transaction.atomic():
        revoked = api_key_revoke(key=key)
        if revoked:
            audit(AuditEvent.Action.API_KEY_REVOKED, key, request=request, reads=_scope(key))
    if revoked:
        messages.success(
            request, _("“%(key)s” is revoked: reports that use it get 401 from now on.") % {"key": key.name}
        )
    else:
        messages.info(request, _("“%(key)s” was revoked already.") % {"key": key.name})
    return redirect("surveys:api-keys")
