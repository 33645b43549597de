"""How the API's answers are laid out: pages with fixed links, and CSV beside JSON.

Kept apart from the views, which REST framework's settings must not import early.
"""

from __future__ import annotations

import csv
import io
from urllib.parse import urlsplit

from django.conf import settings
from rest_framework.pagination import PageNumberPagination
from rest_framework.renderers import BaseRenderer
from rest_framework.response import Response

from ..spreadsheet import neutralise


class Pages(PageNumberPagination):
    """`{count, next, previous, results}`, with links on SITE_URL whatever Host the request named."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000

    def _fixed(self, link: str | None) -> str | None:
        if link is None:
            return None
        parts = urlsplit(link)
        return (
            f"{settings.SITE_URL}{parts.path}?{parts.query}"
            if parts.query
            else settings.SITE_URL + parts.path
        )

    def get_next_link(self) -> str | None:
        return self._fixed(super().get_next_link())

    def get_previous_link(self) -> str | None:
        return self._fixed(super().get_previous_link())

    def get_paginated_response(self, data) -> Response:
        response = super().get_paginated_response(data)
        links = [(self.get_next_link(), "next"), (self.get_previous_link(), "prev")]
        if header := ", ".join(f'<{url}>; rel="{rel}"' for url, rel in links if url):
            response["Link"] = header  # for CSV readers, which see no body links
        return response


class CsvRenderer(BaseRenderer):
    """The same rows as CSV: one line per item, lists joined by new lines, formulas neutralised."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        renderer_context = renderer_context or {}
        response = renderer_context.get("response")
        view = renderer_context.get("view")
        if isinstance(data, dict) and "results" in data and (response is None or response.status_code < 400):
            rows = data["results"]
        elif isinstance(data, list):
            rows = data
        else:
            rows = [data]
        if rows and isinstance(rows[0], dict):
            header = list(rows[0])
        elif view is not None and hasattr(view, "get_serializer_class"):
            header = list(view.get_serializer_class()().fields)
        else:
            header = []
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        for row in rows:
            writer.writerow(neutralise(_cell(row.get(name))) for name in header)
        return out.getvalue().encode(self.charset)


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "\n".join(str(item) for item in value)
    return value
