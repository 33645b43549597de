"""Build a believable demo organisation with six quarters of history and one open round."""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from surveys.models import (
    ActionItem,
    Answer,
    Ballot,
    Cadence,
    HealthCard,
    Round,
    RoundCard,
    RoundSquad,
    Squad,
    SquadRole,
    Tribe,
    TribeRole,
)
from surveys.services import cadence_save, tribe_create

DEMO_PASSWORD = "demo"
HISTORY_ROUNDS = 6

FIRST_NAMES = (
    "amira ben chloe dario elif femi greta hugo ines jonas kenji lea malik nora oscar priya quinn rosa "
    "sami tara ugo vera wim xia yusuf zoe arjun bea cem dana emil fay gil hana ivo jade kai lina"
).split()

COMMENTS = {
    "green": [
        "Works well for us at the moment.",
        "Much better since we changed how we plan.",
        "No complaints here.",
        "This is one of our strengths.",
    ],
    "yellow": [
        "Okay most weeks, but it slips when we are under pressure.",
        "We talk about it often and do little about it.",
        "Depends a lot on who is around.",
        "Better than last quarter, still not where we want it.",
    ],
    "red": [
        "This keeps coming back in every retro.",
        "We need help from outside the squad to fix this.",
        "It costs us days every sprint.",
        "Nobody seems to own this problem.",
    ],
}


@dataclass
class SquadPlan:
    name: str
    size: int
    # Health level per round on a 0-2 scale, before card-specific adjustments.
    levels: list[float]
    voters: list[int] | None = None
    card_levels: dict[str, list[float]] = field(default_factory=dict)
    split_cards: tuple[str, ...] = ()
    says_improving: tuple[str, ...] = ()


def _flat(level: float) -> list[float]:
    return [level] * (HISTORY_ROUNDS + 1)


TRIBES: dict[str, list[SquadPlan]] = {
    "Payments": [
        SquadPlan("Checkout", 8, _flat(1.3)),
        SquadPlan("Fraud", 7, _flat(1.2), split_cards=("Teamwork", "Pawns or players")),
        SquadPlan("Ledger", 6, [0.5, 0.75, 1.0, 1.25, 1.5, 1.7, 1.8]),
        SquadPlan("Payouts", 5, _flat(1.1), voters=[4, 4, 3, 4, 2, 2, 2]),
        SquadPlan("Wallet", 9, _flat(1.5)),
    ],
    "Discovery": [
        SquadPlan(
            "Search",
            7,
            _flat(1.4),
            card_levels={"Speed": [1.8, 1.7, 1.5, 1.2, 0.9, 0.6, 0.6]},
            says_improving=("Speed",),
        ),
        SquadPlan("Recommendations", 6, _flat(1.6)),
        SquadPlan("Catalogue", 8, [1.0, 1.0, 1.1, 1.0, 0.9, 0.8, 0.8]),
        SquadPlan("Reviews", 5, _flat(1.5)),
    ],
}

# A systemic problem: releasing is hard in almost every Payments squad (a level near red).
SYSTEMIC = {"Payments": ("Easy to release", 0.3)}


def _quarter_start(moment: datetime, quarters_back: int) -> tuple[str, datetime]:
    index = moment.year * 4 + (moment.month - 1) // 3 - quarters_back
    year, quarter = divmod(index, 4)
    start = moment.replace(year=year, month=quarter * 3 + 1, day=1, hour=9, minute=0, second=0, microsecond=0)
    return f"{year} Q{quarter + 1}", start


