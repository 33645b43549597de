from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from healthcheck.middleware import set_language_cookie

from ..models import Profile, ReminderPreference


def remember_language(sender, request: HttpRequest | None, user, **kwargs) -> None:
    """On signing in, the language on the profile becomes the browser's (its cookie, set as the
    response goes out). A person who never chose one keeps the language they signed in with, so
    that their emails come in it too."""
    if request is None:
        return
    chosen = Profile.objects.filter(user=user).values_list("language", flat=True).first()
    if chosen:
        request.chosen_language = chosen
        # The rest of this request (the "signed in" message, say) speaks it already.
        translation.activate(chosen)
        request.LANGUAGE_CODE = chosen
    elif getattr(request, "LANGUAGE_CODE", None) in dict(settings.LANGUAGES):
        Profile.objects.update_or_create(user=user, defaults={"language": request.LANGUAGE_CODE})


@require_POST
def choose_language(request: HttpRequest) -> HttpResponse:
    """The language switcher: remembered in a cookie, and on the profile of a signed-in person."""
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = reverse("surveys:home")
    language = request.POST.get("language", "")
    if language not in dict(settings.LANGUAGES):
        messages.error(request, _("That language is not one we speak. Choose one from the list."))
        return redirect(next_url)
    if request.user.is_authenticated:
        Profile.objects.update_or_create(user=request.user, defaults={"language": language})
    response = redirect(next_url)
    set_language_cookie(response, language)
    return response


@login_required
@require_http_methods(["GET", "POST"])
def reminder_settings(request: HttpRequest) -> HttpResponse:
    """Each person turns reminder emails on or off for themselves."""
    preference = ReminderPreference.objects.filter(user=request.user).first()
    enabled = preference.enabled if preference else True
    if request.method == "POST":
        enabled = request.POST.get("enabled") == "on"
        ReminderPreference.objects.update_or_create(user=request.user, defaults={"enabled": enabled})
        messages.success(request, _("Reminder emails are on.") if enabled else _("Reminder emails are off."))
        return redirect("surveys:reminder-settings")
    return render(request, "surveys/reminder_settings.html", {"enabled": enabled})
