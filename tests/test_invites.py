"""Workshop links: a sign-in link leads members to their own ballot; an open link lets guests vote."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from surveys.models import Answer, Ballot, InviteLink, RateLimit, Result, Round, RoundSquad
from surveys.services import invite_create

from .factories import add_member, make_user
from .test_vote import ballot_data, vote_url


@pytest.fixture
def invite(open_round, squad, lead):
    """An open link to a squad of three members."""
    for _ in range(3):
        add_member(squad, make_user())
    return invite_create(round=open_round, squad=squad, created_by=lead, kind=InviteLink.Kind.OPEN)


@pytest.fixture
def signin_link(open_round, squad, lead):
    return invite_create(round=open_round, squad=squad, created_by=lead, kind=InviteLink.Kind.SIGN_IN)


def join(client: Client, invite: InviteLink):
    return client.get(reverse("surveys:join", args=[invite.token]))


def guest_url(invite: InviteLink) -> str:
    return reverse("surveys:guest-vote", args=[invite.round_id, invite.squad.slug])


def test_the_token_is_long_unguessable_and_not_stored(invite):
    head, mac = invite.token.split(".")
    assert head == str(invite.pk) and len(mac) == 43  # 256 bits
    assert mac not in str(InviteLink.objects.filter(pk=invite.pk).values().get())


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
    assert response.status_code == 410  # the link died with the squad's part
    assert set(Answer.objects.values_list("colour", flat=True)) == {"yellow"}


def test_a_squad_never_has_more_ballots_than_members(invite, cards):
    for _ in range(3):
        guest = Client()
        join(guest, invite)
        assert guest.post(guest_url(invite), ballot_data(cards)).status_code == 302
    late = Client()
    join(late, invite)
    response = late.post(guest_url(invite), ballot_data(cards))
    assert response.status_code == 409
    assert b"already has a ballot for each of its 3 members" in response.content
    assert Ballot.objects.count() == 3


def test_a_coach_shows_the_squads_link_and_gets_the_same_one_again(client, lead, open_round, squad):
    client.force_login(lead)
    url = reverse("surveys:invite-new", args=[open_round.pk])
    response = client.post(url, {"squad": squad.pk, "kind": "open"})
    invite = InviteLink.objects.get()
    assert response["Location"] == reverse("surveys:invite-detail", args=[invite.pk])
    page = client.get(response["Location"])
    assert b"<svg" in page.content and invite.token.encode() in page.content
    assert b"anyone holding it can vote once per browser" in page.content
    client.post(url, {"squad": squad.pk, "kind": "open"})  # links cannot be multiplied
    client.post(url, {"squad": squad.pk, "kind": "signin"})
    assert InviteLink.objects.count() == 2


@pytest.mark.parametrize("token", ["nonsense", "1.short", "999.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"])
def test_a_wrong_link_gets_a_clear_page(client, invite, token):
    response = client.get(reverse("surveys:join", args=[token]))
    assert response.status_code == 404
    assert b"This workshop link does not work" in response.content
    wrong_mac = invite.token[:-1] + ("A" if invite.token[-1] != "A" else "B")
    assert client.get(reverse("surveys:join", args=[wrong_mac])).status_code == 404


def test_a_revoked_link_stops_working_even_mid_vote(client, lead, invite, cards):
    guest = Client()
    join(guest, invite)
    client.force_login(lead)
    client.post(reverse("surveys:invite-revoke", args=[invite.pk]))
    assert b"This workshop link no longer works" in join(Client(), invite).content
    response = guest.post(guest_url(invite), ballot_data(cards))
    assert response.status_code == 410
    assert Ballot.objects.count() == 0


def test_a_link_of_a_closed_round_has_expired(invite):
    invite.round.close()
    response = join(Client(), invite)
    assert response.status_code == 410 and b"This workshop link no longer works" in response.content


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
    statuses = []
    for _ in range(3):
        guest = Client()
        join(guest, invite)
        statuses.append(guest.post(guest_url(invite), ballot_data(cards)).status_code)
    assert statuses == [302, 302, 429]
    assert Ballot.objects.count() == 2


def test_the_guest_page_needs_the_link_first(invite):
    response = Client().get(guest_url(invite))
    assert response.status_code == 403 and b"Open your workshop link first" in response.content


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
            client.post(
                reverse("surveys:invite-new", args=[open_round.pk]), {"squad": squad.pk, "kind": "signin"}
            ).status_code
            == 404
        )
    assert not InviteLink.objects.exists()
    client.force_login(coach)  # a squad coach invites to their own squad
    client.post(reverse("surveys:invite-new", args=[open_round.pk]), {"squad": squad.pk, "kind": "signin"})
    assert InviteLink.objects.count() == 1


def test_invites_are_only_for_open_rounds(client, lead, tribe, squad):
    from .factories import make_round

    draft = make_round(tribe, state=Round.State.DRAFT)
    client.force_login(lead)
    response = client.post(
        reverse("surveys:invite-new", args=[draft.pk]), {"squad": squad.pk, "kind": "open"}, follow=True
    )
    assert b"Workshop links are for open rounds." in response.content
    assert not InviteLink.objects.exists()


def test_behind_a_trusted_proxy_each_client_is_counted_apart(client, settings, invite):
    import ipaddress

    settings.RATE_LIMIT_INVITE_FAILURES = 2
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/24")]
    first = {"HTTP_X_FORWARDED_FOR": "203.0.113.7", "REMOTE_ADDR": "10.0.0.2"}
    for n in range(2):
        client.get(reverse("surveys:join", args=[f"{n}.guess"]), **first)
    assert client.get(reverse("surveys:join", args=["9.guess"]), **first).status_code == 429
    # Another client behind the same proxy is not slowed down by the first one's guesses,
    # and a client cannot pick its own address by sending the header itself.
    second = {"HTTP_X_FORWARDED_FOR": "203.0.113.7, 198.51.100.4", "REMOTE_ADDR": "10.0.0.2"}
    assert Client().get(reverse("surveys:join", args=[invite.token]), **second).status_code == 302


def test_forwarded_addresses_from_an_untrusted_client_change_nothing(settings, invite):
    import ipaddress

    settings.RATE_LIMIT_INVITE_FAILURES = 2
    settings.BEHIND_PROXY = True
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/24")]
    for n in range(3):  # a client rotating the header, not behind the trusted proxy
        Client().get(reverse("surveys:join", args=[f"{n}.guess"]), HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
    assert join(Client(), invite).status_code == 429  # all counted against its own REMOTE_ADDR


# One person, one ballot, whatever the path


def test_a_sign_in_link_leads_to_sign_in_and_the_members_own_ballot(client, alice, signin_link, cards):
    response = join(Client(), signin_link)
    vote = vote_url(signin_link.round, signin_link.squad)
    assert response.status_code == 302 and response["Location"] == vote
    assert Client().get(vote)["Location"].startswith(reverse("login"))
    client.force_login(alice)
    assert join(client, signin_link)["Location"] == vote


def test_a_sign_in_link_cannot_pad_a_squad(client, signin_link, cards, charlie):
    """Whoever holds the link but is not a member gets nothing to vote on."""
    assert Client().get(guest_url(signin_link)).status_code == 403  # no guest ballots at all
    client.force_login(charlie)
    join(client, signin_link)
    response = client.post(vote_url(signin_link.round, signin_link.squad), ballot_data(cards))
    assert response.status_code == 404
    assert not Ballot.objects.exists()


def test_a_member_who_opens_an_open_link_gets_their_own_ballot(client, alice, invite, cards):
    client.force_login(alice)
    response = join(client, invite)
    assert response["Location"] == vote_url(invite.round, invite.squad)
    client.post(response["Location"], ballot_data(cards, "green"))
    # Even straight to the guest page, the member is sent to their own ballot.
    assert client.get(guest_url(invite))["Location"] == vote_url(invite.round, invite.squad)
    assert client.post(guest_url(invite), ballot_data(cards, "red")).status_code == 302
    assert Ballot.objects.count() == 1
    assert set(Answer.objects.values_list("colour", flat=True)) == {"green"}


def test_the_maker_and_supporters_of_a_squad_cannot_vote_through_its_link(client, lead, coach, invite, cards):
    for person in (lead, coach):
        client.force_login(person)
        assert join(client, invite).status_code == 403
    assert not Ballot.objects.exists()


def test_a_link_dies_with_the_squads_part_and_with_its_makers_role(client, lead, invite, squad, cards):
    guest = Client()
    join(guest, invite)
    from surveys.models import TribeRole

    TribeRole.objects.filter(user=lead).delete()
    assert join(Client(), invite).status_code == 410
    assert guest.post(guest_url(invite), ballot_data(cards)).status_code == 410
    TribeRole.objects.create(user=lead, tribe=squad.tribe, role=TribeRole.Role.LEAD)
    RoundSquad.objects.get(round=invite.round, squad=squad).close()
    assert join(Client(), invite).status_code == 410


def test_results_say_how_many_ballots_came_through_an_open_link(client, lead, alice, invite, cards):
    for _ in range(2):
        guest = Client()
        join(guest, invite)
        guest.post(guest_url(invite), ballot_data(cards))
    client.force_login(alice)
    client.post(vote_url(invite.round, invite.squad), ballot_data(cards))
    invite.round.close()
    result = Result.objects.filter(round=invite.round, squad=invite.squad).first()
    assert (result.ballots, result.open_link_ballots) == (3, 2)
    client.force_login(lead)
    page = client.get(reverse("surveys:squad", args=[invite.squad.slug])).content.decode()
    assert "2 of these ballots came through an open workshop link" in page
    dashboard = client.get(
        reverse("surveys:tribe-dashboard", args=[invite.round.tribe.slug])
    ).content.decode()
    assert "2 through an open link" in dashboard


def test_the_guest_cookie_lasts_until_the_round_closes_and_can_be_forgotten(invite, cards):
    guest = Client()
    response = join(guest, invite)
    cookie = response.cookies["hc_guest"]
    lifetime = (invite.round.closes_at - invite.round.opens_at).total_seconds()
    assert 0 < int(cookie["max-age"]) <= lifetime and cookie["httponly"]
    saved = guest.post(guest_url(invite), ballot_data(cards), follow=True)
    assert b"Forget this browser" in saved.content
    forgotten = guest.post(reverse("surveys:guest-forget"))
    assert forgotten.cookies["hc_guest"].value == ""
    assert guest.get(guest_url(invite)).status_code == 403
    assert Ballot.objects.count() == 1  # the ballot stays counted


def test_a_guest_who_saves_sees_that_they_are_done_not_the_form_again(invite, cards):
    guest = Client()
    join(guest, invite)
    saved = guest.post(guest_url(invite), ballot_data(cards), follow=True)
    html = saved.content.decode()
    assert "Your ballot is saved" in html
    assert f"you answered {len(cards)} of {len(cards)} cards" in html
    closes = timezone.localtime(invite.round.closes_at)
    assert f"until {closes:%a} {closes.day} {closes:%b %Y, %H:%M} UTC" in html  # with its zone
    assert f'name="card-{cards[0].pk}-colour"' not in html and "Change my answers" in html
    # The way back leads to the ballot, with the answers kept.
    again = guest.get(guest_url(invite)).content.decode()
    assert (
        f'name="card-{cards[0].pk}-colour" id="id_card-{cards[0].pk}-colour_0" value="green" checked' in again
    )


def test_a_guest_chooses_swedish_on_the_guest_page_and_votes_in_it(invite, cards):
    guest = Client(HTTP_ACCEPT_LANGUAGE="en")
    join(guest, invite)
    page = guest.get(guest_url(invite)).content.decode()
    assert 'action="/language/"' in page and ">Svenska<" in page
    guest.post(reverse("surveys:language"), {"language": "sv", "next": guest_url(invite)})
    swedish = guest.get(guest_url(invite)).content.decode()
    assert 'lang="sv"' in swedish and "Spara mina svar" in swedish
    saved = guest.post(guest_url(invite), ballot_data(cards), follow=True).content.decode()
    assert "Din röstsedel är sparad" in saved and "Glöm den här webbläsaren" in saved
