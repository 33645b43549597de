"""Workshop invite links: voting without an account."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from surveys.models import Answer, Ballot, InviteLink, RateLimit, Round
from surveys.services import invite_create

from .factories import add_member, make_user
from .test_vote import ballot_data


@pytest.fixture
def invite(open_round, squad, lead):
    for _ in range(3):
        add_member(squad, make_user())
    return invite_create(round=open_round, squad=squad, created_by=lead)


def join(client: Client, invite: InviteLink):
    return client.get(reverse("surveys:join", args=[invite.token]))


def guest_url(invite: InviteLink) -> str:
    return reverse("surveys:guest-vote", args=[invite.round_id, invite.squad.slug])


def test_the_token_is_long_unguessable_and_not_stored(invite):
    head, mac = invite.token.split(".")
    assert head == str(invite.pk) and len(mac) == 43  # 256 bits
    assert mac not in str(InviteLink.objects.filter(pk=invite.pk).values().get())
    assert invite.cap == 3  # one ballot per member by default


def test_a_guest_joins_and_is_sent_to_a_clean_url_then_votes(invite, cards):
    guest = Client()
    response = join(guest, invite)
    assert response.status_code == 302
    assert response["Location"] == guest_url(invite)
    assert invite.token not in response["Location"]
    page = guest.get(guest_url(invite))
    assert page.status_code == 200 and b"answered <span data-answered-count>0</span> of 11" in page.content
    response = guest.post(guest_url(invite), ballot_data(cards), follow=True)
    assert b"Your ballot is saved: answered 11 of 11." in response.content
    assert Ballot.objects.count() == 1
    invite.refresh_from_db()
    assert invite.used == 1


def test_one_ballot_per_browser_changeable_until_close(invite, cards):
    guest = Client()
    join(guest, invite)
    guest.post(guest_url(invite), ballot_data(cards, "green"))
    guest.post(guest_url(invite), ballot_data(cards, "red"))
    join(guest, invite)  # the same browser opening the link again
    guest.post(guest_url(invite), ballot_data(cards, "yellow"))
    assert Ballot.objects.count() == 1
    assert set(Answer.objects.values_list("colour", flat=True)) == {"yellow"}
    invite.refresh_from_db()
    assert invite.used == 1
    invite.round.close()
    response = guest.post(guest_url(invite), ballot_data(cards, "green"))
    assert response.status_code == 409
    assert set(Answer.objects.values_list("colour", flat=True)) == {"yellow"}


def test_the_link_accepts_no_more_ballots_than_its_cap(invite, cards):
    for _ in range(3):
        guest = Client()
        join(guest, invite)
        guest.post(guest_url(invite), ballot_data(cards))
    late = Client()
    join(late, invite)
    response = late.post(guest_url(invite), ballot_data(cards))
    assert response.status_code == 409
    assert b"This invite link has already taken its 3 ballots." in response.content
    assert Ballot.objects.count() == 3


def test_a_coach_may_set_a_cap(client, lead, open_round, squad):
    client.force_login(lead)
    response = client.post(
        reverse("surveys:invite-new", args=[open_round.pk]), {"squad": squad.pk, "cap": 12}
    )
    invite = InviteLink.objects.get()
    assert response["Location"] == reverse("surveys:invite-detail", args=[invite.pk])
    assert invite.cap == 12
    page = client.get(response["Location"])
    assert b"<svg" in page.content and invite.token.encode() in page.content


@pytest.mark.parametrize("token", ["nonsense", "1.short", "999.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"])
def test_a_wrong_link_gets_a_clear_page(client, invite, token):
    response = client.get(reverse("surveys:join", args=[token]))
    assert response.status_code == 404
    assert b"This invite link does not work" in response.content
    wrong_mac = invite.token[:-1] + ("A" if invite.token[-1] != "A" else "B")
    assert client.get(reverse("surveys:join", args=[wrong_mac])).status_code == 404


def test_a_revoked_link_stops_working_even_mid_vote(client, lead, invite, cards):
    guest = Client()
    join(guest, invite)
    client.force_login(lead)
    client.post(reverse("surveys:invite-revoke", args=[invite.pk]))
    assert b"was withdrawn" in join(Client(), invite).content
    response = guest.post(guest_url(invite), ballot_data(cards))
    assert response.status_code == 410
    assert Ballot.objects.count() == 0


def test_a_link_of_a_closed_round_has_expired(invite):
    invite.round.close()
    response = join(Client(), invite)
    assert response.status_code == 410 and b"This health check has closed" in response.content


def test_guessing_tokens_is_answered_429(client, settings, invite):
    settings.RATE_LIMIT_INVITE_FAILURES = 5
    for n in range(5):
        assert client.get(reverse("surveys:join", args=[f"{n}.guess"])).status_code == 404
    response = client.get(reverse("surveys:join", args=["6.guess"]))
    assert response.status_code == 429 and response["Retry-After"]
    assert join(client, invite).status_code == 429  # even a right token, for a while
    assert RateLimit.objects.filter(key__startswith="invite-failures:").get().hits == 5
    other = Client(REMOTE_ADDR="10.1.2.3")
    assert join(other, invite).status_code == 302


def test_many_new_ballots_from_one_address_are_answered_429(settings, invite, cards):
    settings.RATE_LIMIT_GUEST_BALLOTS = 2
    invite.cap = 10
    invite.save()
    statuses = []
    for _ in range(3):
        guest = Client()
        join(guest, invite)
        statuses.append(guest.post(guest_url(invite), ballot_data(cards)).status_code)
    assert statuses == [302, 302, 429]
    assert Ballot.objects.count() == 2


def test_the_guest_page_needs_the_link_first(invite):
    response = Client().get(guest_url(invite))
    assert response.status_code == 403 and b"Open your invite link first" in response.content


def test_a_guest_reaches_nothing_beyond_voting(invite):
    guest = Client()
    join(guest, invite)
    squad, tribe = invite.squad, invite.round.tribe
    for url in (
        reverse("surveys:home"),
        reverse("surveys:squad", args=[squad.slug]),
        reverse("surveys:tribe-dashboard", args=[tribe.slug]),
        reverse("surveys:vote", args=[invite.round_id, squad.slug]),
        reverse("surveys:invite-detail", args=[invite.pk]),
    ):
        assert guest.get(url).status_code == 302, url  # to sign in
    other_squad_url = reverse("surveys:guest-vote", args=[invite.round_id, "another-squad"])
    assert guest.get(other_squad_url).status_code == 403


def test_only_coaches_and_leads_make_invites(client, alice, charlie, open_round, squad, coach):
    for person in (alice, charlie):
        client.force_login(person)
        assert (
            client.post(reverse("surveys:invite-new", args=[open_round.pk]), {"squad": squad.pk}).status_code
            == 404
        )
    assert not InviteLink.objects.exists()
    client.force_login(coach)  # a squad coach invites to their own squad
    client.post(reverse("surveys:invite-new", args=[open_round.pk]), {"squad": squad.pk})
    assert InviteLink.objects.count() == 1


def test_invites_are_only_for_open_rounds(client, lead, tribe, squad):
    from .factories import make_round

    draft = make_round(tribe, state=Round.State.DRAFT)
    client.force_login(lead)
    response = client.post(reverse("surveys:invite-new", args=[draft.pk]), {"squad": squad.pk}, follow=True)
    assert b"Invite links are for open rounds." in response.content
    assert not InviteLink.objects.exists()


def test_behind_a_load_balancer_each_client_is_counted_apart(client, settings, invite):
    settings.RATE_LIMIT_INVITE_FAILURES = 2
    settings.BEHIND_PROXY = True
    first = {"HTTP_X_FORWARDED_FOR": "203.0.113.7", "REMOTE_ADDR": "10.0.0.2"}
    for n in range(2):
        client.get(reverse("surveys:join", args=[f"{n}.guess"]), **first)
    assert client.get(reverse("surveys:join", args=["9.guess"]), **first).status_code == 429
    # Another client behind the same balancer is not slowed down by the first one's guesses,
    # and a client cannot pick its own address by sending the header itself.
    second = {"HTTP_X_FORWARDED_FOR": "203.0.113.7, 198.51.100.4", "REMOTE_ADDR": "10.0.0.2"}
    assert Client().get(reverse("surveys:join", args=[invite.token]), **second).status_code == 302


def test_without_a_load_balancer_forwarded_addresses_are_ignored(settings, invite):
    settings.RATE_LIMIT_INVITE_FAILURES = 2
    settings.BEHIND_PROXY = False
    for n in range(3):
        Client().get(reverse("surveys:join", args=[f"{n}.guess"]), HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
    assert join(Client(), invite).status_code == 429  # all from the same REMOTE_ADDR
