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


def set_language_cookie(response: HttpResponse, language: str) -> None:
    """Remember a chosen language in the browser, as Django's LocaleMiddleware reads it."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


class ChosenLanguageMiddleware(LocaleMiddleware):
    """Django's LocaleMiddleware: the language cookie, else the browser's Accept-Language.

    Signing in sets request.chosen_language from the person's profile; the response then keeps it
    in the language cookie, so that the choice follows them to any browser and no page pays a
    query (or a session read) for it.
    """

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        chosen = getattr(request, "chosen_language", None)
        if chosen:
            set_language_cookie(response, chosen)
        response = super().process_response(request, response)
        # The page is written; nothing after this request inherits its language.
        translation.deactivate()
        return response
