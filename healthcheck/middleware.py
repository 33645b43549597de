from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


def csp_nonce_everywhere(get_response: Callable[[HttpRequest], HttpResponse]):
    """Give every response's Content Security Policy a nonce, whether or not its page has a script."""

    def middleware(request: HttpRequest) -> HttpResponse:
        str(request.csp_nonce)
        return get_response(request)

    return middleware
