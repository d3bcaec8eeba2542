from datetime import time as dt_time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
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
    OVERFLOWED = "overflowed", "Overflowed to the fallback team"
    SKILLS = "skills", "Required skills changed"
    # Issue 30: a room re-routed because its agent did not answer in time, and an SLA
    # target breached (per target: the statistics count them by (action, at)).
    RING_MISSED = "ring_missed", "Re-routed: no answer"
    SLA_FIRST = "sla_first", "First-response target breached"
    SLA_RESOLVE = "sla_resolve", "Resolution target breached"


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
    # The team whose queue the room was in (per-team rates and overflow counts), and for
    # a move between teams the team it went to.
    team_id = ObjectIdField(null=True, blank=True)
    to_team_id = ObjectIdField(null=True, blank=True)

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


# --- Teams, skills, business hours (issue 15) ---------------------------------------------
#
# Routing's view of these (who is in which team, who holds which skill, each team's
# schedule) is read whole and cached per process (``agents.directory``); every save or
# delete here tells the processes to read it again (``agents.receivers``).


def validate_timezone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"Unknown time zone {value!r} (an IANA name, e.g. Europe/Paris)."
        ) from None


skill_name = RegexValidator(
    r"^[a-z0-9][a-z0-9_-]{0,39}$", "Lowercase letters, digits, - and _ (at most 40)."
)


class Team(models.Model):
    """A queue of its own and the agents who serve it. Outside its business hours (its
    ``TeamHours`` in ``time_zone``, minus its ``TeamHoliday`` days; no hours at all means
    always open) its queue waits for the next opening. A room waiting longer than
    ``overflow_after_seconds`` moves to ``fallback`` (when that team is open)."""

    name = models.CharField(max_length=80, unique=True)
    description = models.CharField(max_length=200, blank=True, default="")
    listed = models.BooleanField(
        default=True, help_text="Offered to customers in the page's topic picker."
    )
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_timezone],
        help_text="The business hours' time zone (IANA, e.g. Europe/Paris).",
    )
    offline_message = models.TextField(
        blank=True, default="", help_text="What a customer who writes outside the hours reads."
    )
    overflow_after_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text="Waiting longer than this moves a room to the fallback."
    )
    fallback = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        help_text="The team that takes this team's overflow.",
    )
    # Issue 30: per-team timers (null: the setting's default; 0: off) and where the
    # messages left while the team is closed are e-mailed (blank: nobody).
    ring_no_answer_seconds = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Re-route a room whose agent has not answered within this (empty: the "
        "default RING_NO_ANSWER_SECONDS; 0: never).",
    )
    first_response_seconds = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="First-response target (empty: SLA_FIRST_RESPONSE_SECONDS; 0: none).",
    )
    resolution_seconds = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Resolution target (empty: SLA_RESOLUTION_SECONDS; 0: none).",
    )
    email = models.EmailField(
        blank=True, default="", help_text="Messages left while closed go here (blank: nobody)."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if (self.overflow_after_seconds is None) != (self.fallback_id is None):
            raise ValidationError("Give both an overflow time and a fallback team, or neither.")
        seen = {self.pk}
        fallback = self.fallback
        while fallback is not None:  # a chain of fallbacks must end: no room moves forever
            if fallback.pk in seen:
                raise ValidationError({"fallback": "The fallbacks would go round in a circle."})
            seen.add(fallback.pk)
            fallback = fallback.fallback


class TeamMember(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="members")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="team_memberships",
        limit_choices_to={"role": Role.AGENT},
    )

    class Meta:
        ordering = ["team", "agent"]
        constraints = [
            models.UniqueConstraint(fields=["team", "agent"], name="agents_team_member_once")
        ]

    def __str__(self) -> str:
        return f"{self.agent} in {self.team}"


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class TeamHours(models.Model):
    """One opening interval on one weekday, local time: [opens, closes); ``closes``
    00:00 is midnight at the end of the day. A night shift is two rows."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="hours")
    weekday = models.IntegerField(choices=Weekday.choices)
    opens = models.TimeField()
    closes = models.TimeField(help_text="00:00 is midnight at the end of the day.")

    class Meta:
        ordering = ["team", "weekday", "opens"]
        verbose_name_plural = "team hours"

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"

    def clean(self) -> None:
        if self.opens and self.closes and self.closes != dt_time(0) and self.closes <= self.opens:
            raise ValidationError("Closes after it opens (00:00 is midnight, the end of the day).")


class TeamHoliday(models.Model):
    """A day (in the team's time zone) the team is closed all day."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=80, blank=True, default="")

    class Meta:
        ordering = ["team", "date"]

    def __str__(self) -> str:
        return f"{self.date} {self.name}".strip()


class Skill(models.Model):
    """A skill agents hold and rooms may need (a language, a product)."""

    name = models.CharField(max_length=40, unique=True, validators=[skill_name])
    label = models.CharField(max_length=80, blank=True, default="")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AgentSkill(models.Model):
    """``agent`` holds ``skill``, at ``level`` (optional; a room that asks for a minimum
    level needs an agent with a level at least that)."""

    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="skills",
        limit_choices_to={"role": Role.AGENT},
    )
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="holders")
    level = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(10)]
    )

    class Meta:
        ordering = ["agent", "skill"]
        constraints = [
            models.UniqueConstraint(fields=["agent", "skill"], name="agents_agent_skill_once")
        ]

    def __str__(self) -> str:
        return f"{self.skill}{'' if self.level is None else f' ({self.level})'}"


class Topic(models.Model):
    """What the customer page offers to pick ("Billing", "Technical, in French"): the
    team a room goes to and the skills it needs. ``skills``: comma-separated names, each
    with an optional minimum level (``french, billing:2``)."""

    key = models.SlugField(max_length=40, unique=True)
    label = models.CharField(max_length=80)
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, null=True, blank=True, related_name="topics"
    )
    skills = models.CharField(max_length=200, blank=True, default="")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "label"]

    def __str__(self) -> str:
        return self.label

    def clean(self) -> None:
        from agents.skills import parse_requirements

        try:
            needs = parse_requirements(self.skills)
        except ValueError as exc:
            raise ValidationError({"skills": str(exc)}) from None
        known = set(
            Skill.objects.filter(name__in=[n["name"] for n in needs]).values_list("name", flat=True)
        )
        unknown = sorted({n["name"] for n in needs} - known)
        if unknown:
            raise ValidationError({"skills": f"No such skill: {', '.join(unknown)}."})


class OfflineMessage(models.Model):
    """What a customer left while their team was closed: an address to answer and a
    message (the message is also posted in the room). One per room."""

    room_id = ObjectIdField(unique=True)
    team = models.ForeignKey(
        Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    email = models.EmailField()
    message = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    # Issue 30: set once the team's address accepted the e-mail; the periodic hook
    # retries the unsent ones (a crash between the save and the send loses nothing).
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["emailed_at", "created_at"], name="offline_msg_unsent")]

    def __str__(self) -> str:
        return f"{self.email} ({self.created_at:%Y-%m-%d %H:%M})"


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
