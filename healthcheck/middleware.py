from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


def csp_nonce_everywhere(get_response: Callable[[HttpRequest], HttpResponse]):
    """Give every response's Content Security Policy a nonce, whether or not its page has a script."""

    def middleware(request: HttpRequest) -> HttpResponse:
        str(request.csp_nonce)
        return get_response(request)

    return middleware


SESSION_LANGUAGE = "language"


class ChosenLanguageMiddleware(LocaleMiddleware):
    """Django's LocaleMiddleware (the language cookie, then Accept-Language), after the language a
    signed-in person chose: their profile's choice, copied into the session when they sign in, so
    that no page pays a query for it."""

    def process_request(self, request: HttpRequest) -> None:
        chosen = request.session.get(SESSION_LANGUAGE) if hasattr(request, "session") else None
        if chosen and translation.check_for_language(chosen) and chosen in dict(settings.LANGUAGES):
            translation.activate(chosen)
            request.LANGUAGE_CODE = translation.get_language()
            return
        super().process_request(request)
