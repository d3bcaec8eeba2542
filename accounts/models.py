from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django_mongodb_backend.fields import ArrayField

from accounts import names


class Role(models.TextChoices):
    USER = "user", "Customer"
    AGENT = "agent", "Agent"
    ADMIN = "admin", "Admin"


class Status(models.TextChoices):
    """The status a person chose. Whether they are connected is presence (Redis
    leases, ``accounts.presence``): an ``online`` agent with no live socket is offline."""

    ONLINE = "online", "Online"
    AWAY = "away", "Away"
    BUSY = "busy", "Busy"
    OFFLINE = "offline", "Offline"


class SupportUserManager(UserManager):
    def create_superuser(self, username, email=None, password=None, **extra_fields):
        extra_fields.setdefault("role", Role.ADMIN)
        return super().create_superuser(username, email, password, **extra_fields)


class NameKeysField(ArrayField):
    """The confusable keys (``accounts.names``) of the field named ``source``, derived
    whenever the user is saved (with ``update_fields``, see ``User.save``). Never
    edited by hand; a multikey index finds clashes."""

    def __init__(self, *, source: str, **kwargs: Any) -> None:
        self.source = source
        kwargs.pop("base_field", None)
        kwargs.update(default=list, blank=True, editable=False)
        super().__init__(models.CharField(max_length=500), **kwargs)

    def deconstruct(self) -> tuple[Any, str, list[Any], dict[str, Any]]:
        name, _path, args, kwargs = super().deconstruct()
        for fixed in ("base_field", "default", "blank", "editable"):
            kwargs.pop(fixed, None)
        kwargs["source"] = self.source
        return name, "accounts.models.NameKeysField", args, kwargs

    def pre_save(self, model_instance: Any, add: bool) -> list[str]:
        keys = names.confusable_keys(getattr(model_instance, self.source) or "")
        setattr(model_instance, self.attname, keys)
        return keys


def email_key(email: str | None) -> str | None:
    """What makes two e-mail addresses the same account's: the address trimmed and
    lower-cased; None without one (any number of users may have none)."""
    key = (email or "").strip().lower()
    return key or None


class EmailKeyField(models.CharField):
    """:func:`email_key` of the user's ``email``, derived whenever the user is saved
    (with ``update_fields``, see ``User.save``). Never edited by hand; a unique partial
    index on it (addresses only, not None) keeps addresses unique whatever their case."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.update(max_length=254, null=True, blank=True, editable=False, default=None)
        super().__init__(**kwargs)

    def deconstruct(self) -> tuple[Any, str, list[Any], dict[str, Any]]:
        name, _path, args, kwargs = super().deconstruct()
        for fixed in ("max_length", "null", "blank", "editable", "default"):
            kwargs.pop(fixed, None)
        return name, "accounts.models.EmailKeyField", args, kwargs

    def pre_save(self, model_instance: Any, add: bool) -> str | None:
        key = email_key(model_instance.email)
        setattr(model_instance, self.attname, key)
        return key


class User(AbstractUser):
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.USER)
    display_name = models.CharField(max_length=80, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ONLINE)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    # Agents only. ``active_chats`` is the routing counter: reserved and released with
    # conditional single-document updates (agents.services); ``reconcile`` repairs it
    # from the rooms if a crash leaves it off.
    max_chats = models.PositiveIntegerField(default=5)
    accepting_chats = models.BooleanField(default=True)
    active_chats = models.IntegerField(default=0)
    last_assigned_at = models.DateTimeField(null=True, blank=True)
    # Look-alike names are refused (accounts.names); these find them with one query.
    username_keys = NameKeysField(source="username")
    display_name_keys = NameKeysField(source="display_name")
    # E-mail addresses are unique without regard to case (issue 27): the index below.
    email_key = EmailKeyField()

    objects = SupportUserManager()

    class Meta:
        ordering = ["username"]
        indexes = [
            models.Index(fields=["role", "username"], name="user_role_username"),
            models.Index(fields=["username_keys"], name="user_username_keys"),
            models.Index(fields=["display_name_keys"], name="user_display_name_keys"),
            # A sign-in by e-mail: the embedded server plans no read on the partial
            # index below (its filter adds $type), so this one serves it (mongod may use
            # either), with the username in the index.
            models.Index(fields=["email_key", "username"], name="user_email_key_username"),
        ]
        constraints = [
            # Partial: only users with an address ($gt "" holds for strings alone), so
            # any number may have none.
            models.UniqueConstraint(
                fields=["email_key"],
                condition=models.Q(email_key__gt=""),
                name="user_email_key_unique",
            ),
        ]

    def save(self, *args, **kwargs):
        # Admin role implies staff: support managers work in the Django admin.
        self.is_staff = self.is_superuser = self.role == Role.ADMIN
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            # A name saved alone still refreshes its keys.
            derived = {
                "username": "username_keys",
                "display_name": "display_name_keys",
                "email": "email_key",
            }
            extra = {derived[f] for f in update_fields if f in derived}
            kwargs["update_fields"] = sorted(set(update_fields) | extra)
        # Nothing is published from here (a review finding, issue 28): a change that
        # ends the user's sockets (deactivation, role, password) is saved through
        # ``accounts.services.user_update``, which publishes after the write.
        super().save(*args, **kwargs)

    @property
    def is_agent(self) -> bool:
        return self.role == Role.AGENT

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def name(self) -> str:
        return self.display_name or self.username

    def __str__(self) -> str:
        return self.username


class ClearedEmail(models.Model):
    """An e-mail address cleared from an account because an older account held the same
    address (migration 0003, which explains the choice): the record of what it did."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    email = models.CharField(max_length=254)
    kept_by = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    cleared_at = models.DateTimeField()

    class Meta:
        ordering = ["-cleared_at", "user"]

    def __str__(self) -> str:
        return f"{self.email} cleared from {self.user_id}"
