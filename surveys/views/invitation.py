"""The link in an invitation email: the person sets a first password and is signed in."""

from __future__ import annotations

from django.contrib.auth import get_user_model, login
from django.contrib.auth.forms import SetPasswordForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import base36_to_int
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from ..accounts import invitation_tokens
from ..audit import audit
from ..models import AuditEvent

SESSION_KEY = "_invitation_token"
CLEAN = "set-password"  # stands in for the token in the address once it is in the session


def _person(uidb36: str):
    try:
        return get_user_model().objects.filter(pk=base36_to_int(uidb36), is_active=True).first()
    except (ValueError, OverflowError):
        return None


@never_cache
@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, uidb36: str, token: str) -> HttpResponse:
    person = _person(uidb36)
    if token != CLEAN:
        # The token leaves the address at once, so it is not in the history or a Referer.
        if person is not None and invitation_tokens.check_token(person, token):
            request.session[SESSION_KEY] = token
            return redirect("invitation", uidb36=uidb36, token=CLEAN)
        return render(request, "account/invitation_used.html", status=404)
    token = request.session.get(SESSION_KEY, "")
    if person is None or not invitation_tokens.check_token(person, token):
        return render(request, "account/invitation_used.html", status=404)
    form = SetPasswordForm(person, request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        del request.session[SESSION_KEY]
        audit(
            AuditEvent.Action.PASSWORD_CHANGED,
            person.get_username(),
            request=request,
            actor=person,
            via="invitation",
        )
        request.sign_in_method = "invitation"
        login(request, person, backend="allauth.account.auth_backends.AuthenticationBackend")
        return redirect("surveys:home")
    return render(request, "account/invitation.html", {"form": form, "person": person})
