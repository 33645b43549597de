"""Import tribes, squads, people and roles from a CSV file: tribe,squad,username,email,role."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.text import slugify

from surveys.audit import audit
from surveys.models import AuditEvent, Squad, SquadRole, Tribe, TribeRole
from surveys.people import InvitationsFailed, people_invite
from surveys.services import tribe_create

COLUMNS = ["tribe", "squad", "username", "email", "role"]
ROLES = {
    "member": ("squad", SquadRole.Role.MEMBER),
    "coach": ("squad", SquadRole.Role.COACH),
    "squad-coach": ("squad", SquadRole.Role.COACH),
    "tribe-coach": ("tribe", TribeRole.Role.COACH),
    "lead": ("tribe", TribeRole.Role.LEAD),
    "tribe-lead": ("tribe", TribeRole.Role.LEAD),
}


@dataclass(frozen=True)
class Row:
    line: int
    tribe: str
    squad: str
    username: str
    email: str
    role: str


class DryRun(Exception):
    """Raised to roll back everything a dry run did."""


def read_rows(path: Path) -> list[Row]:
    """Read and check every line; any problem stops the import before anything is written."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc.strerror}") from None
    problems, rows, emails = [], [], {}
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise CommandError(
                f"line 1: missing column(s) {', '.join(missing)}; expected {','.join(COLUMNS)}"
            )
        for record in reader:
            line = reader.line_num
            values = {c: (record.get(c) or "").strip() for c in COLUMNS}
            row = Row(line=line, **values)
            role = row.role.lower()
            if not row.tribe:
                problems.append(f"line {line}: the tribe is empty")
            if not row.username:
                problems.append(f"line {line}: the username is empty")
            else:
                try:
                    UnicodeUsernameValidator()(row.username)
                except ValidationError:
                    problems.append(f"line {line}: {row.username!r} is not a valid username")
            if row.email:
                try:
                    validate_email(row.email)
                except ValidationError:
                    problems.append(f"line {line}: {row.email!r} is not a valid email address")
                if emails.setdefault(row.username, row.email) != row.email:
                    problems.append(
                        f"line {line}: {row.username} has two different email addresses in the file"
                    )
            if role not in ROLES:
                problems.append(f"line {line}: unknown role {row.role!r}; use one of {', '.join(ROLES)}")
            elif ROLES[role][0] == "squad" and not row.squad:
                problems.append(f"line {line}: a {role} needs a squad")
            elif row.squad and not slugify(row.squad):
                problems.append(f"line {line}: the squad name {row.squad!r} has no letters or digits")
            rows.append(Row(line=line, **{**values, "role": role}))
    if not rows and not problems:
        problems.append("the file has no rows")
    if problems:
        raise CommandError("\n".join(problems))
    return rows


class Command(BaseCommand):
    help = (
        "Create or update tribes, squads, people and roles from a CSV file (tribe,squad,username,email,role)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="Print what would change, write nothing.")
        parser.add_argument(
            "--invite",
            action="store_true",
            help="Email each person made by this run a link to set their password.",
        )
        parser.add_argument(
            "--language",
            choices=[code for code, _name in settings.LANGUAGES],
            default=settings.LANGUAGE_CODE,
            help="The language of the tribes this run makes: their deck, round titles and chat messages.",
        )

    def handle(
        self, *args, file: Path, dry_run: bool, invite: bool = False, language: str = "", **options
    ) -> None:
        self.language = language or settings.LANGUAGE_CODE
        rows = read_rows(file)
        self.changes: list[str] = []
        self.made: list = []
        try:
            with transaction.atomic():
                self._apply(rows)
                if dry_run:
                    raise DryRun
        except DryRun:
            pass
        for change in self.changes:
            self.stdout.write(change)
        verb = "would change" if dry_run else "changed"
        self.stdout.write(
            f"{len(self.changes)} {verb}{' (dry run: nothing was written)' if dry_run else ''}."
        )
        if invite and not dry_run:
            try:
                sent = people_invite(users=self.made)
            except InvitationsFailed as exc:
                raise CommandError(
                    f"{exc}. Those not reached can be invited again from the people page."
                ) from None
            without = sum(1 for user in self.made if not user.email)
            self.stdout.write(
                f"{sent} invitation{'s' if sent != 1 else ''} sent"
                + (
                    f"; {without} new {'people have' if without != 1 else 'person has'} no email address."
                    if without
                    else "."
                )
            )

    def _apply(self, rows: list[Row]) -> None:
        User = get_user_model()
        tribes: dict[str, Tribe] = {}
        squads: dict[tuple[str, str], Squad] = {}
        for row in rows:
            tribe = tribes.get(row.tribe)
            if tribe is None:
                tribe = Tribe.objects.filter(name=row.tribe).first()
                if tribe is None:
                    slug = slugify(row.tribe)
                    if not slug or Tribe.objects.filter(slug=slug).exists():
                        raise CommandError(
                            f"line {row.line}: cannot make a unique address for tribe {row.tribe!r}"
                        )
                    tribe = tribe_create(name=row.tribe, slug=slug, language=self.language)
                    self.changes.append(f"+ tribe {tribe.name}")
                tribes[row.tribe] = tribe

            user = User.objects.filter(username=row.username).first()
            if user is None:
                user = User.objects.create_user(username=row.username, email=row.email)
                self.changes.append(f"+ person {user.username}")
                self.made.append(user)
            elif row.email and user.email != row.email:
                self.changes.append(
                    f"~ person {user.username}: email {user.email or '(none)'} -> {row.email}"
                )
                user.email = row.email
                user.save(update_fields=["email"])

            kind, role = ROLES[row.role]
            if kind == "tribe":
                _, created = TribeRole.objects.get_or_create(user=user, tribe=tribe, role=role)
                if created:
                    self.changes.append(f"+ {user.username} is {role.label.lower()} of {tribe.name}")
                    audit(
                        AuditEvent.Action.ROLE_CHANGED, f"{role.label} of {tribe}", person=user, via="import"
                    )
                continue

            squad = squads.get((row.tribe, row.squad))
            if squad is None:
                squad = Squad.objects.filter(tribe=tribe, name=row.squad).first()
                if squad is None:
                    slug = slugify(row.squad)
                    other = Squad.objects.filter(slug=slug).select_related("tribe").first()
                    if other is not None:
                        raise CommandError(
                            f"line {row.line}: squad {row.squad!r} clashes with {other.name!r} of {other.tribe.name}"
                        )
                    squad = Squad.objects.create(
                        tribe=tribe,
                        name=row.squad,
                        slug=slug,
                        position=Squad.objects.filter(tribe=tribe).count(),
                    )
                    self.changes.append(f"+ squad {squad.name} in {tribe.name}")
                squads[(row.tribe, row.squad)] = squad
            _, created = SquadRole.objects.get_or_create(user=user, squad=squad, role=role)
            if created:
                self.changes.append(f"+ {user.username} is {role.label.lower()} of {squad.name}")
                audit(AuditEvent.Action.ROLE_CHANGED, f"{role.label} of {squad}", person=user, via="import")