class Command(BaseCommand):
    help = "Create a demo organisation: 2 tribes, 9 squads, six closed quarterly rounds and one open round."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--if-empty", action="store_true", help="Do nothing if any tribe exists.")
        parser.add_argument("--force", action="store_true", help="Run even with DEBUG off.")
        parser.add_argument("--seed", type=int, default=2014, help="Random seed, for repeatable votes.")

    def handle(self, *args, if_empty: bool, force: bool, seed: int, **options) -> None:
        if not settings.DEBUG and not force:
            raise CommandError(
                "DEBUG is off: this looks like production. Add --force to seed demo data anyway."
            )
        if if_empty and Tribe.objects.exists():
            self.stdout.write("The database already holds an organisation; demo data not added.")
            return
        if Tribe.objects.filter(slug__in=[name.lower() for name in TRIBES]).exists():
            self.stdout.write("Demo data is already present; nothing to do.")
            return
        self.rng = random.Random(seed)
        self.password = make_password(DEMO_PASSWORD)
        self.names = iter(f"{first}.{last}" for last in "abcdefghijklmnopqrstuvwxyz" for first in FIRST_NAMES)
        with transaction.atomic():
            self._seed()
        self.stdout.write(
            self.style.SUCCESS("Demo ready. Logins (password demo): member, coach, lead, admin")
        )

    def _seed(self) -> None:
        User = get_user_model()
        people = {
            name: User.objects.create(username=name, email=f"{name}@example.com", password=self.password)
            for name in ("member", "coach", "lead", "admin")
        }
        people["admin"].is_staff = people["admin"].is_superuser = True
        people["admin"].save(update_fields=["is_staff", "is_superuser"])
        now = timezone.now()

        for tribe_name, plans in TRIBES.items():
            self.stdout.write(f"Tribe {tribe_name}: {len(plans)} squads")
            tribe = tribe_create(name=tribe_name, slug=tribe_name.lower())
            cards = list(HealthCard.objects.filter(tribe=tribe))
            squads = []
            for position, plan in enumerate(plans):
                squad = Squad.objects.create(
                    tribe=tribe, name=plan.name, slug=plan.name.lower(), position=position
                )
                members = User.objects.bulk_create(
                    User(username=name, email=f"{name}@example.com", password=self.password)
                    for name in (next(self.names) for _ in range(plan.size - (squad.slug == "checkout")))
                )
                if squad.slug == "checkout":
                    members.append(people["member"])
                SquadRole.objects.bulk_create(SquadRole(user=u, squad=squad) for u in members)
                if tribe.slug == "payments" and squad.slug in ("checkout", "fraud", "ledger"):
                    SquadRole.objects.create(user=people["coach"], squad=squad, role=SquadRole.Role.COACH)
                squads.append((squad, plan, members))
            if tribe.slug == "payments":
                TribeRole.objects.create(user=people["lead"], tribe=tribe, role=TribeRole.Role.LEAD)

            for index in range(HISTORY_ROUNDS + 1):
                quarters_back = HISTORY_ROUNDS - index
                title, start = _quarter_start(now, quarters_back)
                is_open = quarters_back == 0
                opens_at = now - timedelta(days=2) if is_open else start + timedelta(days=40)
                rnd = Round.objects.create(
                    tribe=tribe, title=title, opens_at=opens_at, closes_at=opens_at + timedelta(days=14)
                )
                RoundCard.objects.bulk_create(
                    RoundCard(round=rnd, card=card, position=card.position) for card in cards
                )
                rnd.open(now=opens_at)
                skip = people["member"] if is_open else None
                ballots = sum(
                    self._vote(rnd, squad, plan, members, cards, index, tribe_name, skip=skip)
                    for squad, plan, members in squads
                )
                if not is_open:
                    rnd.close(now=rnd.closes_at)
                elif tribe.slug == "payments":
                    # One squad has held its workshop already: its results show while others vote.
                    part = RoundSquad.objects.get(round=rnd, squad__slug="fraud")
                    part.close(now=now - timedelta(hours=2))
                if tribe.slug == "payments" and index == HISTORY_ROUNDS - 2:
                    self._actions(squads, cards, rnd, people, now)
                state = "open" if is_open else "closed"
                self.stdout.write(f"  round {title} ({state}): {ballots} ballots")
            if tribe.slug == "payments":
                # Payments runs on a quarterly rhythm: the scheduler has made its next round already.
                cadence_save(
                    cadence=Cadence(tribe=tribe, every=Cadence.Every.QUARTERLY, open_days=14),
                    cards=[],
                    by=people["lead"],
                )
                self.stdout.write(f"  rhythm: {tribe.cadence.described()}")

    def _actions(self, squads, cards, baseline, people, now) -> None:
        """Action items agreed after a round: one overdue, one done, one still to come."""
        by_slug = {squad.slug: squad for squad, _, _ in squads}
        card = {c.name: c for c in cards}
        today = timezone.localdate(now)
        for slug, card_name, title, due, done in (
            (
                "checkout",
                "Easy to release",
                "Automate the release checklist",
                today - timedelta(days=10),
                False,
            ),
            ("ledger", "Tech quality", "Pair on the reconciliation module", today - timedelta(days=30), True),
            ("fraud", "Teamwork", "Run a team charter workshop", today + timedelta(days=20), False),
        ):
            ActionItem.objects.create(
                squad=by_slug[slug],
                card=card[card_name],
                title=title,
                due_date=due,
                done=done,
                baseline_round=baseline,
                created_by=people["member"] if slug == "checkout" else people["coach"],
                created_on=baseline.closes_at.date(),
            )

    def _vote(self, rnd, squad, plan, members, cards, index, tribe_name, *, skip) -> int:
        """Cast plausible ballots for one squad in one round; returns how many."""
        rng = self.rng
        eligible = [m for m in members if m != skip]
        if plan.voters:
            count = plan.voters[index]
        elif index == HISTORY_ROUNDS:
            count = max(1, len(eligible) * 3 // 5)  # the open round is still filling up
        else:
            count = max(3, len(eligible) - rng.randint(0, 2))
        voters = rng.sample(eligible, min(count, len(eligible)))
        ballots, answers = [], []
        systemic_card, systemic_level = SYSTEMIC.get(tribe_name, ("", 0.0))
        part = RoundSquad.objects.get(round=rnd, squad=squad)
        for user in voters:
            ballot = Ballot(round=rnd, squad=squad, voter_key=Ballot.key_for_user(part=part, user_id=user.pk))
            ballots.append(ballot)
            for card in cards:
                series = plan.card_levels.get(card.name, plan.levels)
                level = series[index] + (zlib.crc32(card.name.encode()) % 5 - 2) * 0.1
                if card.name == systemic_card:
                    level = min(level, systemic_level)
                if card.name in plan.split_cards:
                    colour = rng.choice(["green", "red"])
                else:
                    colour = ["red", "yellow", "green"][max(0, min(2, round(level + rng.gauss(0, 0.45))))]
                before = series[index - 1] if index else series[index]
                if card.name in plan.says_improving or series[index] - before > 0.1:
                    trend = rng.choice(["improving", "improving", "stable"])
                elif series[index] - before < -0.1:
                    trend = rng.choice(["worse", "worse", "stable"])
                else:
                    trend = rng.choice(["stable", "stable", "stable", "improving", "worse"])
                comment = rng.choice(COMMENTS[colour]) if rng.random() < 0.2 else ""
                answers.append(Answer(ballot=ballot, card=card, colour=colour, trend=trend, comment=comment))
        Ballot.objects.bulk_create(ballots)
        Answer.objects.bulk_create(answers)
        return len(ballots)
