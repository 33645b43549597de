"""A tribe's people and squads, run by its lead at /manage/tribes/<slug>/people/."""

from __future__ import annotations

import socket

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from surveys.models import AuditEvent, Ballot, Squad, SquadRole, TribeRole

from .factories import add_member, add_tribe_role, cast, make_past_round, make_squad, make_tribe, make_user


def page(tribe) -> str:
    return reverse("surveys:people", args=[tribe.slug])


@pytest.fixture
def fraud(tribe):
    return make_squad(tribe, "Fraud")


@pytest.fixture
def as_lead(client, lead):
    client.force_login(lead)
    return client


def audited(change: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(detail__change=change))


def test_a_lead_adds_a_new_person_who_is_invited(as_lead, tribe, squad):
    response = as_lead.post(
        page(tribe),
        {
            "action": "add",
            "email": "Nina.Berg@example.com",
            "full_name": "Nina Berg",
            "squad": squad.pk,
            "role": "member",
        },
        follow=True,
    )
    assert "is now squad member of Checkout" in response.content.decode()
    nina = get_user_model().objects.get(email="Nina.Berg@example.com")
    assert (nina.username, nina.first_name, nina.last_name) == ("nina.berg", "Nina", "Berg")
    assert not nina.has_usable_password()
    assert SquadRole.objects.filter(user=nina, squad=squad, role="member").exists()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["Nina.Berg@example.com"]
    assert "has added you to the squad health check for Payments" in mail.outbox[0].body
    assert len(audited("account made")) == 1 and len(audited("added")) == 1
    # The page lists her with the invitation still open, and can send it again.
    assert "has not set a password yet" in response.content.decode()
    as_lead.post(page(tribe), {"action": "invite", "person": nina.pk})
    assert len(mail.outbox) == 2


def test_adding_someone_with_an_account_gives_the_role_and_says_the_same(as_lead, tribe, squad, charlie):
    new = as_lead.post(
        page(tribe),
        {"action": "add", "email": "new@example.com", "squad": squad.pk, "role": "coach"},
        follow=True,
    )
    known = as_lead.post(
        page(tribe),
        {"action": "add", "email": "CHARLIE@example.com", "squad": squad.pk, "role": "coach"},
        follow=True,
    )
    said = lambda response: [str(m).split(" is now")[1] for m in response.context["messages"]]  # noqa: E731
    assert said(new) == said(known)
    assert SquadRole.objects.filter(user=charlie, squad=squad, role="coach").exists()
    assert [m.to for m in mail.outbox] == [["new@example.com"]]  # charlie has a password: no invitation
    assert get_user_model().objects.filter(email__iexact="charlie@example.com").count() == 1


def test_bad_input_is_shown_again_with_its_reason(as_lead, tribe, squad, alice):
    twice = as_lead.post(
        page(tribe), {"action": "add", "email": "alice@example.com", "squad": squad.pk, "role": "member"}
    )
    assert twice.status_code == 400 and "is squad member of Checkout already" in twice.content.decode()
    assert 'value="alice@example.com"' in twice.content.decode()
    wrong = as_lead.post(
        page(tribe), {"action": "add", "email": "not-an-address", "squad": squad.pk, "role": "member"}
    )
    assert wrong.status_code == 400 and "That is not an email address." in wrong.content.decode()
    assert SquadRole.objects.filter(user=alice).count() == 1


def test_moving_and_removing_people_leaves_every_ballot_where_it_was(
    as_lead, tribe, squad, fraud, cards, alice
):
    rnd = make_past_round(tribe)
    cast(rnd, squad, cards[0], "ggy")
    rnd.close()
    before = list(Ballot.objects.values_list("pk", "squad_id", "voter_key").order_by("pk"))
    role = SquadRole.objects.get(user=alice, squad=squad)
    as_lead.post(page(tribe), {"action": "move", "role": role.pk, "squad": fraud.pk})
    assert SquadRole.objects.get(pk=role.pk).squad == fraud
    assert audited("moved from Checkout")[0].detail["person"] == "alice"
    as_lead.post(page(tribe), {"action": "remove", "role": role.pk})
    assert not SquadRole.objects.filter(user=alice).exists()
    assert len(audited("removed")) == 1
    assert list(Ballot.objects.values_list("pk", "squad_id", "voter_key").order_by("pk")) == before


def test_a_lead_creates_renames_and_reorders_squads(as_lead, tribe, squad, fraud):
    as_lead.post(page(tribe), {"action": "squad-add", "name": "Payouts"})
    payouts = Squad.objects.get(name="Payouts")
    assert payouts.tribe == tribe and list(Squad.objects.filter(tribe=tribe)) == [squad, fraud, payouts]
    as_lead.post(page(tribe), {"action": "squad-up", "squad": payouts.pk})
    assert list(Squad.objects.filter(tribe=tribe)) == [squad, payouts, fraud]
    as_lead.post(page(tribe), {"action": "squad-rename", "squad": payouts.pk, "name": "Pay-outs"})
    assert Squad.objects.get(pk=payouts.pk).name == "Pay-outs"
    clash = as_lead.post(page(tribe), {"action": "squad-rename", "squad": payouts.pk, "name": "Fraud"})
    assert clash.status_code == 400 and "has a squad called Fraud already" in clash.content.decode()
    again = as_lead.post(page(tribe), {"action": "squad-add", "name": "Checkout"})
    assert again.status_code == 400 and Squad.objects.filter(name="Checkout").count() == 1
    changes = [
        e.detail["change"] for e in AuditEvent.objects.filter(action=AuditEvent.Action.ORGANISATION_CHANGED)
    ]
    assert sorted(changes) == ["moved earlier", "renamed from Payouts", "squad made"]


