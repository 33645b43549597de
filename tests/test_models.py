from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from surveys.deck import DEFAULT_DECK
from surveys.models import Answer, Ballot, HealthCard, Round, RoundCard, SquadRole

from .factories import make_round


@pytest.fixture
def ballot(open_round, squad):
    return Ballot.objects.create(round=open_round, squad=squad, voter_key="k" * 64)


def refused(**fields) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Answer.objects.create(**fields)


def test_the_first_migration_brings_the_default_deck(db):
    names = list(
        HealthCard.objects.filter(tribe=None, language="en")
        .order_by("position")
        .values_list("name", flat=True)
    )
    assert names == [card["name"] for card in DEFAULT_DECK]
    assert len(names) == 11


def test_a_new_tribe_gets_its_own_copy_of_the_deck(tribe, cards):
    assert [c.name for c in cards] == [card["name"] for card in DEFAULT_DECK]
    assert all(c.tribe_id == tribe.pk for c in cards)


def test_the_database_allows_one_ballot_per_voter(ballot, open_round, squad):
    with pytest.raises(IntegrityError), transaction.atomic():
        Ballot.objects.create(round=open_round, squad=squad, voter_key="k" * 64)


def test_the_database_requires_a_full_hash_as_voter_key(open_round, squad):
    with pytest.raises(IntegrityError), transaction.atomic():
        Ballot.objects.create(round=open_round, squad=squad, voter_key="alice")


def test_the_database_allows_one_answer_per_card(ballot, cards):
    Answer.objects.create(ballot=ballot, card=cards[0], colour="green")
    refused(ballot=ballot, card=cards[0], colour="red")


def test_the_database_checks_colour_trend_and_comment(ballot, cards):
    refused(ballot=ballot, card=cards[0], colour="purple")
    refused(ballot=ballot, card=cards[0], colour="green", trend="sideways")
    refused(ballot=ballot, card=cards[0], colour="green", comment="x" * 1001)
    Answer.objects.create(ballot=ballot, card=cards[0], colour="green", trend="", comment="x" * 1000)


def test_the_database_checks_rounds(tribe):
    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        Round.objects.create(tribe=tribe, title="Backwards", opens_at=now, closes_at=now - timedelta(hours=1))
    with pytest.raises(IntegrityError), transaction.atomic():
        Round.objects.create(tribe=tribe, title="Odd", opens_at=now, closes_at=now, state="paused")
    make_round(tribe, "2026 Q4")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_round(tribe, "2026 Q4")


def test_the_database_checks_roles(squad, alice):
    with pytest.raises(IntegrityError), transaction.atomic():
        SquadRole.objects.create(squad=squad, user=alice, role="boss")
    with pytest.raises(IntegrityError), transaction.atomic():
        SquadRole.objects.create(squad=squad, user=alice, role="member")


def test_a_card_with_answers_cannot_be_deleted(ballot, cards):
    Answer.objects.create(ballot=ballot, card=cards[0], colour="green")
    with pytest.raises(IntegrityError), transaction.atomic():
        RoundCard.objects.filter(card=cards[0]).delete()
        cards[0].delete()


def test_ballots_hold_no_person_and_no_time():
    fields = {f.name: f for f in Ballot._meta.get_fields()} | {f.name: f for f in Answer._meta.get_fields()}
    assert not any(
        f.get_internal_type() in ("DateTimeField", "DateField") for f in fields.values() if f.concrete
    )
    related = {f.related_model._meta.label for f in fields.values() if f.is_relation and f.related_model}
    assert "auth.User" not in related
    # Random keys: nothing in the rows follows the order of submission.
    assert Ballot._meta.pk.get_internal_type() == Answer._meta.pk.get_internal_type() == "UUIDField"


def test_voter_keys_differ_per_round_and_squad_and_hide_the_person(settings):
    from surveys.models import RoundSquad, new_secret

    part = RoundSquad(round_id=1, squad_id=1, secret=new_secret())
    key = Ballot.key_for_user(part=part, user_id=7)
    assert len(key) == 64 and key != "7"
    assert key == Ballot.key_for_user(part=part, user_id=7)
    assert key != Ballot.key_for_user(part=RoundSquad(round_id=2, squad_id=1, secret=part.secret), user_id=7)
    assert key != Ballot.key_for_user(part=RoundSquad(round_id=1, squad_id=2, secret=part.secret), user_id=7)
    # Both secrets count: the part's own, and BALLOT_SECRET.
    assert key != Ballot.key_for_user(part=RoundSquad(round_id=1, squad_id=1, secret=new_secret()), user_id=7)
    settings.BALLOT_SECRET = "another secret"
    assert key != Ballot.key_for_user(part=part, user_id=7)
    with pytest.raises(ValueError):
        Ballot.key_for_user(part=RoundSquad(round_id=1, squad_id=1, secret=""), user_id=7)


def test_voting_status_follows_state_and_times(tribe):
    rnd = make_round(tribe, state=Round.State.OPEN)
    assert rnd.voting_status() == "open" and rnd.accepts_votes()
    assert rnd.voting_status(rnd.closes_at) == "closed"
    assert rnd.voting_status(rnd.opens_at - timedelta(seconds=1)) == "not-yet-open"
    assert list(Round.objects.accepting_votes()) == [rnd]
    rnd.state = Round.State.DRAFT
    rnd.save()
    assert rnd.voting_status() == "not-yet-open" and not rnd.accepts_votes()
    assert list(Round.objects.accepting_votes()) == []


def test_the_database_treats_card_names_alike_whatever_their_case(tribe, cards):
    with pytest.raises(IntegrityError), transaction.atomic():
        HealthCard.objects.create(tribe=tribe, name=cards[0].name.upper(), awesome="a", crappy="c")
    with pytest.raises(IntegrityError), transaction.atomic():
        HealthCard.objects.create(tribe=None, name=DEFAULT_DECK[0]["name"].lower(), awesome="a", crappy="c")


def test_the_database_refuses_names_and_titles_of_spaces_only(tribe, squad, cards):
    from surveys.models import ActionItem

    with pytest.raises(IntegrityError), transaction.atomic():
        HealthCard.objects.create(tribe=tribe, name="   ", awesome="a", crappy="c")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_round(tribe, "   ")
    with pytest.raises(IntegrityError), transaction.atomic():
        ActionItem.objects.create(squad=squad, card=cards[0], title="  ")
