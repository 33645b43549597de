from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from surveys.models import Answer, Ballot, HealthCard, Tribe
from surveys.services import AnswerInput, ballot_submit

from .factories import add_member, make_user


@pytest.fixture
def staff(client, db):
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    return client


def test_ballots_and_answers_are_not_in_the_admin():
    assert Ballot not in admin.site._registry
    assert Answer not in admin.site._registry


def test_every_admin_list_opens(staff, open_round, squad, alice, lead):
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert staff.get(url).status_code == 200, url
    index = staff.get(reverse("admin:index")).content
    assert b"Ballot" not in index and b"Answer" not in index


def test_a_tribe_created_in_the_admin_gets_the_default_deck(staff):
    response = staff.post(
        reverse("admin:surveys_tribe_add"),
        {
            "name": "Platform",
            "slug": "platform",
            "language": "en",
            "squads-TOTAL_FORMS": "0",
            "squads-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    assert HealthCard.objects.filter(tribe=Tribe.objects.get(slug="platform")).count() == 11


def test_a_card_with_answers_offers_no_delete(staff, open_round, squad, cards):
    add_member(squad, make_user())
    ballot_submit(round=open_round, squad=squad, voter="test:k", answers=[AnswerInput(cards[0].pk, "red")])
    response = staff.get(reverse("admin:surveys_healthcard_delete", args=[cards[0].pk]))
    assert response.status_code == 403
