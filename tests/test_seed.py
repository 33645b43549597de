from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from surveys.models import Answer, Ballot, Round, Squad, SquadRole, Tribe


@pytest.fixture
def seeded(db):
    call_command("seed_demo", "--force", stdout=None)


def test_it_builds_the_demo_organisation(seeded):
    assert Tribe.objects.count() == 2
    assert Squad.objects.count() == 9
    sizes = [SquadRole.objects.members().filter(squad=s).count() for s in Squad.objects.all()]
    assert min(sizes) >= 5 and max(sizes) <= 9
    for tribe in Tribe.objects.all():
        assert tribe.rounds.filter(state=Round.State.CLOSED).count() == 6
        assert tribe.rounds.filter(state=Round.State.OPEN).count() == 1
    users = get_user_model().objects
    for name in ("member", "coach", "lead", "admin"):
        assert users.get(username=name).check_password("demo")
    assert users.get(username="admin").is_staff


def test_it_has_a_squad_below_the_minimum_and_a_red_systemic_card(seeded):
    last = Round.objects.filter(tribe__slug="payments", state="closed").order_by("-opens_at").first()
    assert Ballot.objects.filter(round=last, squad__slug="payouts").count() < 3
    scores = {"green": 2, "yellow": 1, "red": 0}
    red_squads = 0
    for squad in Squad.objects.filter(tribe__slug="payments"):
        colours = Answer.objects.filter(
            ballot__round=last, ballot__squad=squad, card__name="Easy to release"
        ).values_list("colour", flat=True)
        red_squads += sum(scores[c] for c in colours) / len(colours) < 0.75
    assert red_squads >= 4


def test_it_is_safe_to_run_twice(seeded, capsys):
    counts = (Ballot.objects.count(), Answer.objects.count(), get_user_model().objects.count())
    call_command("seed_demo", "--force")
    assert "already present" in capsys.readouterr().out
    assert (Ballot.objects.count(), Answer.objects.count(), get_user_model().objects.count()) == counts


def test_it_refuses_to_run_with_debug_off_unless_forced(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force"):
        call_command("seed_demo")
    assert not Tribe.objects.exists()


def test_the_benchmark_seed_needs_postgresql(db):
    from django.db import connection

    if connection.vendor == "postgresql":
        pytest.skip("this checks the message on other databases")
    with pytest.raises(CommandError, match="needs PostgreSQL"):
        call_command("seed_bench", "--quick")
