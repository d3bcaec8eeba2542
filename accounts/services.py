"""Accounts: registration, sign-in and sign-out, status. Views and consumers call
these; nothing else writes users."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.contrib.auth import SESSION_KEY, authenticate, login, logout
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import HttpRequest
from django.utils import timezone

from accounts import (
    events,
    login_throttle,
    names,
    presence,
    registration_throttle,
    selectors,
    signals,
)
from accounts.exceptions import EmailTaken, InvalidCredentials, UsernameTaken
from accounts.models import Role, Status, User
from chat_project import budget
from chat_project.errors import NotFound, PermissionDenied, ValidationFailed


def user_create(
    *,
    username: str,
    email: str,
    password: str,
    display_name: str = "",
    role: str = Role.USER,
    max_chats: int | None = None,
    created_by: User | None = None,
) -> User:
    """Self-registration creates customers; only an admin creates agents and admins.
    ``created_by=None`` with another role is for trusted callers (commands, demo data)."""
    if role != Role.USER and created_by is not None and not created_by.is_admin:
        raise PermissionDenied("Only an admin can create agents and admins.")
    username = names.normalize_username(username)
    problems = user_name_problems(username=username, display_name=display_name, role=role)
    if "username" in problems:
        raise UsernameTaken(details={"fields": problems})
    if problems:
        raise ValidationFailed(
            "That name could pass for someone else's.", details={"fields": problems}
        )
    if email_problems(email=email):
        raise EmailTaken(details={"fields": {"email": [EMAIL_TAKEN]}})
    user = User(username=username, email=email.strip(), display_name=display_name, role=role)
    if max_chats is not None:
        user.max_chats = max_chats
    _set_checked_password(user, password)
    # The unique indexes on username and on the address (any case) decide races between
    # two registrations of the same name or address; two look-alike names registered in
    # the same instant both pass the check above (a window of milliseconds, which the
    # keys then show to the admin).
    try:
        user.save()
    except IntegrityError as exc:
        if "user_email_key_unique" in str(exc.__cause__ or exc):  # pymongo's, with the index
            raise EmailTaken(details={"fields": {"email": [EMAIL_TAKEN]}}) from None
        raise UsernameTaken(details={"fields": {"username": ["That username is taken."]}}) from None
    return user


def user_register(*, ip: str, created_by: User | None, **fields: Any) -> User:
    """``POST /api/auth/register``: a self-registration is charged to its client
    address (``accounts.registration_throttle``), an account an admin creates to the
    admin's request budget; then :func:`user_create`."""
    if created_by is None:
        registration_throttle.registration_reserve(ip=ip)
    else:
        budget.user_spend(user_id=created_by.pk)
    return user_create(created_by=created_by, **fields)


USERNAME_TAKEN = "That username is taken, or too close to an existing name."
EMAIL_TAKEN = "That e-mail address is taken."


def email_problems(*, email: str, exclude_pk: object = None) -> list[str]:
    """Messages for the ``email`` field: another account has this address, whatever its
    case (one read). Empty for no address: any number of accounts may have none."""
    holder = selectors.email_holder_pk(email)
    return [EMAIL_TAKEN] if holder is not None and holder != exclude_pk else []


DISPLAY_NAME_TAKEN = "Too close to another person's name."


def user_name_problems(
    *, username: str, display_name: str, role: str, exclude_pk: object = None
) -> dict[str, list[str]]:
    """The rules of ``accounts.names`` for a user about to have these names (the user
    ``exclude_pk`` is left out: a change of their own names). Field -> messages; empty
    when both names are free. Two reads (``selectors.users_holding_name_keys``)."""
    own = set(names.confusable_keys(username))
    shown = set(names.confusable_keys(display_name))
    staff = role in (Role.AGENT, Role.ADMIN)
    problems: dict[str, list[str]] = {}
    if names.has_invisible(display_name):
        problems["display_name"] = ["No control or invisible characters."]
    for other in selectors.users_holding_name_keys(sorted(own | shown)):
        if other.pk == exclude_pk:
            continue
        # Whose display names count: staff members' always; everyone's for new staff.
        their_shown = other.display_name_keys if (other.staff or staff) else frozenset()
        if own & (other.username_keys | their_shown):
            problems["username"] = [USERNAME_TAKEN]
        if shown & (other.username_keys | their_shown):
            problems["display_name"] = [DISPLAY_NAME_TAKEN]
    return problems


def login_account(identifier: str) -> str:
    """The username a sign-in names: ``identifier`` is a username (NFKC-normalised, as
    at registration) or, when it contains an ``@``, an e-mail address of any case (issue
    27: the reference frontend signs in by e-mail); an address no account has is then
    taken for a username (usernames may contain ``@``)."""
    if "@" in identifier:
        holder = selectors.user_by_email(identifier)
        if holder is not None:
            return holder.username
    return names.normalize_username(identifier)


