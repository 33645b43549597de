"""Organisation import from CSV."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from surveys.models import HealthCard, Squad, SquadRole, Tribe, TribeRole

SAMPLE = """tribe,squad,username,email,role
Payments,Checkout,ana,ana@example.com,member
Payments,Checkout,ben,ben@example.com,member
Payments,Checkout,cleo,cleo@example.com,coach
Payments,,dara,dara@example.com,lead
Payments,,eli,eli@example.com,tribe-coach
Discovery,Search,ana,ana@example.com,member
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "org.csv"
    path.write_text(text, encoding="utf-8")
    return path


def counts() -> tuple[int, ...]:
    return (
        Tribe.objects.count(),
        Squad.objects.count(),
        get_user_model().objects.count(),
        SquadRole.objects.count(),
        TribeRole.objects.count(),
    )


def test_it_imports_an_organisation(db, tmp_path, capsys):
    call_command("import_org", str(write(tmp_path, SAMPLE)))
    assert counts() == (2, 2, 5, 4, 2)
    assert HealthCard.objects.filter(tribe__name="Payments").count() == 11  # a new tribe gets the deck
    assert SquadRole.objects.filter(user__username="cleo", role="coach").exists()
    assert TribeRole.objects.filter(user__username="dara", role="lead").exists()
    assert "+ tribe Payments" in capsys.readouterr().out


def test_a_second_run_changes_nothing(db, tmp_path, capsys):
    path = write(tmp_path, SAMPLE)
    call_command("import_org", str(path))
    before = counts()
    capsys.readouterr()
    call_command("import_org", str(path))
    assert counts() == before
    assert "0 changed." in capsys.readouterr().out


def test_it_updates_an_email(db, tmp_path, capsys):
    call_command("import_org", str(write(tmp_path, SAMPLE)))
    call_command("import_org", str(write(tmp_path, SAMPLE.replace("ben@example.com", "ben@new.example"))))
    assert get_user_model().objects.get(username="ben").email == "ben@new.example"
    assert "~ person ben: email ben@example.com -> ben@new.example" in capsys.readouterr().out


def test_a_dry_run_writes_nothing(db, tmp_path, capsys):
    call_command("import_org", str(write(tmp_path, SAMPLE)), "--dry-run")
    assert counts() == (0, 0, 0, 0, 0)
    out = capsys.readouterr().out
    assert "+ squad Checkout in Payments" in out and "dry run: nothing was written" in out


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("Payments,Checkout,fay,fay@example.com,boss", "line 8: unknown role 'boss'"),
        ("Payments,,fay,fay@example.com,member", "line 8: a member needs a squad"),
        ("Payments,Checkout,fay,not-an-email,member", "line 8: 'not-an-email' is not a valid email address"),
        (",Checkout,fay,fay@example.com,member", "line 8: the tribe is empty"),
        ("Payments,Checkout,fay bad,fay@example.com,member", "line 8: 'fay bad' is not a valid username"),
        ("Payments,Checkout,ana,other@example.com,member", "line 8: ana has two different email addresses"),
        (
            "Discovery,Checkout,fay,fay@example.com,member",
            "line 8: squad 'Checkout' clashes with 'Checkout' of Payments",
        ),
    ],
)
def test_a_bad_line_is_named_and_nothing_changes(db, tmp_path, line, message):
    with pytest.raises(CommandError, match=message):
        call_command("import_org", str(write(tmp_path, SAMPLE + line + "\n")))
    assert counts() == (0, 0, 0, 0, 0)


def test_missing_columns_are_named(db, tmp_path):
    with pytest.raises(CommandError, match="missing column"):
        call_command("import_org", str(write(tmp_path, "tribe,squad\nPayments,Checkout\n")))


def test_tribes_made_in_swedish_get_the_swedish_deck(db, tmp_path):
    call_command("import_org", str(write(tmp_path, SAMPLE)), "--language", "sv")
    payments = Tribe.objects.get(name="Payments")
    assert payments.language == "sv"
    assert payments.cards.order_by("position").first().name == "Lätt att släppa"
    with pytest.raises(CommandError):
        call_command("import_org", str(write(tmp_path, SAMPLE)), "--language", "xx")
