"""People and squads of a tribe, run by its lead: add and invite, roles, moves, squads and their order.

Each write is one transaction with an audit row. Ballots hold no person, so nothing here touches
what anyone voted: moving or removing a person leaves every ballot where it was.
"""

from __future__ import annotations

import re
import smtplib

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.http import HttpRequest
from django.urls import reverse
from django.utils import translation
from django.utils.text import slugify
from django.utils.translation import gettext as _

from .accounts import invitation_path
from .audit import audit
from .models import AuditEvent, Profile, Squad, SquadRole, Tribe


class PeopleRejected(Exception):
    """A change to people or squads that cannot be made, with the reason in words."""


def _name(user: AbstractBaseUser) -> str:
    return user.get_full_name() or user.get_username()


def invitation_email(
    *, user: AbstractBaseUser, invited_by: AbstractBaseUser | None, tribe: Tribe | None
) -> EmailMessage:
    """The email that asks a new person to set their password. It says nothing about votes.

    It is written in the person's chosen language; someone who has not chosen one yet gets the
    language of the tribe that adds them."""
    chosen = Profile.objects.filter(user=user).values_list("language", flat=True).first()
    language = chosen or (tribe.language if tribe else settings.LANGUAGE_CODE)
    with translation.override(language):
        message = _invitation_email(user=user, invited_by=invited_by, tribe=tribe)
    message.extra_headers["Content-Language"] = language
    return message


def _invitation_email(
    *, user: AbstractBaseUser, invited_by: AbstractBaseUser | None, tribe: Tribe | None
) -> EmailMessage:
    uid, token = invitation_path(user)
    link = settings.SITE_URL + reverse("invitation", args=[uid, token])
    names = {"inviter": _name(invited_by) if invited_by else "", "tribe": tribe.name if tribe else ""}
    if invited_by and tribe:
        added = _("%(inviter)s has added you to the squad health check for %(tribe)s.") % names
    elif invited_by:
        added = _("%(inviter)s has added you to the squad health check.") % names
    elif tribe:
        added = _("You have been added to the squad health check for %(tribe)s.") % names
    else:
        added = _("You have been added to the squad health check.")
    body = (
        _("Hello %(name)s,") % {"name": user.first_name or user.get_username()}
        + "\n\n"
        + added
        + "\n\n"
        + _("Set your password here, and you are signed in:")
        + f"\n{link}\n\n"
        + _(
            "The link works once, for %(days)s days. Your username is %(username)s; "
            "you can also sign in with this email address. If the link has expired, ask for a new one on "
            "the sign-in page (%(url)s)."
        )
        % {
            "days": settings.INVITATION_DAYS,
            "username": user.get_username(),
            "url": settings.SITE_URL + reverse("account_reset_password"),
        }
        + "\n\n"
        + _("If you did not expect this email, you can ignore it.")
        + "\n"
    )
    return EmailMessage(_("You are invited to the squad health check"), body, None, [user.email])


def people_invite(
    *,
    users: list[AbstractBaseUser],
    invited_by: AbstractBaseUser | None = None,
    tribe: Tribe | None = None,
    request: HttpRequest | None = None,
) -> int:
    """Send each person with an email address an invitation, each audited; returns how many went out.

    A mail server that fails stops the sending, and says so; those not reached can be invited again.
    """
    sent = 0
    invitees = [u for u in users if u.email]
    if not invitees:
        return 0
    try:
        with get_connection() as connection:
            for user in invitees:
                connection.send_messages([invitation_email(user=user, invited_by=invited_by, tribe=tribe)])
                audit(
                    AuditEvent.Action.INVITATION_SENT, user.get_username(), request=request, actor=invited_by
                )
                sent += 1
    except (smtplib.SMTPException, OSError) as exc:
        raise InvitationsFailed(sent, len(invitees), str(exc)) from exc
    return sent


