"""Who may call the API: a live key sent as a bearer token, within its rate."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission
from rest_framework.throttling import BaseThrottle

from .. import ratelimit
from ..models import ApiKey

# The last-used date is a day-to-day guide, not a log: one write a minute at most per key.
LAST_USED_STEP = timedelta(minutes=1)


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer shc_…`: the key, checked against its keyed hash."""

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != b"bearer":
            return None
        if len(header) != 2:
            raise AuthenticationFailed("Send the key as: Authorization: Bearer <key>.")
        key = ApiKey.find(header[1].decode(errors="replace"))
        if key is None:
            raise AuthenticationFailed("This API key is not valid, or it has been revoked.")
        now = timezone.now()
        if key.last_used_at is None or key.last_used_at < now - LAST_USED_STEP:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        return AnonymousUser(), key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class HasApiKey(BasePermission):
    message = "An API key is needed: send it as Authorization: Bearer <key>."

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, ApiKey)


class PerKeyRate(BaseThrottle):
    """API_REQUESTS_PER_MINUTE per key, counted in the database so every app server counts together."""

    PERIOD = 60

    def allow_request(self, request, view) -> bool:
        if not isinstance(request.auth, ApiKey):
            return True
        now = timezone.now()
        hits = ratelimit.hit(f"api-key:{request.auth.pk}", period=self.PERIOD, now=now)
        self.retry_after = self.PERIOD - int(now.timestamp()) % self.PERIOD
        return hits <= settings.API_REQUESTS_PER_MINUTE

    def wait(self) -> int:
        return self.retry_after


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = "apiKey"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A key made by a tribe lead on /manage/api-keys/, sent as Authorization: Bearer <key>.",
        }