def test_tribe_coaches_read_the_page_and_change_nothing(client, tribe, squad, alice):
    coach = make_user("tribe-coach")
    add_tribe_role(tribe, coach, TribeRole.Role.COACH)
    client.force_login(coach)
    response = client.get(page(tribe))
    assert response.status_code == 200 and "alice" in response.content.decode()
    assert "Add a person" not in response.content.decode()
    role = SquadRole.objects.get(user=alice)
    assert client.post(page(tribe), {"action": "remove", "role": role.pk}).status_code == 403
    assert SquadRole.objects.filter(pk=role.pk).exists()


def test_outsiders_get_404(client, tribe, squad, alice, charlie):
    other = make_tribe("Platform")
    other_lead = make_user("other-lead")
    add_tribe_role(other, other_lead, TribeRole.Role.LEAD)
    role = SquadRole.objects.get(user=alice)
    for person in (other_lead, alice, charlie):
        client.force_login(person)
        assert client.get(page(tribe)).status_code == 404
        assert client.post(page(tribe), {"action": "remove", "role": role.pk}).status_code == 404
    # A lead of another tribe cannot reach this tribe's people through their own page either.
    client.force_login(other_lead)
    make_squad(other, "Infra")
    assert client.post(page(other), {"action": "remove", "role": role.pk}).status_code == 404
    assert client.post(page(other), {"action": "move", "role": role.pk, "squad": squad.pk}).status_code == 404
    assert SquadRole.objects.filter(pk=role.pk, squad=squad).exists()


def test_the_page_runs_a_fixed_number_of_queries(as_lead, tribe):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert as_lead.get(page(tribe)).status_code == 200
        return len(captured)

    for _ in range(2):
        add_member(make_squad(tribe), make_user())
    few = queries()
    for _ in range(4):
        add_member(make_squad(tribe), make_user())
    assert queries() == few


def test_invitations_are_audited(as_lead, tribe, squad):
    as_lead.post(
        page(tribe), {"action": "add", "email": "nina@example.com", "squad": squad.pk, "role": "member"}
    )
    event = AuditEvent.objects.get(action=AuditEvent.Action.INVITATION_SENT)
    assert event.target == "nina" and event.actor.username == "lead"


def test_a_mail_server_that_does_not_answer_loses_nothing(as_lead, tribe, squad, settings):
    with socket.socket() as probe:  # a port on loopback that nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS, settings.EMAIL_TIMEOUT = (
        "127.0.0.1",
        port,
        False,
        2,
    )
    response = as_lead.post(
        page(tribe),
        {"action": "add", "email": "nina@example.com", "squad": squad.pk, "role": "member"},
        follow=True,
    )
    assert response.status_code == 200 and "the invitation could not be sent" in response.content.decode()
    assert SquadRole.objects.filter(user__email="nina@example.com", squad=squad).exists()
    nina = get_user_model().objects.get(email="nina@example.com")
    again = as_lead.post(page(tribe), {"action": "invite", "person": nina.pk})
    assert again.status_code == 400 and "could not be sent" in again.content.decode()


def test_odd_ids_are_a_404_not_an_error(as_lead, tribe):
    for field in ("role", "squad", "person"):
        for value in ("²", "1e3", "-1", "9" * 40, ""):
            action = {"role": "remove", "squad": "squad-up", "person": "invite"}[field]
            assert as_lead.post(page(tribe), {"action": action, field: value}).status_code == 404, (
                field,
                value,
            )


def test_a_squad_needs_a_name_in_the_form_and_in_the_database(as_lead, tribe, squad):
    for action, extra in (("squad-add", {}), ("squad-rename", {"squad": squad.pk})):
        response = as_lead.post(page(tribe), {"action": action, "name": "   ", **extra})
        assert response.status_code == 400 and "Give the squad a name" in response.content.decode()
    assert Squad.objects.get(pk=squad.pk).name == "Checkout"
    with pytest.raises(IntegrityError), transaction.atomic():
        Squad.objects.filter(pk=squad.pk).update(name="  ")


def test_new_usernames_do_not_clash(as_lead, tribe, squad):
    make_user("nina")
    make_user("nina2")
    for address in ("nina@corp.example", "NINA@other.example"):
        as_lead.post(page(tribe), {"action": "add", "email": address, "squad": squad.pk, "role": "member"})
    made = get_user_model().objects.filter(email__in=["nina@corp.example", "NINA@other.example"])
    assert sorted(made.values_list("username", flat=True)) == ["nina3", "nina4"]
