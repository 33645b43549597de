"""Hostile input: every answer states its status, says why, and loses or half-writes nothing."""

from __future__ import annotations

import json
import re
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.urls import get_resolver, reverse

from surveys.models import (
    ActionItem,
    Answer,
    ApiKey,
    Ballot,
    Channel,
    HealthCard,
    InviteLink,
    Result,
    Round,
    RoundSquad,
    SquadRole,
    Workshop,
)
from surveys.notify import seal
from surveys.services import AnswerInput, api_key_create, ballot_submit, invite_create, workshop_start

from .factories import add_member, cast, chart, make_past_round, make_round, make_squad, make_user
from .test_vote import ballot_data, stored_answers, vote_url


def needs_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite lets one writer in at a time, so concurrent writes cannot race there")


# Replays and races


def test_a_replayed_ballot_post_leaves_one_whole_ballot(client, alice, open_round, squad, cards):
    client.force_login(alice)
    data = ballot_data(cards, "yellow", "improving", "Same again")
    responses = [client.post(vote_url(open_round, squad), data) for _ in range(3)]
    assert [r.status_code for r in responses] == [302, 302, 302]
    assert Ballot.objects.count() == 1
    assert Answer.objects.count() == 11


def all_at_once(*jobs) -> None:
    """Run the jobs in threads released together, each on its own database connection."""
    barrier = threading.Barrier(len(jobs))

    def run(job) -> None:
        try:
            barrier.wait()
            job()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_identical_submits_leave_exactly_one_ballot(alice_world):
    needs_postgres()
    rnd, squad, cards, user = alice_world
    data = ballot_data(cards, "green", "stable")
    statuses: list[int] = []
    clients = [Client() for _ in range(8)]
    for client in clients:
        client.force_login(user)

    def submit(client: Client):
        return lambda: statuses.append(client.post(vote_url(rnd, squad), data).status_code)

    all_at_once(*(submit(client) for client in clients))
    assert statuses == [302] * 8
    assert Ballot.objects.count() == 1
    assert Answer.objects.count() == 11


@pytest.mark.django_db(transaction=True)
def test_a_round_closing_while_ballots_are_in_flight_takes_each_whole_or_not_at_all(alice_world):
    needs_postgres()
    rnd, squad, cards, _ = alice_world
    answers = [AnswerInput(card_id=c.pk, colour="green", trend="stable") for c in cards]
    outcomes: list[str] = []

    def vote(n: int):
        def job() -> None:
            try:
                ballot_submit(round=rnd, squad=squad, voter=f"test:{n}", answers=answers)
                outcomes.append("stored")
            except Exception as exc:  # the only acceptable failure is a clear rejection
                outcomes.append(type(exc).__name__)

        return job

    all_at_once(*(vote(n) for n in range(12)), lambda: rnd.close())
    assert set(outcomes) <= {"stored", "BallotRejected"}
    stored = outcomes.count("stored")
    assert Ballot.objects.count() == stored
    assert all(b.answers.count() == 11 for b in Ballot.objects.all())
    # The frozen results count exactly the ballots that made it in before the close.
    assert Result.objects.get(round=rnd, squad=squad, card=cards[0]).voters == stored


@pytest.fixture
def alice_world(transactional_db):
    from .factories import make_tribe

    tribe = make_tribe("Payments")
    squad = make_squad(tribe, "Checkout")
    user = make_user("alice")
    add_member(squad, user)
    rnd = make_round(tribe, "Open")
    return rnd, squad, list(HealthCard.objects.filter(tribe=tribe).order_by("position")), user


# Ballots aimed where they do not belong


def test_a_ballot_for_another_squads_round_is_404(client, alice, open_round, charlie, cards):
    other_squad = charlie.squad_roles.get().squad
    other_round = make_round(other_squad.tribe)
    client.force_login(alice)
    assert client.post(vote_url(other_round, other_squad), ballot_data(cards)).status_code == 404
    assert (
        client.post(vote_url(other_round, alice.squad_roles.get().squad), ballot_data(cards)).status_code
        == 404
    )
    assert not Ballot.objects.exists()


