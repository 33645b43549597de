"""Sign-in for real organisations: invitations, password reset, sign-in by emailed code, and their audit."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from surveys.accounts import invitation_tokens
from surveys.models import AuditEvent
from surveys.people import people_invite

from .factories import make_user
from .test_import import SAMPLE, write

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://\S+")


def link_in(message) -> str:
    return LINK.search(message.body).group(0).replace("http://127.0.0.1:8000", "")


def new_person(username: str = "nina", email: str = "nina@example.com"):
    return get_user_model().objects.create_user(username=username, email=email)


def sign_ins(method: str) -> int:
    return AuditEvent.objects.filter(action=AuditEvent.Action.SIGNED_IN, detail__method=method).count()


# Invitations


def test_import_invites_the_people_it_makes(db, tmp_path, capsys):
    make_user("ana")  # already here: not invited again
    call_command("import_org", str(write(tmp_path, SAMPLE)), "--invite")
    assert "4 invitations sent." in capsys.readouterr().out
    assert sorted(m.to[0] for m in mail.outbox) == [
        "ben@example.com",
        "cleo@example.com",
        "dara@example.com",
        "eli@example.com",
    ]
    for message in mail.outbox:
        assert "/accounts/invitation/" in message.body
        assert "vote" not in message.body.lower() and "ballot" not in message.body.lower()
    mail.outbox.clear()
    call_command("import_org", str(write(tmp_path, SAMPLE)), "--invite")  # a second run makes nobody
    assert mail.outbox == []


def test_an_invitation_sets_the_password_and_signs_in_once(client):
    person = new_person()
    people_invite(users=[person])
    link = link_in(mail.outbox[0])
    landing = client.get(link)
    assert (
        landing.status_code == 302 and "set-password" in landing["Location"]
    )  # the token leaves the address
    page = client.get(landing["Location"])
    assert b"Choose a password" in page.content and b"nina" in page.content
    mismatched = client.post(landing["Location"], {"new_password1": "Tr0ub4dor&3x", "new_password2": "other"})
    assert mismatched.status_code == 200 and b"didn" in mismatched.content  # the two fields didn't match
    done = client.post(
        landing["Location"], {"new_password1": "Tr0ub4dor&3x", "new_password2": "Tr0ub4dor&3x"}
    )
    assert done.status_code == 302 and done["Location"] == reverse("surveys:home")
    person.refresh_from_db()
    assert person.check_password("Tr0ub4dor&3x")
    assert client.get(reverse("surveys:home")).status_code == 200
    assert sign_ins("invitation") == 1
    # The same link a second time is spent.
    again = Client().get(link)
    assert again.status_code == 404 and b"does not work" in again.content


def test_an_invitation_expires(client, settings):
    person = new_person()
    people_invite(users=[person])
    link = link_in(mail.outbox[0])
    later = timezone.now() + timedelta(days=settings.INVITATION_DAYS, hours=1)
    with mock.patch.object(invitation_tokens, "_now", return_value=later.replace(tzinfo=None)):
        expired = client.get(link)
    assert expired.status_code == 404 and b"has expired" in expired.content
    assert client.get(link).status_code == 302  # still good before the week is out


def test_a_forged_invitation_does_not_work(client):
    person = new_person()
    uid = reverse("invitation", args=["zz", "set-password"])
    assert client.get(uid).status_code == 404
    _, token = mail.outbox or (None, invitation_tokens.make_token(person))
    other = new_person("otto", "otto@example.com")
    forged = reverse("invitation", args=[format(other.pk, "x"), token])
    assert client.get(forged).status_code == 404
    assert not get_user_model().objects.get(pk=other.pk).has_usable_password()


# Password reset


def test_password_reset_by_email_and_its_link_works_once(client, settings):
    person = make_user("alice")
    response = client.post(reverse("account_reset_password"), {"email": "alice@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["alice@example.com"]
    assert "vote" not in mail.outbox[0].body.lower()
    link = link_in(mail.outbox[0])
    form_page = client.get(link, follow=True)
    action = form_page.redirect_chain[-1][0] if form_page.redirect_chain else link
    changed = client.post(action, {"password1": "N3w-pass-phrase", "password2": "N3w-pass-phrase"})
    assert changed.status_code == 302
    person.refresh_from_db()
    assert person.check_password("N3w-pass-phrase")
    reused = Client().get(link, follow=True)
    assert b"This link does not work" in reused.content


def test_reset_does_not_say_whether_an_address_has_an_account(client):
    make_user("alice")
    known = client.post(reverse("account_reset_password"), {"email": "alice@example.com"}, follow=True)
    unknown = client.post(reverse("account_reset_password"), {"email": "nobody@example.com"}, follow=True)
    assert known.status_code == unknown.status_code == 200
    strip = lambda html: re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"|nonce="[^"]+"', b"", html)  # noqa: E731
    assert strip(known.content) == strip(unknown.content)
    assert b"If that address belongs to an account" in known.content


def test_an_expired_reset_link_does_not_work(client, settings):
    make_user("alice")
    client.post(reverse("account_reset_password"), {"email": "alice@example.com"})
    link = link_in(mail.outbox[0])
    settings.PASSWORD_RESET_TIMEOUT = -1
    assert b"This link does not work" in client.get(link, follow=True).content


# Sign-in by password and by code


def test_people_sign_in_by_username_or_email_and_it_is_audited(client):
    make_user("alice")
    for login in ("alice", "alice@example.com"):
        response = Client().post(reverse("login"), {"login": login, "password": "password"})
        assert response.status_code == 302, login
    assert sign_ins("password") == 2


def test_the_sign_in_page_lists_the_ways_to_sign_in(client, settings):
    page = client.get(reverse("login")).content.decode()
    assert "Forgot your password?" in page and "sign-in code" not in page and "Sign in with" not in page
    settings.ACCOUNT_LOGIN_BY_CODE_ENABLED = True
    assert "Email me a sign-in code instead" in client.get(reverse("login")).content.decode()


def test_sign_in_by_emailed_code(client, settings):
    settings.ACCOUNT_LOGIN_BY_CODE_ENABLED = True
    make_user("alice")
    response = client.post(reverse("account_request_login_code"), {"email": "alice@example.com"})
    assert response.status_code == 302
    code = re.search(r"\b([A-Z0-9]{4}-[A-Z0-9]{4})\b", mail.outbox[0].body).group(1)
    assert "vote" not in mail.outbox[0].body.lower()
    wrong = client.post(reverse("account_confirm_login_code"), {"code": "WRON-G111"})
    assert wrong.status_code == 200
    signed_in = client.post(reverse("account_confirm_login_code"), {"code": code})
    assert signed_in.status_code == 302
    assert client.get(reverse("surveys:home")).status_code == 200
    assert sign_ins("emailed code") == 1


def test_the_code_is_off_unless_switched_on(client):
    make_user("alice")
    response = client.post(reverse("account_request_login_code"), {"email": "alice@example.com"})
    assert response.status_code == 404 and mail.outbox == []


def test_nobody_signs_up_on_their_own(client):
    response = client.post(
        reverse("account_signup"),
        {
            "username": "mallory",
            "email": "m@example.com",
            "password1": "x-Y-z-123456",
            "password2": "x-Y-z-123456",
        },
    )
    assert b"Ask your tribe lead to add you" in response.content
    assert not get_user_model().objects.filter(username="mallory").exists()


def test_pages_the_app_does_not_offer_answer_404(client, alice):
    client.force_login(alice)
    assert client.get("/accounts/email/").status_code == 404
    assert client.get("/accounts/3rdparty/").status_code == 404


@pytest.fixture
def alice(db):
    return make_user("alice")


def test_the_templates_are_ours(client):
    for name in ("login", "account_reset_password"):
        assert b"bootstrap.min.css" in client.get(reverse(name)).content, name
    assert Path(__file__).exists()


def test_failed_sign_ins_count_against_the_account_however_it_is_typed(client, settings):
    make_user("alice")
    ways = ["alice", "ALICE", "alice@example.com", "Alice@Example.com"]
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        typed = ways[attempt % len(ways)]
        Client(REMOTE_ADDR=f"198.51.100.{attempt + 1}").post(
            reverse("login"), {"login": typed, "password": "wrong"}
        )
    locked = Client(REMOTE_ADDR="198.51.100.99").post(
        reverse("login"), {"login": "alice@EXAMPLE.com", "password": "password"}
    )
    assert locked.status_code == 429


def test_pages_that_would_set_a_password_without_proof_answer_404(client):
    person = make_user("nina")
    person.set_unusable_password()
    person.save()
    client.force_login(person)
    for path in (
        "/accounts/password/set/",
        "/accounts/confirm-email/",
        "/accounts/reauthenticate/",
        "/accounts/3rdparty/signup/",
    ):
        assert client.get(path).status_code == 404, path
        assert (
            client.post(path, {"password1": "x-Y-z-98765", "password2": "x-Y-z-98765"}).status_code == 404
        ), path
    person.refresh_from_db()
    assert not person.has_usable_password()


def test_a_reset_for_an_unknown_address_sends_nothing(client):
    client.post(reverse("account_reset_password"), {"email": "nobody@example.com"})
    assert mail.outbox == []
