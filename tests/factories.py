"""Small make_* functions that build just what a test needs."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

from django.contrib.auth import get_user_model
from django.utils import timezone

from surveys.models import HealthCard, Round, RoundCard, Squad, SquadRole, Tribe, TribeRole
from surveys.services import tribe_create

_serial = count(1)


def make_user(username: str | None = None, **extra):
    username = username or f"user{next(_serial)}"
    user = get_user_model().objects.create(username=username, email=f"{username}@example.com", **extra)
    user.set_password("password")
    user.save(update_fields=["password"])
    return user


def make_tribe(name: str | None = None, *, language: str = "") -> Tribe:
    name = name or f"Tribe {next(_serial)}"
    return tribe_create(name=name, slug=name.lower().replace(" ", "-"), language=language)


def make_squad(tribe: Tribe, name: str | None = None, *, members: int = 0) -> Squad:
    name = name or f"Squad {next(_serial)}"
    squad = Squad.objects.create(tribe=tribe, name=name, slug=name.lower().replace(" ", "-"))
    for _ in range(members):
        add_member(squad, make_user())
    return squad


def add_member(squad: Squad, user, role: str = SquadRole.Role.MEMBER) -> SquadRole:
    return SquadRole.objects.create(squad=squad, user=user, role=role)


def add_tribe_role(tribe: Tribe, user, role: str = TribeRole.Role.LEAD) -> TribeRole:
    return TribeRole.objects.create(tribe=tribe, user=user, role=role)


def make_round(
    tribe: Tribe,
    title: str | None = None,
    *,
    state: str = Round.State.OPEN,
    cards: list[HealthCard] | None = None,
    opens_in: timedelta = timedelta(days=-1),
    lasts: timedelta = timedelta(days=14),
) -> Round:
    opens_at = timezone.now() + opens_in
    rnd = Round.objects.create(
        tribe=tribe, title=title or f"Round {next(_serial)}", opens_at=opens_at, closes_at=opens_at + lasts
    )
    cards = cards if cards is not None else list(HealthCard.objects.filter(tribe=tribe))
    RoundCard.objects.bulk_create(RoundCard(round=rnd, card=c, position=c.position) for c in cards)
    # Through the state machine, as of the round's own times.
    if state == Round.State.SCHEDULED:
        rnd.schedule(now=opens_at - timedelta(seconds=1))
    elif state in (Round.State.OPEN, Round.State.CLOSED):
        rnd.open(now=opens_at)
    if state == Round.State.CLOSED:
        rnd.close(now=rnd.closes_at)
    return rnd


COLOURS = {"g": "green", "y": "yellow", "r": "red"}
TRENDS = {"i": "improving", "s": "stable", "w": "worse", "-": ""}


def cast(rnd: Round, squad: Squad, card: HealthCard, colours: str, trends: str = "", comments=()) -> None:
    """Cast one ballot per letter of colours ("ggyr"), each answering one card, with trends ("iisw")."""
    from surveys.models import Answer, Ballot, RoundSquad

    part, _ = RoundSquad.objects.get_or_create(round=rnd, squad=squad)
    for index, letter in enumerate(colours):
        key = Ballot.key_for(part=part, voter=f"test:{index}")
        ballot, _ = Ballot.objects.get_or_create(round=rnd, squad=squad, voter_key=key)
        Answer.objects.create(
            ballot=ballot,
            card=card,
            colour=COLOURS[letter],
            trend=TRENDS[trends[index]] if index < len(trends) else "",
            comment=comments[index] if index < len(comments) else "",
        )


def make_past_round(tribe: Tribe, title: str | None = None, *, days_ago: int = 30, **kwargs) -> Round:
    """An open round in the past, to be filled with votes and then closed with round_close."""
    return make_round(tribe, title, opens_in=timedelta(days=-days_ago), lasts=timedelta(days=7), **kwargs)


def chart(response, chart_id: str) -> dict:
    """The figure a page hands to plotly.js in its json_script element."""
    import json
    import re

    html = response.content.decode()
    found = re.search(rf'<script id="{chart_id}" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(found.group(1))