def test_extra_fields_cannot_redirect_a_ballot(client, alice, open_round, squad, cards, charlie):
    other_squad = charlie.squad_roles.get().squad
    data = ballot_data(cards) | {
        "user": charlie.pk,
        "squad": other_squad.pk,
        "round": 999,
        "id": "00000000-0000-0000-0000-000000000000",
        "voter_key": "f" * 64,
    }
    client.force_login(alice)
    assert client.post(vote_url(open_round, squad), data).status_code == 302
    ballot = Ballot.objects.get()
    assert (ballot.round, ballot.squad) == (open_round, squad)
    part = RoundSquad.objects.get(round=open_round, squad=squad)
    assert ballot.voter_key == Ballot.key_for_user(part=part, user_id=alice.pk)
    assert str(ballot.pk) != data["id"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("colour", "GREEN", "Choose green, yellow or red."),
        ("colour", "green' OR 1=1 --", "Choose green, yellow or red."),
        ("trend", "up", "Choose improving, stable or getting worse."),
        ("comment", "é" * 1001, "Keep the comment to 1,000 characters"),
        ("comment", "a\x00b", "hidden NUL character"),
    ],
)
def test_tampered_values_are_refused_whole(client, alice, open_round, squad, cards, field, value, message):
    client.force_login(alice)
    client.post(vote_url(open_round, squad), ballot_data(cards, "green"))
    before = stored_answers()
    data = ballot_data(cards, "red")
    data[f"card-{cards[-1].pk}-{field}"] = value
    response = client.post(vote_url(open_round, squad), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert stored_answers() == before


def test_a_ten_megabyte_body_is_refused_and_nothing_is_stored(client, alice, open_round, squad, cards):
    client.force_login(alice)
    data = ballot_data(cards)
    data[f"card-{cards[0].pk}-comment"] = "x" * (10 * 1024 * 1024)
    response = client.post(vote_url(open_round, squad), data)
    assert response.status_code == 400
    assert b"far too large" in response.content
    assert not Ballot.objects.exists()


# Script in names, titles and comments


PAYLOADS = ["<script>alert('x')</script>", '"><img src=x onerror=alert(1)>', "javascript:alert(1)"]


@pytest.fixture
def poisoned(tribe, squad, cards):
    HealthCard.objects.filter(pk=cards[0].pk).update(name=PAYLOADS[0])
    HealthCard.objects.filter(pk=cards[1].pk).update(name=PAYLOADS[1])
    rnd = make_past_round(tribe, PAYLOADS[1])
    for card in cards[:3]:
        cast(rnd, squad, card, "gyr", "isw", comments=PAYLOADS)
    rnd.close()
    ActionItem.objects.create(squad=squad, card=cards[0], title=PAYLOADS[2])
    return rnd


def assert_inert(html: str) -> None:
    assert "<script>alert" not in html
    assert "<img src=x onerror" not in html
    assert 'href="javascript:' not in html
    assert "onerror=alert(1)>" not in html


def test_script_is_escaped_everywhere_it_appears(client, poisoned, tribe, squad, lead):
    staff = make_user(is_staff=True, is_superuser=True)
    client.force_login(lead)
    for url in (
        reverse("surveys:tribe-dashboard", args=[tribe.slug]),
        reverse("surveys:squad", args=[squad.slug]),
        reverse("surveys:squad-trends", args=[squad.slug]),
        reverse("surveys:tribe-trends", args=[tribe.slug]),
        reverse("surveys:tribe-comments", args=[tribe.slug]),
        reverse("surveys:coach-queue"),
        reverse("surveys:manage"),
        reverse("surveys:round-detail", args=[poisoned.pk]),
    ):
        html = client.get(url).content.decode()
        assert_inert(html)
    trends = client.get(reverse("surveys:squad-trends", args=[squad.slug])).content.decode()
    data = re.search(r'<script id="chart-radar" type="application/json">(.*?)</script>', trends, re.S).group(
        1
    )
    assert "<" not in data  # json_script escapes angle brackets
    assert PAYLOADS[0] in json.loads(data)["data"][0]["theta"]
    csv_text = client.get(reverse("surveys:tribe-export", args=[tribe.slug])).content.decode()
    assert PAYLOADS[0] in csv_text  # CSV is data, not HTML; only formulas are neutralised
    client.force_login(staff)
    for model in ("round", "healthcard", "auditevent"):
        assert_inert(client.get(reverse(f"admin:surveys_{model}_changelist")).content.decode())


# CSRF and methods


def state_changing_urls(world) -> list[str]:
    rnd, squad, card, invite, action = world
    return [
        vote_url(rnd, squad),
        reverse("surveys:round-new", args=[rnd.tribe.slug]),
        reverse("surveys:round-edit", args=[rnd.pk]),
        reverse("surveys:round-open", args=[rnd.pk]),
        reverse("surveys:round-extend", args=[rnd.pk]),
        reverse("surveys:round-delete", args=[rnd.pk]),
        reverse("surveys:round-close", args=[rnd.pk]),
        reverse("surveys:invite-new", args=[rnd.pk]),
        reverse("surveys:invite-revoke", args=[invite.pk]),
        reverse("surveys:deck", args=[rnd.tribe.slug]),
        reverse("surveys:card-edit", args=[card.pk]),
        reverse("surveys:card-change", args=[card.pk]),
        reverse("surveys:action-new", args=[squad.slug]),
        reverse("surveys:action-edit", args=[squad.slug, action.pk]),
        reverse("surveys:action-done", args=[squad.slug, action.pk]),
        reverse("surveys:action-delete", args=[squad.slug, action.pk]),
        reverse("surveys:reminder-settings"),
        reverse("logout"),
    ]


@pytest.fixture
def world(tribe, squad, cards, open_round, lead, alice):
    SquadRole.objects.create(user=lead, squad=squad)  # the lead also votes, to reach every URL
    invite = invite_create(round=open_round, squad=squad, created_by=lead, kind=InviteLink.Kind.OPEN)
    action = ActionItem.objects.create(squad=squad, card=cards[0], title="Keep", created_by=lead)
    part, _ = RoundSquad.objects.get_or_create(round=open_round, squad=squad)
    workshop_start(
        round=part.round, squad=part.squad, started_by=lead, flow="live", kind="signin", card_seconds=300
    )
    Channel.objects.create(
        tribe=tribe, kind="slack", sealed_url=seal("https://hooks.slack.com/x"), url_hint="x"
    )
    api_key_create(name="Report", tribe=tribe, read_comments=True, created_by=lead)
    return open_round, squad, cards[0], invite, action


def test_every_state_changing_url_needs_a_csrf_token(world, lead, cards):
    client = Client(enforce_csrf_checks=True)
    client.force_login(lead)
    before = (
        Round.objects.values_list("state", "title").get(),
        ActionItem.objects.count(),
        InviteLink.objects.get(kind="open").revoked,
    )
    for url in state_changing_urls(world):
        response = client.post(url, ballot_data(cards) | {"title": "Hacked", "action": "delete", "done": "1"})
        assert response.status_code == 403, url
    after = (
        Round.objects.values_list("state", "title").get(),
        ActionItem.objects.count(),
        InviteLink.objects.get(kind="open").revoked,
    )
    assert after == before
    assert not Ballot.objects.exists()


def test_post_only_urls_refuse_get(world, lead):
    client = Client()
    client.force_login(lead)
    rnd, squad, card, invite, action = world
    for url in (
        reverse("surveys:round-open", args=[rnd.pk]),
        reverse("surveys:round-extend", args=[rnd.pk]),
        reverse("surveys:round-delete", args=[rnd.pk]),
        reverse("surveys:invite-new", args=[rnd.pk]),
        reverse("surveys:invite-revoke", args=[invite.pk]),
        reverse("surveys:card-change", args=[card.pk]),
        reverse("surveys:action-done", args=[squad.slug, action.pk]),
        reverse("surveys:action-delete", args=[squad.slug, action.pk]),
    ):
        assert client.get(url).status_code == 405, url
    assert Round.objects.get().state == Round.State.OPEN and not InviteLink.objects.get(kind="open").revoked
    # Signing out asks first on GET (a link or an image cannot sign anyone out); only POST does.
    assert b"Sign out" in client.get(reverse("logout")).content
    assert client.get(reverse("surveys:home")).status_code == 200


# A sweep over every URL


def every_url(world, missing: bool = False) -> dict[str, str]:
    rnd, squad, card, invite, action = world
    workshop = Workshop.objects.get()
    channel = Channel.objects.get()
    key = ApiKey.objects.get()
    absent = 987654
    ids = {
        "round": absent if missing else rnd.pk,
        "squad": "no-such-squad" if missing else squad.slug,
        "tribe": "no-such-tribe" if missing else rnd.tribe.slug,
        "card": absent if missing else card.pk,
        "invite": absent if missing else invite.pk,
        "action": absent if missing else action.pk,
        "workshop": absent if missing else workshop.pk,
        "channel": absent if missing else channel.pk,
        "key": absent if missing else key.pk,
    }
    return {
        "vote": reverse("surveys:vote", args=[ids["round"], ids["squad"]]),
        "tribe-dashboard": reverse("surveys:tribe-dashboard", args=[ids["tribe"]]),
        "tribe-export": reverse("surveys:tribe-export", args=[ids["tribe"]]),
        "tribe-trends": reverse("surveys:tribe-trends", args=[ids["tribe"]]),
        "tribe-comments": reverse("surveys:tribe-comments", args=[ids["tribe"]]),
        "squad": reverse("surveys:squad", args=[ids["squad"]]),
        "squad-trends": reverse("surveys:squad-trends", args=[ids["squad"]]),
        "action-new": reverse("surveys:action-new", args=[ids["squad"]]),
        "action-edit": reverse("surveys:action-edit", args=[ids["squad"], ids["action"]]),
        "action-done": reverse("surveys:action-done", args=[ids["squad"], ids["action"]]),
        "action-delete": reverse("surveys:action-delete", args=[ids["squad"], ids["action"]]),
        "round-new": reverse("surveys:round-new", args=[ids["tribe"]]),
        "deck": reverse("surveys:deck", args=[ids["tribe"]]),
        "round-detail": reverse("surveys:round-detail", args=[ids["round"]]),
        "round-edit": reverse("surveys:round-edit", args=[ids["round"]]),
        "round-open": reverse("surveys:round-open", args=[ids["round"]]),
        "round-extend": reverse("surveys:round-extend", args=[ids["round"]]),
        "round-delete": reverse("surveys:round-delete", args=[ids["round"]]),
        "round-close": reverse("surveys:round-close", args=[ids["round"]]),
        "round-schedule": reverse("surveys:round-schedule", args=[ids["round"]]),
        "round-cancel": reverse("surveys:round-cancel", args=[ids["round"]]),
        "squad-finish": reverse("surveys:squad-finish", args=[ids["round"], ids["squad"]]),
        "workshop-new": reverse("surveys:workshop-new", args=[ids["round"]]),
        "workshop": reverse("surveys:workshop", args=[ids["workshop"]]),
        "workshop-screen": reverse("surveys:workshop-screen", args=[ids["workshop"]]),
        "workshop-phone": reverse("surveys:workshop-phone", args=[ids["workshop"]]),
        "workshop-control": reverse("surveys:workshop-control", args=[ids["workshop"]]),
        "invite-new": reverse("surveys:invite-new", args=[ids["round"]]),
        "invite-detail": reverse("surveys:invite-detail", args=[ids["invite"]]),
        "invite-revoke": reverse("surveys:invite-revoke", args=[ids["invite"]]),
        "card-edit": reverse("surveys:card-edit", args=[ids["card"]]),
        "card-change": reverse("surveys:card-change", args=[ids["card"]]),
        "schedule": reverse("surveys:schedule", args=[ids["tribe"]]),
        "people": reverse("surveys:people", args=[ids["tribe"]]),
        "cadence-skip": reverse("surveys:cadence-skip", args=[ids["tribe"]]),
        "cadence-shift": reverse("surveys:cadence-shift", args=[ids["tribe"]]),
        "channel-add": reverse("surveys:channel-add", args=[ids["tribe"]]),
        "channel-remove": reverse("surveys:channel-remove", args=[ids["tribe"], ids["channel"]]),
        "channel-retry": reverse("surveys:channel-retry", args=[ids["tribe"], ids["channel"]]),
        "api-keys": reverse("surveys:api-keys"),
        "api-key-revoke": reverse("surveys:api-key-revoke", args=[ids["key"]]),
    }


# URLs that only take POST.
POST_ONLY = (
    "workshop-new",
    "workshop-control",
    "round-open",
    "round-schedule",
    "round-cancel",
    "squad-finish",
    "round-extend",
    "round-delete",
    "invite-new",
    "invite-revoke",
    "card-change",
    "action-done",
    "action-delete",
    "cadence-skip",
    "cadence-shift",
    "channel-add",
    "channel-remove",
    "channel-retry",
    "api-key-revoke",
)

# Pages that are not about one tribe's objects, and what they answer the signed-out.
GENERAL = {
    "home": 302,
    "coach-queue": 302,
    "manage": 302,
    "reminder-settings": 302,
    "join": 404,
    "guest-vote": 403,
    "guest-forget": 405,  # POST only; it forgets the browser that asks, nothing else
    "workshop-state": 404,  # reached only through a signed address that the pages hand out
    "language": 405,  # POST only; it sets the language of whoever asks, nothing else
}


def test_the_sweep_covers_every_url(world):
    names = {p.name for p in get_resolver().url_patterns[-1].url_patterns}
    assert names == set(every_url(world)) | set(GENERAL)


def test_signed_out_people_are_sent_to_sign_in_everywhere(world):
    client = Client()
    for name, url in every_url(world).items():
        method = client.post if name in POST_ONLY else client.get
        response = method(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), name
    for name in ("home", "coach-queue", "manage", "reminder-settings"):
        assert client.get(reverse(f"surveys:{name}"))["Location"].startswith("/accounts/login/")


def test_people_of_another_tribe_get_the_same_404_as_for_a_missing_object(world, charlie):
    from .test_dashboard import same_page

    outsider = Client()
    charlie.is_staff = False
    outsider.force_login(charlie)
    SquadRole.objects.create(user=charlie, squad=charlie.squad_roles.get().squad, role=SquadRole.Role.COACH)
    real, missing = every_url(world), every_url(world, missing=True)
    for name in real:
        method = outsider.post if name in POST_ONLY else outsider.get
        forbidden, absent = method(real[name]), method(missing[name])
        assert forbidden.status_code == absent.status_code == 404, name
        assert same_page(forbidden.content, absent.content), name
    assert Round.objects.get().state == Round.State.OPEN


def test_revoked_roles_take_effect_on_the_next_request(client, world, lead, alice):
    rnd, squad, *_ = world
    client.force_login(alice)
    assert client.get(vote_url(rnd, squad)).status_code == 200
    SquadRole.objects.filter(user=alice).delete()
    assert client.get(vote_url(rnd, squad)).status_code == 404
    client.force_login(lead)
    assert client.get(reverse("surveys:round-detail", args=[rnd.pk])).status_code == 200
    lead.tribe_roles.all().delete()
    assert client.get(reverse("surveys:round-detail", args=[rnd.pk])).status_code == 404


# Anonymity and the minimum


def test_nobody_sees_a_persons_answers(client, tribe, squad, cards, alice, lead):
    rnd = make_past_round(tribe)
    ballot_submit(
        round=rnd,
        squad=squad,
        voter=f"user:{alice.pk}",
        answers=[AnswerInput(cards[0].pk, "red", "worse", "ALICE-SECRET")],
        now=rnd.opens_at + timedelta(hours=1),
    )
    cast(rnd, squad, cards[0], "gg")
    rnd.close()
    staff = make_user("root", is_staff=True, is_superuser=True)
    for person in (lead, staff):
        client.force_login(person)
        pages = [
            reverse("surveys:squad", args=[squad.slug]),
            reverse("surveys:tribe-comments", args=[tribe.slug]),
            reverse("surveys:tribe-export", args=[tribe.slug]),
            reverse("admin:auth_user_change", args=[alice.pk]),
            reverse("admin:surveys_squadrole_changelist"),
            reverse("admin:surveys_auditevent_changelist"),
        ]
        for url in pages:
            text = client.get(url).content.decode()
            names_alice = "alice" in text.replace("ALICE-SECRET", "").lower()
            assert not ("ALICE-SECRET" in text and names_alice), url
    assert not any(
        "ballot" in name.lower() or "answer" in name.lower() for name in map(str, get_admin_models())
    )


def get_admin_models() -> list:
    from django.contrib import admin

    return [model._meta.model_name for model in admin.site._registry]


def test_below_the_minimum_nothing_leaks_anywhere(client, tribe, squad, cards, lead):
    small = make_squad(tribe, "Small")
    rnd = make_past_round(tribe)
    cast(rnd, squad, cards[0], "ggg")
    cast(rnd, small, cards[0], "rr", "ww", comments=["TINY-SECRET", "TINY-OTHER"])
    rnd.close()
    client.force_login(lead)
    for url in (
        reverse("surveys:tribe-dashboard", args=[tribe.slug]),
        reverse("surveys:squad", args=[small.slug]),
        reverse("surveys:squad-trends", args=[small.slug]),
        reverse("surveys:tribe-comments", args=[tribe.slug]),
        reverse("surveys:tribe-export", args=[tribe.slug]),
    ):
        assert "TINY-" not in client.get(url).content.decode(), url
    squad_page = client.get(reverse("surveys:squad", args=[small.slug])).content.decode()
    assert "light-red" not in squad_page.split("How to read this")[0]
    trends = client.get(reverse("surveys:squad-trends", args=[small.slug]))
    assert f"Score by round: {rnd.title} not enough votes." in trends.content.decode()
    assert chart(trends, "chart-radar")["data"][-1]["r"][0] is None
    rows = client.get(reverse("surveys:tribe-export", args=[tribe.slug])).content.decode().splitlines()
    small_row = next(r for r in rows if r.startswith(f"{rnd.title},Small,{cards[0].name}"))
    assert small_row.endswith("fewer than 3 answered,,,") and ",red," not in small_row
    tribe_row = next(r for r in rows if ",Tribe (" in r and cards[0].name in r)
    assert "1 of 2 squads" in tribe_row and "2.00" in tribe_row  # only the squad that reached k


# Redirects and hosts


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "/\\evil.example/", "http:evil.example"]
)
def test_sign_in_never_redirects_off_site(client, alice, target):
    response = client.post("/accounts/login/", {"login": "alice", "password": "password", "next": target})
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_a_bad_host_header_gets_400(client, settings, db):
    settings.ALLOWED_HOSTS = ["health.example.com"]
    assert client.get("/accounts/login/", HTTP_HOST="evil.example").status_code == 400
    assert client.get("/accounts/login/", HTTP_HOST="health.example.com").status_code == 200


# Content Security Policy


def test_every_html_response_has_a_strict_csp_with_a_nonce(client, world, lead, poisoned):
    client.force_login(lead)
    urls = [
        u
        for name, u in every_url(world).items()
        if name
        not in (
            "round-open",
            "round-extend",
            "round-delete",
            "invite-new",
            "invite-revoke",
            "card-change",
            "action-done",
            "action-delete",
            "tribe-export",
        )
    ]
    urls += ["/", "/coach/", "/manage/", "/accounts/reminders/", "/healthz", "/no-such-page/"]
    for url in urls:
        response = client.get(url)
        policy = response["Content-Security-Policy"]
        script_src = re.search(r"script-src ([^;]+)", policy).group(1)
        assert re.search(r"'nonce-[A-Za-z0-9+/=]{16,}'", script_src), url
        assert "unsafe-inline" not in script_src and "unsafe-eval" not in script_src, url
        nonce = re.search(r"'nonce-([^']+)'", script_src).group(1)
        for tag in re.findall(r"<script(?![^>]*application/json)[^>]*>", response.content.decode()):
            assert f'nonce="{nonce}"' in tag, (url, tag)
