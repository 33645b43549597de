from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.core.cache import cache

from surveys.models import HealthCard, SquadRole, TribeRole

from .factories import add_member, add_tribe_role, make_round, make_squad, make_tribe, make_user

# Playwright runs an event loop in the test thread; the ORM calls made around it are synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _test_settings(settings):
    # Hashed static names need collectstatic, which the live test server does not run.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Every test starts with an empty cache: ids repeat between tests, cached pages must not.
    cache.clear()


@pytest.fixture
def tribe(db):
    return make_tribe("Payments")


@pytest.fixture
def squad(tribe):
    return make_squad(tribe, "Checkout")


@pytest.fixture
def cards(tribe):
    return list(HealthCard.objects.filter(tribe=tribe).order_by("position"))


@pytest.fixture
def open_round(tribe, cards):
    return make_round(tribe, "2026 Q4")


@pytest.fixture
def alice(squad):
    """A member of the squad, who votes."""
    user = make_user("alice")
    add_member(squad, user)
    return user


@pytest.fixture
def bob(squad):
    """Another member of the same squad."""
    user = make_user("bob")
    add_member(squad, user)
    return user


@pytest.fixture
def coach(squad):
    user = make_user("coach")
    add_member(squad, user, SquadRole.Role.COACH)
    return user


@pytest.fixture
def lead(tribe):
    user = make_user("lead")
    add_tribe_role(tribe, user, TribeRole.Role.LEAD)
    return user


@pytest.fixture
def charlie(db):
    """A member of a squad in another tribe: should have no access to alice's stuff."""
    other = make_tribe("Discovery")
    user = make_user("charlie")
    add_member(make_squad(other, "Search"), user)
    return user


@pytest.fixture
def closing_soon(tribe, cards):
    """An open round that closes within the reminder window."""
    return make_round(tribe, "Closing soon", opens_in=timedelta(days=-10), lasts=timedelta(days=11))
