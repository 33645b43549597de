"""Production settings, sign-in throttling, the audit log and the data lifecycle."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import OperationalError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from healthcheck import settings as project_settings
from surveys.models import Answer, AuditEvent, Ballot, Result, Round, SquadRole

from .factories import cast, make_past_round, make_user
from .test_settings import ROOT

PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "q8Xv!t2#Lr0b9Zs$Wm4e&Kp7Uy1Nc6Hd3Gf5Jh8Bw0Vx2Tz4Qa6Sd8Fg0Hj2Kl4",
    "BALLOT_SECRET": "Yh3kP0-vQ9sN2mW7xR4tZ1cL8bF6gD5jA0eU3iO7yT2",
    "ALLOWED_HOSTS": "health.example.com",
    "HSTS_PRELOAD": "true",
}


def production_env() -> dict[str, str]:
    """The documented production variables, and nothing the test run itself set."""
    dropped = (
        "DEBUG",
        "SECRET_KEY",
        "BALLOT_SECRET",
        "HTTPS",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
        "DJANGO_SETTINGS_MODULE",
    )
    return {k: v for k, v in os.environ.items() if k not in dropped} | PRODUCTION


def test_the_deploy_check_is_clean_with_the_production_variables():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_uses_host_only_secure_cookies_and_argon2():
    script = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME, s.SESSION_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, "
        "s.PASSWORD_HASHERS[0].rsplit('.', 1)[1])"
    )
    env = production_env() | {"DJANGO_SETTINGS_MODULE": "healthcheck.settings"}
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == [
        "__Host-sessionid",
        "__Host-csrftoken",
        "True",
        "31536000",
        "Argon2PasswordHasher",
    ]
    assert project_settings.database_from_url("postgres://u@h/db")["CONN_HEALTH_CHECKS"] is True


def test_security_headers(client, db):
    response = client.get(reverse("login"))
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_healthz_answers_ok_after_asking_the_database(client, db, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = client.get("/healthz")
    assert response.status_code == 200 and response.content == b"ok"


def test_healthz_says_when_the_database_is_down(client, db, monkeypatch):
    from healthcheck import views

    class Unreachable:
        def cursor(self):
            raise OperationalError("connection refused")

    monkeypatch.setattr(views, "connection", Unreachable())
    response = client.get("/healthz")
    assert response.status_code == 503


def test_a_lost_database_answers_503_not_500(client, alice, monkeypatch):
    client.raise_request_exception = False
    client.force_login(alice)
    from surveys.views import vote

    def boom(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(vote, "render", boom)
    response = client.get(reverse("surveys:home"))
    assert response.status_code == 503 and response["Retry-After"] == "5"


# Sign-in throttling


def sign_in(client: Client, username: str, password: str):
    return client.post(reverse("login"), {"login": username, "password": password})


@pytest.mark.parametrize("username", ["alice", "nobody-by-this-name"])
def test_sign_in_is_throttled_the_same_whether_the_account_exists(client, alice, settings, username):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, username, "wrong").status_code == 200
    locked = sign_in(client, username, "wrong")
    assert locked.status_code == 429
    assert b"Too many sign-in attempts" in locked.content
    assert sign_in(client, username, "password").status_code == 429  # even the right password, for now


def test_a_successful_sign_in_resets_the_count(client, alice, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "alice", "wrong")
    assert sign_in(client, "alice", "password").status_code == 302
    client.logout()
    assert sign_in(client, "alice", "wrong").status_code == 200


# The audit log


def test_sign_ins_and_failures_are_audited(client, alice):
    sign_in(client, "alice", "wrong")
    sign_in(client, "alice", "password")
    events = list(AuditEvent.objects.order_by("at").values_list("action", "target", "actor_name"))
    assert events == [("auth.sign_in_failed", "alice", ""), ("auth.signed_in", "alice", "alice")]
    # The method is recorded; what was typed as a password never is.
    details = list(AuditEvent.objects.order_by("at").values_list("detail", flat=True))
    assert details == [{}, {"method": "password"}]


def test_round_and_deck_changes_are_audited(client, lead, tribe, cards, open_round):
    client.force_login(lead)
    client.post(reverse("surveys:round-close", args=[open_round.pk]))
    client.post(reverse("surveys:card-change", args=[cards[2].pk]), {"action": "retire"})
    actions = set(AuditEvent.objects.filter(actor=lead).values_list("action", "target"))
    assert ("round.closed", open_round.title) in actions
    assert ("deck.changed", cards[2].name) in actions


def test_role_changes_in_the_admin_are_audited(client, squad, alice):
    staff = make_user("root", is_staff=True, is_superuser=True)
    client.force_login(staff)
    role = SquadRole.objects.get(user=alice)
    client.post(reverse("admin:surveys_squadrole_delete", args=[role.pk]), {"post": "yes"})
    event = AuditEvent.objects.get(action="role.changed")
    assert event.actor == staff and event.detail["change"] == "deleted" and "Checkout" in event.target


def test_denied_access_is_audited(client, charlie, tribe):
    client.force_login(charlie)
    client.get(reverse("surveys:tribe-dashboard", args=[tribe.slug]))
    client.get(reverse("surveys:tribe-dashboard", args=["no-such-tribe"]))  # nothing there: nothing to audit
    denied = list(AuditEvent.objects.filter(action="access.denied").values_list("actor_name", "target"))
    assert denied == [("charlie", f"/tribes/{tribe.slug}/")]


def test_voting_is_never_audited(client, alice, open_round, squad, cards):
    from .test_vote import ballot_data, vote_url

    client.force_login(alice)
    client.post(vote_url(open_round, squad), ballot_data(cards))
    assert not AuditEvent.objects.exclude(action__startswith="auth.").exists()


def test_staff_read_the_audit_log_but_cannot_change_it(client, alice):
    AuditEvent.objects.create(action="role.changed", target="alice", actor_name="someone")
    staff = make_user("root", is_staff=True, is_superuser=True)
    client.force_login(staff)
    assert client.get(reverse("admin:surveys_auditevent_changelist")).status_code == 200
    event = AuditEvent.objects.get(target="alice")
    assert (
        client.post(reverse("admin:surveys_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert client.get(reverse("admin:surveys_auditevent_add")).status_code == 403


# The data lifecycle


def test_deleting_a_person_keeps_the_anonymous_results(tribe, squad, cards, alice):
    rnd = make_past_round(tribe)
    cast(rnd, squad, cards[0], "gyr")
    rnd.close()
    before = (
        Ballot.objects.count(),
        Answer.objects.count(),
        list(Result.objects.values_list("voters", "score")),
    )
    get_user_model().objects.filter(pk=alice.pk).delete()
    assert (
        Ballot.objects.count(),
        Answer.objects.count(),
        list(Result.objects.values_list("voters", "score")),
    ) == before


def test_purge_comments_removes_old_text_and_keeps_the_aggregates(tribe, squad, cards, capsys):
    old = make_past_round(tribe, "Old", days_ago=400)
    cast(old, squad, cards[0], "gyr", comments=["old one", "old two", ""])
    old.close()
    recent = make_past_round(tribe, "Recent", days_ago=20)
    cast(recent, squad, cards[0], "ggg", comments=["fresh"])
    recent.close()
    results = list(Result.objects.order_by("id").values_list("voters", "greens", "score"))
    call_command("purge_comments", "--older-than", "365")
    assert "Removed the text of 2 comments." in capsys.readouterr().out
    assert sorted(Answer.objects.exclude(comment="").values_list("comment", flat=True)) == ["fresh"]
    assert list(Result.objects.order_by("id").values_list("voters", "greens", "score")) == results
    assert Round.objects.filter(closes_at__lt=timezone.now() - timedelta(days=365)).count() == 1


def test_pages_are_compressed_for_browsers_that_ask(client, alice, squad):
    client.force_login(alice)
    page = client.get(reverse("surveys:home"), HTTP_ACCEPT_ENCODING="gzip, br")
    assert page["Content-Encoding"] == "gzip" and "Accept-Encoding" in page["Vary"]
    plain = client.get(reverse("surveys:home"))
    assert "Content-Encoding" not in plain and b"My health checks" in plain.content
