"""Build a large organisation for the benchmark: 40 tribes, 24 quarters of history, ~900,000 answers.

PostgreSQL only: ballots and answers go in with COPY. Running it again does nothing.
"""

from __future__ import annotations

import csv
import io
import random
import time
import uuid
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from surveys.models import (
    Ballot,
    HealthCard,
    Round,
    RoundCard,
    RoundSquad,
    Squad,
    SquadRole,
    Tribe,
    TribeRole,
)
from surveys.services import tribe_create

PASSWORD = "bench"
ROUNDS = 24
MEMBERS = 8


class Command(BaseCommand):
    help = "Seed a large organisation for `make bench` (PostgreSQL). --quick builds a small one."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--quick", action="store_true", help="3 tribes instead of 40, for a fast check.")
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, quick: bool, seed: int, **options) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("seed_bench needs PostgreSQL: set DATABASE_URL=postgres://…")
        if Tribe.objects.filter(slug="bench-01").exists():
            self.stdout.write("Benchmark data is already present; nothing to do.")
            return
        self.rng = random.Random(seed)
        started = time.monotonic()
        tribes = 3 if quick else 40
        with transaction.atomic():
            self._seed(tribes)
        self.stdout.write(self.style.SUCCESS(f"Seeded in {time.monotonic() - started:.0f} s."))

    def _seed(self, tribe_count: int) -> None:
        User = get_user_model()
        password = make_password(PASSWORD)
        people = {
            name: User.objects.create(username=name, password=password)
            for name in ("bench-lead", "bench-coach", "bench-member")
        }
        now = timezone.now()
        plan = [
            (f"Bench {n:02d}", f"bench-{n:02d}", 12 if n == 1 else 10 + n % 3, ROUNDS)
            for n in range(1, tribe_count + 1)
        ]
        plan.append(("Bench fresh", "bench-fresh", 12, 1))
        ballots_out, answers_out = io.StringIO(), io.StringIO()
        ballot_rows, answer_rows = csv.writer(ballots_out), csv.writer(answers_out)
        counts = {"ballots": 0, "answers": 0}
        closed_rounds: list[Round] = []

        for name, slug, squad_count, round_count in plan:
            tribe = tribe_create(name=name, slug=slug)
            cards = list(HealthCard.objects.filter(tribe=tribe).order_by("position"))
            squads = Squad.objects.bulk_create(
                Squad(
                    tribe=tribe,
                    name=f"{name} squad {i + 1:02d}",
                    slug=f"{slug}-squad-{i + 1:02d}",
                    position=i,
                )
                for i in range(squad_count)
            )
            members = User.objects.bulk_create(
                User(username=f"{squad.slug}-m{m}", password=password)
                for squad in squads
                for m in range(MEMBERS)
            )
            roles = [
                SquadRole(user=members[i * MEMBERS + m], squad=s)
                for i, s in enumerate(squads)
                for m in range(MEMBERS)
            ]
            if slug == "bench-01":
                roles.append(SquadRole(user=people["bench-member"], squad=squads[0]))
                roles += [
                    SquadRole(user=people["bench-coach"], squad=s, role=SquadRole.Role.COACH)
                    for s in squads[:6]
                ]
            SquadRole.objects.bulk_create(roles)
            if slug in ("bench-01", "bench-fresh"):
                TribeRole.objects.create(user=people["bench-lead"], tribe=tribe, role=TribeRole.Role.LEAD)

            rounds = Round.objects.bulk_create(
                Round(
                    tribe=tribe,
                    title=f"Q{q + 1:02d}",
                    opens_at=now - timedelta(days=91 * (round_count - q) + 30),
                    closes_at=now - timedelta(days=91 * (round_count - q) + 16),
                )
                for q in range(round_count)
            )
            if slug == "bench-01":
                rounds.append(
                    Round.objects.create(
                        tribe=tribe,
                        title="Open",
                        opens_at=now - timedelta(days=1),
                        closes_at=now + timedelta(days=60),
                    )
                )
            RoundCard.objects.bulk_create(
                RoundCard(round=r, card=c, position=c.position) for r in rounds for c in cards
            )
            for rnd in rounds:
                rnd.open(now=min(rnd.opens_at, now))  # history is opened at its own time
            levels = {s.pk: self.rng.uniform(0.6, 1.6) for s in squads}
            for rnd in rounds:
                if rnd.closes_at > now:
                    continue
                closed_rounds.append(rnd)
                parts = {p.squad_id: p for p in RoundSquad.objects.filter(round=rnd)}
                for index, squad in enumerate(squads):
                    levels[squad.pk] = min(1.9, max(0.1, levels[squad.pk] + self.rng.uniform(-0.2, 0.2)))
                    voters = self.rng.sample(
                        members[index * MEMBERS : (index + 1) * MEMBERS], self.rng.randint(7, 8)
                    )
                    for user in voters:
                        ballot_id = uuid.uuid4()
                        key = Ballot.key_for_user(part=parts[squad.pk], user_id=user.pk)
                        ballot_rows.writerow([ballot_id, rnd.pk, squad.pk, key])
                        counts["ballots"] += 1
                        for card in cards:
                            value = levels[squad.pk] + self.rng.gauss(0, 0.5)
                            colour = "red" if value < 0.6 else "yellow" if value < 1.4 else "green"
                            trend = self.rng.choice(("improving", "stable", "stable", "worse"))
                            comment = "Bench comment" if self.rng.random() < 0.05 else ""
                            answer_rows.writerow([uuid.uuid4(), ballot_id, card.pk, colour, trend, comment])
                            counts["answers"] += 1
            self.stdout.write(
                f"  {name}: {squad_count} squads, {round_count} rounds ({counts['answers']:,} answers so far)"
            )

        self.stdout.write(f"Copying {counts['ballots']:,} ballots and {counts['answers']:,} answers…")
        with connection.cursor() as cursor:
            raw = cursor.cursor
            ballots_out.seek(0)
            raw.copy_expert(
                "COPY surveys_ballot (id, round_id, squad_id, voter_key) FROM STDIN WITH (FORMAT csv)",
                ballots_out,
            )
            answers_out.seek(0)
            raw.copy_expert(
                "COPY surveys_answer (id, ballot_id, card_id, colour, trend, comment) "
                "FROM STDIN WITH (FORMAT csv, FORCE_NOT_NULL (trend, comment))",
                answers_out,
            )
            cursor.execute("ANALYZE surveys_ballot; ANALYZE surveys_answer")
        self.stdout.write(f"Freezing the results of {len(closed_rounds)} closed rounds…")
        for index, rnd in enumerate(closed_rounds, 1):
            rnd.close(now=rnd.closes_at)
            if index % 200 == 0:
                self.stdout.write(f"  {index} rounds frozen")
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE surveys_result")