class InvitationsFailed(Exception):
    """The mail server refused or could not be reached: how many invitations went out of how many."""

    def __init__(self, sent: int, wanted: int, reason: str) -> None:
        super().__init__(
            _("%(sent)s of %(wanted)s invitations went out before the mail server failed: %(reason)s")
            % {"sent": sent, "wanted": wanted, "reason": reason}
        )
        self.sent, self.wanted = sent, wanted


def _username_for(email: str) -> str:
    """A free username from the address's local part: "nina", else "nina2", "nina3"…, in one query."""
    base = re.sub(r"[^a-z0-9._+-]", "", email.split("@")[0].lower())[:140] or "person"
    taken = {
        name.lower()
        for name in get_user_model()
        .objects.filter(username__istartswith=base)
        .values_list("username", flat=True)
    }
    return next(
        name for name in (base, *(f"{base}{n}" for n in range(2, len(taken) + 3))) if name not in taken
    )


def person_add(
    *,
    tribe: Tribe,
    email: str,
    full_name: str,
    squad: Squad,
    role: str,
    added_by: AbstractBaseUser,
    request: HttpRequest | None = None,
) -> tuple[AbstractBaseUser, bool]:
    """Give the person with this email a role in a squad of the tribe, making their account if need be.

    Returns the person and whether an invitation went out (to a new account, or one that never set
    a password). The page says the same either way, so it tells nobody whether an address had an
    account.
    """
    if squad.tribe_id != tribe.pk:
        raise PeopleRejected(_("Choose a squad of this tribe."))
    try:
        with transaction.atomic():
            # One add at a time per tribe, so two adds of the same new address make one account.
            Tribe.objects.select_for_update().get(pk=tribe.pk)
            user = _person_for(email=email, full_name=full_name, request=request)
            role_add(user=user, squad=squad, role=role, request=request)
    except IntegrityError:
        raise PeopleRejected(_("Someone else changed this person just now; try again.")) from None
    invite = not user.has_usable_password() and not user.socialaccount_set.exists()
    if invite:
        people_invite(users=[user], invited_by=added_by, tribe=tribe, request=request)
    return user, invite


def _person_for(*, email: str, full_name: str, request: HttpRequest | None) -> AbstractBaseUser:
    """The one active account with this address, or a new one."""
    User = get_user_model()
    matches = list(User.objects.filter(email__iexact=email, is_active=True)[:2])
    if len(matches) > 1:
        raise PeopleRejected(_("More than one account has this email address; ask staff to add the person."))
    if matches:
        return matches[0]
    first, _space, last = full_name.strip().partition(" ")
    user = User.objects.create_user(
        username=_username_for(email), email=email, first_name=first[:150], last_name=last[:150]
    )
    audit(AuditEvent.Action.ROLE_CHANGED, user.get_username(), request=request, change="account made")
    return user


def role_add(
    *, user: AbstractBaseUser, squad: Squad, role: str, request: HttpRequest | None = None
) -> SquadRole:
    if role not in SquadRole.Role.values:
        raise PeopleRejected(_("Choose member or coach."))
    try:
        with transaction.atomic():
            given = SquadRole.objects.create(user=user, squad=squad, role=role)
    except IntegrityError:
        raise PeopleRejected(
            _("%(person)s is %(role)s of %(squad)s already.")
            % {"person": _name(user), "role": SquadRole.Role(role).label.lower(), "squad": squad.name}
        ) from None
    audit(
        AuditEvent.Action.ROLE_CHANGED,
        f"{given.get_role_display()} of {squad}",
        request=request,
        person=user.get_username(),
        change="added",
    )
    return given