def user_login(*, request: HttpRequest, username: str, password: str, ip: str) -> User:
    """Check the throttle, then the password; on success start a new session with a new
    key and CSRF token. ``username`` may be the account's e-mail address
    (:func:`login_account`); every limit counts the account, whichever was typed."""
    account = login_account(username)
    login_throttle.login_attempt_reserve(account=account, ip=ip)
    user = authenticate(request, username=account, password=password)
    if user is None:
        raise InvalidCredentials()
    login_throttle.login_attempt_succeeded(account=account, ip=ip)
    _session_rotate(request)
    login(request, user)
    User.objects.filter(pk=user.pk).update(last_seen_at=timezone.now())
    return user


def _session_rotate(request: HttpRequest) -> None:
    """End a signed-in session before a sign-in (issue 28: signing in again as the same
    user kept its key: Django's ``login`` cycles the key only for an anonymous session,
    and flushes it only for another user's). ``login`` then starts the new one; the old
    key stops working and its sockets close, as on logout."""
    signed_in = request.session.get(SESSION_KEY)
    old_key = request.session.session_key
    if signed_in is None:
        return
    request.session.flush()
    if old_key:
        events.session_ended(user_id=signed_in, session_key=old_key)


def user_logout(*, request: HttpRequest) -> None:
    """End the session; that session's sockets are closed (``auth.revoked``)."""
    session_key = request.session.session_key
    user_id = request.user.pk
    logout(request)  # flushes the session: its key no longer authenticates anything
    if session_key and user_id is not None:
        events.session_ended(user_id=user_id, session_key=session_key)


def user_set_status(*, user: User, status: str, accepting_chats: bool | None = None) -> User:
    if status not in Status.values:
        raise ValidationFailed(details={"fields": {"status": [f"One of {Status.values}."]}})
    if accepting_chats is not None and not user.is_agent:
        raise PermissionDenied("Only agents have an accepting-chats switch.")
    changes: dict = {"status": status, "last_seen_at": timezone.now()}
    if accepting_chats is not None:
        changes["accepting_chats"] = accepting_chats
    User.objects.filter(pk=user.pk).update(**changes)
    for field, value in changes.items():
        setattr(user, field, value)
    events.user_status_changed(user=user, online=presence.is_online(str(user.pk)))
    if user.is_agent:
        signals.agent_availability_changed.send(sender=User, user=user)
    return user


def user_set_status_by_admin(
    *, actor: User, user_id: object, status: str, accepting_chats: bool | None = None
) -> User:
    """An admin sets another user's chosen status (and an agent's accepting switch), as
    the user would themself (``user_set_status``: clients hear it, routing drains)."""
    if not actor.is_admin:
        raise PermissionDenied("Only an admin sets another user's status.")
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise NotFound("No such user.")
    if accepting_chats is not None and not user.is_agent:
        raise ValidationFailed(
            "Only agents have an accepting-chats switch.",
            details={"fields": {"accepting_chats": ["Agents only."]}},
        )
    return user_set_status(user=user, status=status, accepting_chats=accepting_chats)


def _set_checked_password(user: User, password: str) -> None:
    """Django's password validators, then the hash; a weak one is ``validation_error``."""
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationFailed(
            "The password is too weak.", details={"fields": {"password": exc.messages}}
        ) from None
    user.set_password(password)


def user_set_password(*, user: User, password: str) -> None:
    """Change a password; every socket of the user closes (``auth.revoked``)."""
    _set_checked_password(user, password)
    user_update(user=user, fields=["password"])


# What ends a user's sockets when it changes: a session must not outlive the rights it
# was opened with (issue 28: a deactivated user's socket kept sending; a demoted agent's
# socket kept its cached role and staff flag).
_ACCESS_FIELDS = ("is_active", "role", "password")


def access_change_reason(*, user: User, fields: Collection[str]) -> str | None:
    """Why saving ``fields`` of ``user`` (with their new values) ends the user's
    sockets, or None. Activating an account ends nothing."""
    if "is_active" in fields and not user.is_active:
        return "deactivated"
    if "role" in fields:
        return "role_changed"
    if "password" in fields:
        return "password_changed"
    return None


def user_delete(*, user: User) -> None:
    """Delete an account; every socket of the user, on every process, closes with 4401
    once it is gone (a reconnect finds no user behind the session)."""
    user_id = user.pk
    user.delete()
    events.user_access_changed(user_id=user_id, reason="deleted")


def user_update(*, user: User, fields: Collection[str]) -> User:
    """Write ``fields`` of an existing ``user`` (already set on it) alone, never a stale
    copy of the rest (routing moves ``active_chats`` meanwhile). If the change takes
    rights away (:func:`access_change_reason`), every socket of the user on every
    process closes with 4401 once the write is done: the Django admin's user and
    password forms, ``manage.py changepassword`` and the API come through here."""
    fields = set(fields)
    if "role" in fields:
        fields |= {"is_staff", "is_superuser"}  # derived from the role in User.save()
    if fields:
        user.save(update_fields=sorted(fields))
    reason = access_change_reason(user=user, fields=fields)
    if reason is not None:
        events.user_access_changed(user_id=user.pk, reason=reason)
    return user
