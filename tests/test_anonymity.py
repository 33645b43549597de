"""Anonymity that holds against everyone: each attack found in review, as a test.

After a squad's part closes, nobody holding every secret and the whole database can tell
whose ballot is whose; while it is open, no link, cache or log gives a vote away.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import threading
import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from healthcheck.logs import QuietAccessLogger, quiet_path
from surveys.models import Answer, Ballot, InviteLink, RateLimit, ReminderLog, RoundSquad
from surveys.ratelimit import hit
from surveys.services import AnswerInput, BallotRejected, ballot_submit, invite_create, reminders_send

from .factories import add_member, make_user
from .test_hostile import all_at_once, needs_postgres
from .test_vote import ballot_data, vote_url

MEMBERS = 12


@pytest.fixture
def workshop(open_round, squad, cards):
    """Twelve members who each vote, in a known order, with a comment that names them."""
    people = [make_user(f"person{n:02d}") for n in range(MEMBERS)]
    for person in people:
        add_member(squad, person)
    for n, person in enumerate(people):
        colour = ("green", "yellow", "red")[n % 3]
        ballot_submit(
            round=open_round,
            squad=squad,
            voter=f"user:{person.pk}",
            answers=[AnswerInput(cards[0].pk, colour, "stable", f"written by person{n:02d}")],
        )
    return open_round, squad, people


def physical_order(model) -> list:
    """Rows as the database stores them: by rowid on SQLite, by ctid on PostgreSQL."""
    table = model._meta.db_table
    order = "ctid" if connection.vendor == "postgresql" else "rowid"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {table} ORDER BY {order}")
        return [str(uuid.UUID(str(row[0]))) for row in cursor.fetchall()]


def test_while_open_the_server_finds_each_persons_own_ballot(workshop, cards):
    rnd, squad, people = workshop
    part = RoundSquad.objects.get(round=rnd, squad=squad)
    keys = {Ballot.key_for_user(part=part, user_id=p.pk) for p in people}
    assert keys == set(Ballot.objects.values_list("voter_key", flat=True))


def test_after_close_nobody_can_link_a_ballot_to_a_person(workshop, cards):
    """The operator's attack: recompute every member's key with every secret there is."""
    rnd, squad, people = workshop
    part = RoundSquad.objects.get(round=rnd, squad=squad)
    stolen_part_secret = part.secret  # even a copy taken while the round was open
    submission_order = [
        Answer.objects.get(ballot__voter_key=Ballot.key_for_user(part=part, user_id=p.pk)).comment
        for p in people
    ]
    old_ballot_ids = set(Ballot.objects.values_list("id", flat=True))
    old_answer_ids = set(Answer.objects.values_list("id", flat=True))

    rnd.close()

    part.refresh_from_db()
    assert part.secret == ""
    keys = set(Ballot.objects.values_list("voter_key", flat=True))
    assert len(keys) == MEMBERS  # the ballots are all there, counted once
    for secret in (settings.BALLOT_SECRET, settings.SECRET_KEY, "", stolen_part_secret):
        for key_material in (
            secret.encode(),
            hashlib.sha256(settings.BALLOT_SECRET.encode() + bytes.fromhex(stolen_part_secret)).digest(),
        ):
            for person in people:
                for message in (f"ballot:{rnd.pk}:{squad.pk}:user:{person.pk}", f"user:{person.pk}"):
                    guess = hmac.new(key_material, message.encode(), hashlib.sha256).hexdigest()
                    assert guess not in keys
    # No id survives, and the rows' physical order does not follow the order of submission.
    assert not old_ballot_ids & set(Ballot.objects.values_list("id", flat=True))
    assert not old_answer_ids & set(Answer.objects.values_list("id", flat=True))
    comment_of = {str(i): c for i, c in Answer.objects.values_list("id", "comment")}
    stored_order = [comment_of[answer_id] for answer_id in physical_order(Answer)]
    assert sorted(stored_order) == sorted(submission_order)
    assert stored_order != submission_order
    ballot_of = {str(i): c for i, c in Answer.objects.values_list("ballot_id", "comment")}
    assert [ballot_of[b] for b in physical_order(Ballot)] != submission_order


def test_closing_deletes_the_reminder_records_of_the_round(closing_soon, squad, alice, bob):
    rnd = closing_soon
    assert reminders_send(days=2) == 2
    assert ReminderLog.objects.filter(round=rnd).count() == 2
    RoundSquad.objects.get(round=rnd, squad=squad).close()
    assert not ReminderLog.objects.filter(round=rnd).exists()


def test_a_coach_cannot_pad_a_squad_to_expose_one_vote(client, coach, alice, bob, open_round, squad, cards):
    """The attack: one member votes, the coach votes twice more through a link to reach k."""
    client.force_login(alice)
    client.post(vote_url(open_round, squad), ballot_data(cards, "red", "worse", "only mine"))
    client.force_login(coach)
    client.post(reverse("surveys:invite-new", args=[open_round.pk]), {"squad": squad.pk, "kind": "signin"})
    link = InviteLink.objects.get()
    for _ in range(2):  # two private windows
        window = Client()
        window.get(reverse("surveys:join", args=[link.token]))
        window.post(vote_url(open_round, squad), ballot_data(cards, "green"))
        window.post(
            reverse("surveys:guest-vote", args=[open_round.pk, squad.slug]), ballot_data(cards, "green")
        )
    assert Ballot.objects.count() == 1
    # The coach's own attempt through an open link is refused too.
    client.post(reverse("surveys:invite-new", args=[open_round.pk]), {"squad": squad.pk, "kind": "open"})
    open_link = InviteLink.objects.get(kind="open")
    assert client.get(reverse("surveys:join", args=[open_link.token])).status_code == 403
    assert Ballot.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_guests_never_push_a_squad_past_its_members(tribe, squad, cards, lead):
    needs_postgres()
    from .factories import make_round

    rnd = make_round(tribe, "Race")
    for _ in range(3):
        add_member(squad, make_user())
    link = invite_create(round=rnd, squad=squad, created_by=lead, kind=InviteLink.Kind.OPEN)
    outcomes: list[str] = []
    lock = threading.Lock()

    def guest(n: int):
        def run() -> None:
            from surveys.services import guest_ballot_submit

            try:
                guest_ballot_submit(
                    invite=link, guest_id=f"g{n}", answers=[AnswerInput(cards[0].pk, "green")]
                )
                result = "stored"
            except BallotRejected:
                result = "refused"
            with lock:
                outcomes.append(result)

        return run

    all_at_once(*(guest(n) for n in range(8)))
    assert sorted(outcomes) == ["refused"] * 5 + ["stored"] * 3
    assert Ballot.objects.filter(round=rnd, squad=squad).count() == 3
    link.refresh_from_db()
    assert link.used == 3


def test_no_cache_entry_holds_a_vote_or_a_token(client, alice, lead, open_round, squad, cards):
    cache.clear()
    invite = invite_create(round=open_round, squad=squad, created_by=lead, kind=InviteLink.Kind.OPEN)
    client.force_login(alice)
    client.post(vote_url(open_round, squad), ballot_data(cards, "red", "worse", "UNIQUE-COMMENT-1"))
    client.post(vote_url(open_round, squad), ballot_data(cards, "green", "stable", "UNIQUE-COMMENT-2"))
    client.get(vote_url(open_round, squad))
    guest = Client()
    guest.get(reverse("surveys:join", args=[invite.token]))
    guest.get(reverse("surveys:guest-vote", args=[open_round.pk, squad.slug]))
    client.get(reverse("surveys:home"))
    stored = repr(dict(cache._cache)) if hasattr(cache, "_cache") else ""
    assert not dict(getattr(cache, "_cache", {}))  # voting caches nothing at all
    for secret in ("UNIQUE-COMMENT", invite.token, invite.token.split(".")[1]):
        assert secret not in stored


def test_no_log_line_holds_a_token_or_a_voting_address(client, caplog, lead, open_round, squad):
    invite = invite_create(round=open_round, squad=squad, created_by=lead, kind=InviteLink.Kind.OPEN)
    wrong = invite.token[:-2] + "xx"
    with caplog.at_level(logging.INFO):
        Client().get(reverse("surveys:join", args=[wrong]))
        Client().get(reverse("surveys:join", args=["9" * 5 + "." + "A" * 43]))
        Client().post(vote_url(open_round, squad), {})
    for handler in logging.getLogger().handlers:
        for record in caplog.records:
            for log_filter in handler.filters:
                log_filter.filter(record)
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "/join/" not in text and invite.token[:20] not in text and "/vote/" not in text
    assert "[ballot or invite address]" in text


def test_the_access_log_leaves_out_voting_and_join_paths():
    class Request:
        def __init__(self, path: str, query: str = "") -> None:
            self.method, self.path, self.query, self.uri = (
                "POST",
                path,
                query,
                path + (f"?{query}" if query else ""),
            )
            self.version, self.headers = (1, 1), []

    class Response:
        status, sent, headers = "302 Found", 0, []

    logger = QuietAccessLogger.__new__(QuietAccessLogger)
    for path in ("/rounds/7/squads/checkout/vote/", "/join/12.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ/"):
        environ = {
            "REQUEST_METHOD": "POST",
            "RAW_URI": path,
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "192.0.2.1",
        }
        atoms = logger.atoms(Response(), Request(path), environ, timedelta(milliseconds=5))
        assert path not in repr(atoms) and "abcdefghij" not in repr(atoms)
    assert quiet_path("GET /tribes/payments/ HTTP/1.1") == "GET /tribes/payments/ HTTP/1.1"


def test_sign_in_throttling_counts_per_username_whatever_the_address(settings, lead):
    from .test_security import sign_in

    for n in range(30):
        sign_in(Client(REMOTE_ADDR=f"198.51.100.{n}"), "lead", "wrong")
    assert sign_in(Client(REMOTE_ADDR="203.0.113.9"), "lead", "password").status_code == 429


def test_expired_rate_limit_rows_are_purged(db):
    long_ago = timezone.now() - timedelta(days=2)
    for n in range(5):
        hit(f"someone-{n}", period=settings.RATE_LIMIT_PERIOD, now=long_ago)
    hit("now", period=settings.RATE_LIMIT_PERIOD)
    assert list(RateLimit.objects.values_list("key", flat=True)) == ["now"]


@pytest.mark.django_db(transaction=True)
def test_members_and_guests_at_once_never_push_a_squad_past_its_members(tribe, squad, cards, lead):
    """Members take no link lock; only the squad's part lock keeps the count exact."""
    needs_postgres()
    from surveys.services import guest_ballot_submit

    from .factories import make_round

    rnd = make_round(tribe, "Race")
    people = [make_user() for _ in range(3)]
    for person in people:
        add_member(squad, person)
    link = invite_create(round=rnd, squad=squad, created_by=lead, kind=InviteLink.Kind.OPEN)
    answers = [AnswerInput(cards[0].pk, "green")]

    def member(person):
        return lambda: _try(
            lambda: ballot_submit(round=rnd, squad=squad, voter=f"user:{person.pk}", answers=answers)
        )

    def guest(n: int):
        return lambda: _try(lambda: guest_ballot_submit(invite=link, guest_id=f"g{n}", answers=answers))

    all_at_once(*(member(p) for p in people), *(guest(n) for n in range(3)))
    assert Ballot.objects.filter(round=rnd, squad=squad).count() == 3


def _try(job) -> None:
    with contextlib.suppress(BallotRejected):
        job()


def test_a_scheduled_round_found_past_its_close_still_closes_and_forgets(tribe, squad, cards, alice):
    from surveys.models import Round
    from surveys.services import rounds_advance

    from .factories import make_round

    rnd = make_round(tribe, "Forgotten", state=Round.State.SCHEDULED, opens_in=timedelta(days=1))
    later = rnd.closes_at + timedelta(hours=1)
    assert rounds_advance(now=later) == [(rnd, "closed")]
    rnd.refresh_from_db()
    assert rnd.state == Round.State.CLOSED
    assert not RoundSquad.objects.filter(round=rnd).exclude(secret="").exists()
