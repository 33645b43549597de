"""The API's OpenAPI schema: valid, served with its documentation page, and kept by the API itself."""

from __future__ import annotations

import json

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from surveys.services import api_key_create

from .factories import add_member, add_tribe_role, cast, make_past_round, make_squad, make_user

OPENAPI = json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True)))
schema = schemathesis.openapi.from_dict(OPENAPI)
app = get_wsgi_application()


def test_the_schema_is_valid_openapi():
    validate_schema(OPENAPI)
    assert set(OPENAPI["paths"]) == {
        "/api/v1/tribes/",
        "/api/v1/tribes/{id}/",
        "/api/v1/squads/",
        "/api/v1/squads/{id}/",
        "/api/v1/cards/",
        "/api/v1/cards/{id}/",
        "/api/v1/rounds/",
        "/api/v1/rounds/{id}/",
        "/api/v1/results/",
    }
    assert OPENAPI["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"


def test_the_schema_and_its_documentation_are_served_from_our_own_files(client):
    served = client.get(reverse("api:schema"), HTTP_ACCEPT="application/json")
    assert served.status_code == 200 and served.json()["info"]["title"] == "Squad health check API"
    docs = client.get(reverse("api:docs"))
    html = docs.content.decode()
    assert docs.status_code == 200
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "<script>" not in html  # the start-up script is a file of its own, under the strict CSP
    assert "script-src 'self' 'nonce-" in docs["Content-Security-Policy"]
    script = client.get(reverse("api:docs") + "?script=")
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")


@pytest.fixture
def history(tribe, squad, cards):
    """Two closed rounds, with a squad below the minimum, and a key that reads comments."""
    fraud = make_squad(tribe, "Fraud")
    for _ in range(5):
        add_member(squad, make_user())
    for days_ago in (120, 30):
        rnd = make_past_round(tribe, days_ago=days_ago)
        cast(rnd, squad, cards[0], "ggyrr", "iissw", comments=["Slow", "", "Fine", "", "=1+1"])
        cast(rnd, fraud, cards[0], "rr")
        rnd.close()
    lead = make_user("report-lead")
    add_tribe_role(tribe, lead)
    return api_key_create(name="Report", tribe=tribe, read_comments=True, created_by=lead)[1]


@pytest.fixture
def connection_kept():
    """The database connection stays open between requests, as Django's test client keeps it."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_to_its_schema(case, history, settings, connection_kept):
    settings.API_REQUESTS_PER_MINUTE = 100_000
    case.call_and_validate(
        app=app,
        # The WSGI client does not undo compression; real clients do, and get the same JSON.
        headers={"Authorization": f"Bearer {history}", "Accept-Encoding": "identity"},
        checks=[not_a_server_error, response_schema_conformance],
    )
