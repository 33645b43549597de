from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from ..models import ReminderPreference


@login_required
@require_http_methods(["GET", "POST"])
def reminder_settings(request: HttpRequest) -> HttpResponse:
    """Each person turns reminder emails on or off for themselves."""
    preference = ReminderPreference.objects.filter(user=request.user).first()
    enabled = preference.enabled if preference else True
    if request.method == "POST":
        enabled = request.POST.get("enabled") == "on"
        ReminderPreference.objects.update_or_create(user=request.user, defaults={"enabled": enabled})
        messages.success(request, f"Reminder emails are {'on' if enabled else 'off'}.")
        return redirect("surveys:reminder-settings")
    return render(request, "surveys/reminder_settings.html", {"enabled": enabled})
