from django.conf import settings
from django.db import models
from django.utils import timezone
from django_mongodb_backend.fields import ObjectIdField

from accounts.models import Role, SupportUserManager, User


class RoutingAction(models.TextChoices):
    ASSIGNED = "assigned", "Assigned"
    FORCED = "forced", "Assigned past capacity"
    TRANSFERRED = "transferred", "Transferred"
    REQUEUED = "requeued", "Back to the queue"
    RECONCILED = "reconciled", "Load counter repaired"


class RoutingAudit(models.Model):
    """Every assignment, transfer, re-route, forced assignment and counter repair:
    who did it, when, from whom, to whom and why. Written after the change it records
    (a crash in between loses the row, never the change)."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=12, choices=RoutingAction.choices)
    room_id = ObjectIdField(null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    from_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    to_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reason = models.CharField(max_length=200, blank=True, default="")
    note = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["action", "at"], name="routing_audit_action_at")]

    def __str__(self) -> str:
        return f"{self.action} {self.room_id} at {self.at:%Y-%m-%d %H:%M:%S}"


# The support manager's view of agents in the Django admin (``agents/admin.py``): a proxy
# of the user model, no collection of its own, only agents listed.
class AgentManager(SupportUserManager):
    def get_queryset(self):
        return super().get_queryset().filter(role=Role.AGENT)


class Agent(User):
    objects = AgentManager()

    class Meta:
        proxy = True
        ordering = ["username"]
        verbose_name = "agent"
        verbose_name_plural = "agents"


class CannedResponse(models.Model):
    """A saved answer an agent inserts by typing ``/shortcut`` in the console, with
    placeholders (``{customer_name}``, ``{agent_name}``) filled in for the room
    (``agents.selectors.canned_render``).

    ``owner`` null: shared, managed by admins, offered to every agent; otherwise the
    owner's own (an agent's or an admin's). ``scope`` is ``"shared"`` or the owner's
    id, so that a shortcut is unique among the shared ones and among each owner's
    (a personal one may shadow a shared one of the same name)."""

    SHARED = "shared"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    scope = models.CharField(max_length=24, editable=False)
    shortcut = models.CharField(max_length=32)
    text = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["shortcut", "scope"]
        constraints = [
            # Enforcement only: lists are read by scope (a handful of documents).
            models.UniqueConstraint(fields=["scope", "shortcut"], name="canned_scope_shortcut"),
        ]

    def __str__(self) -> str:
        return f"/{self.shortcut}"

    @property
    def shared(self) -> bool:
        return self.owner_id is None