def role_move(*, role: SquadRole, to: Squad, request: HttpRequest | None = None) -> SquadRole:
    """Move a person's role to another squad of the same tribe (their ballots stay where they were)."""
    if to.tribe_id != role.squad.tribe_id:
        raise PeopleRejected(_("Choose a squad of this tribe."))
    if to.pk == role.squad_id:
        raise PeopleRejected(
            _("%(person)s is in %(squad)s already.") % {"person": _name(role.user), "squad": to.name}
        )
    before = role.squad
    try:
        with transaction.atomic():
            moved = SquadRole.objects.filter(pk=role.pk, squad=before).update(squad=to)
    except IntegrityError:
        raise PeopleRejected(
            _("%(person)s is %(role)s of %(squad)s already.")
            % {"person": _name(role.user), "role": role.get_role_display().lower(), "squad": to.name}
        ) from None
    if not moved:
        raise PeopleRejected(_("That role has changed meanwhile; look again."))
    role.squad = to
    audit(
        AuditEvent.Action.ROLE_CHANGED,
        f"{role.get_role_display()} of {to}",
        request=request,
        person=role.user.get_username(),
        change=f"moved from {before.name}",
    )
    return role


def role_remove(*, role: SquadRole, request: HttpRequest | None = None) -> None:
    if SquadRole.objects.filter(pk=role.pk).delete()[0]:
        audit(
            AuditEvent.Action.ROLE_CHANGED,
            f"{role.get_role_display()} of {role.squad}",
            request=request,
            person=role.user.get_username(),
            change="removed",
        )


def squad_create(*, tribe: Tribe, name: str, request: HttpRequest | None = None) -> Squad:
    name = name.strip()
    slug = slugify(name)[:60]
    if not slug:
        raise PeopleRejected(_("Give the squad a name with letters or digits."))
    if Squad.objects.filter(slug=slug).exists():
        slug = slugify(f"{tribe.slug}-{name}")[:60]
    try:
        with transaction.atomic():
            Tribe.objects.select_for_update().get(pk=tribe.pk)  # squads of a tribe are numbered one at a time
            last = Squad.objects.filter(tribe=tribe).aggregate(last=Max("position"))["last"]
            squad = Squad.objects.create(
                tribe=tribe, name=name, slug=slug, position=0 if last is None else last + 1
            )
    except IntegrityError:
        raise PeopleRejected(
            _("%(tribe)s has a squad called %(squad)s already, or its address is taken.")
            % {"tribe": tribe.name, "squad": name}
        ) from None
    audit(
        AuditEvent.Action.ORGANISATION_CHANGED, squad, request=request, change="squad made", tribe=tribe.name
    )
    return squad


def squad_rename(*, squad: Squad, name: str, request: HttpRequest | None = None) -> Squad:
    name, before = name.strip(), squad.name
    if not name:
        raise PeopleRejected(_("Give the squad a name."))
    try:
        with transaction.atomic():
            Squad.objects.filter(pk=squad.pk).update(name=name)
    except IntegrityError:
        raise PeopleRejected(
            _("%(tribe)s has a squad called %(squad)s already.") % {"tribe": squad.tribe.name, "squad": name}
        ) from None
    squad.name = name
    audit(AuditEvent.Action.ORGANISATION_CHANGED, squad, request=request, change=f"renamed from {before}")
    return squad


def squad_shift(*, squad: Squad, by: int, request: HttpRequest | None = None) -> None:
    """Move a squad one place earlier (by=-1) or later (by=1) in the tribe's order."""
    with transaction.atomic():
        Tribe.objects.select_for_update().get(pk=squad.tribe_id)
        order = list(Squad.objects.filter(tribe_id=squad.tribe_id).order_by("position", "name", "pk"))
        index = next(i for i, s in enumerate(order) if s.pk == squad.pk)
        target = index + by
        if not 0 <= target < len(order):
            return
        order[index], order[target] = order[target], order[index]
        for position, each in enumerate(order):
            if each.position != position:
                Squad.objects.filter(pk=each.pk).update(position=position)
    audit(
        AuditEvent.Action.ORGANISATION_CHANGED,
        squad,
        request=request,
        change="moved earlier" if by < 0 else "moved later",
    )
