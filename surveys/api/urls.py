from __future__ import annotations

from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_replace
from django.urls import path
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("tribes", views.TribeViewSet, basename="tribe")
router.register("squads", views.SquadViewSet, basename="squad")
router.register("cards", views.CardViewSet, basename="card")
router.register("rounds", views.RoundViewSet, basename="round")
router.register("results", views.ResultViewSet, basename="result")

app_name = "api"
urlpatterns = [
    path("schema/", views.SchemaView.as_view(), name="schema"),
    # Swagger UI sets styles on its elements as it draws; its page alone allows inline styles
    # (never inline scripts). The app's own pages keep style-src 'self'.
    path(
        "docs/",
        csp_replace({"style-src": [SELF, UNSAFE_INLINE]})(
            SpectacularSwaggerSplitView.as_view(url_name="api:schema")
        ),
        name="docs",
    ),
    *router.urls,
]
