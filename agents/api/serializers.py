from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers

from chat.api.serializers import (
    MessageTextField,
    RequiredSkillSerializer,
    RoomOutputSerializer,
    StrictCharField,
    TeamBriefSerializer,
    UserBriefSerializer,
)
from chat_project.api import QuerySerializer

OBJECT_ID = r"^[0-9a-fA-F]{24}$"


class AssignAgentInputSerializer(serializers.Serializer):
    room_id = serializers.RegexField(r"^[0-9a-fA-F]{24}$")
    agent_id = serializers.RegexField(r"^[0-9a-fA-F]{24}$", required=False, allow_null=True)
    force = serializers.BooleanField(required=False, default=False)


class RemoveAgentInputSerializer(serializers.Serializer):
    room_id = serializers.RegexField(OBJECT_ID)
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        default="",
        help_text="What the customer reads (default: who removed whom).",
    )


class TransferInputSerializer(serializers.Serializer):
    """``to_agent_id`` or ``to_team_id`` (issue 15), exactly one
    (``TransferInputSchema``)."""

    room_id = serializers.RegexField(OBJECT_ID)
    to_agent_id = serializers.RegexField(OBJECT_ID, required=False)
    to_team_id = serializers.RegexField(
        OBJECT_ID, required=False, help_text="A team: its best free member, or its queue's head."
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")
    force = serializers.BooleanField(
        required=False, default=False, help_text="Admins, to an agent only."
    )

    def validate(self, attrs):
        if ("to_agent_id" in attrs) == ("to_team_id" in attrs):
            raise serializers.ValidationError("Give to_agent_id or to_team_id.")
        return attrs


class TransferInputSchema(OpenApiSerializerExtension):
    target_class = TransferInputSerializer

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        schema["oneOf"] = [{"required": ["to_agent_id"]}, {"required": ["to_team_id"]}]
        return schema


class QueueQuerySerializer(QuerySerializer):
    team_id = serializers.RegexField(OBJECT_ID, required=False, help_text="One team's queue.")


class RoomSkillsInputSerializer(serializers.Serializer):
    required_skills = RequiredSkillSerializer(many=True, max_length=10)


class LeaveMessageInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    message = MessageTextField()


class CannedListQuerySerializer(QuerySerializer):
    q = serializers.CharField(
        max_length=200, required=False, trim_whitespace=False, help_text="In shortcut or text."
    )
    room_id = serializers.RegexField(
        r"^[0-9a-fA-F]{24}$",
        required=False,
        help_text="A room you may see: each response gets `rendered` for it.",
    )


SHORTCUT_HELP = "1 to 32 letters, digits, _ or - (a leading / is dropped); stored casefolded."


class CannedCreateInputSerializer(serializers.Serializer):
    shortcut = StrictCharField(max_length=64, help_text=SHORTCUT_HELP)
    text = MessageTextField(help_text="Placeholders: {customer_name}, {agent_name}.")
    shared = serializers.BooleanField(
        required=False, default=False, help_text="Admins: shared with every agent."
    )


class CannedUpdateInputSerializer(serializers.Serializer):
    shortcut = StrictCharField(max_length=64, required=False, help_text=SHORTCUT_HELP)
    text = MessageTextField(required=False)


# --- Output shapes, for the OpenAPI schema only (the payloads of chat.assignment) -------------


class AssignedOutputSerializer(serializers.Serializer):
    """The ``room-assigned`` payload."""

    room_id = serializers.CharField()
    seq = serializers.IntegerField()
    agent = UserBriefSerializer()
    reason = serializers.CharField()
    room = RoomOutputSerializer()


class TransferredOutputSerializer(serializers.Serializer):
    """The ``room-transferred`` payload; a transfer to a team adds ``to_team`` and
    ``queued`` (true: nobody there was free, the room waits at the head of the team's
    queue, ``to_agent`` null)."""

    room_id = serializers.CharField()
    seq = serializers.IntegerField()
    from_agent = UserBriefSerializer(allow_null=True)
    to_agent = UserBriefSerializer(allow_null=True)
    note = serializers.CharField(
        allow_blank=True, help_text="Echoed to the caller; stored as a private note."
    )
    forced = serializers.BooleanField()
    by = UserBriefSerializer()
    room = RoomOutputSerializer()
    to_team = TeamBriefSerializer(required=False)
    queued = serializers.BooleanField(required=False)


class RemovedOutputSerializer(serializers.Serializer):
    """The ``system-message`` of the removal, and the room as it now is (waiting, or
    already with another agent)."""

    room_id = serializers.CharField()
    seq = serializers.IntegerField()
    text = serializers.CharField()
    from_agent = UserBriefSerializer()
    reason = serializers.CharField()
    room = RoomOutputSerializer()


class QueuedRoomOutputSerializer(RoomOutputSerializer):
    team = TeamBriefSerializer(allow_null=True, help_text="Its queue's team; null: general.")
    estimated_wait_seconds = serializers.IntegerField(
        allow_null=True, help_text="null: no assignment in the rate window (no basis)."
    )


class QueuePageSerializer(serializers.Serializer):
    results = QueuedRoomOutputSerializer(many=True)
    next = serializers.CharField(allow_null=True, help_text="Always null: one page.")


class CannedOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    shortcut = serializers.CharField()
    text = serializers.CharField()
    shared = serializers.BooleanField()
    owner = UserBriefSerializer(allow_null=True, help_text="null: shared.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    rendered = serializers.CharField(required=False, help_text="With room_id: filled in.")


class CannedPageSerializer(serializers.Serializer):
    results = CannedOutputSerializer(many=True)
    next = serializers.CharField(allow_null=True, help_text="Always null: one page.")


class TeamOutputSerializer(TeamBriefSerializer):
    description = serializers.CharField(allow_blank=True)
    open = serializers.BooleanField(help_text="Within its business hours now.")
    next_open_at = serializers.DateTimeField(allow_null=True)
    offline_message = serializers.CharField(allow_blank=True, help_text="While closed.")
    listed = serializers.BooleanField(required=False, help_text="Agents and admins.")
    time_zone = serializers.CharField(required=False)
    always_open = serializers.BooleanField(required=False)
    overflow_after_seconds = serializers.IntegerField(required=False, allow_null=True)
    fallback_id = serializers.CharField(required=False, allow_null=True)
    ring_no_answer_seconds = serializers.IntegerField(
        required=False, allow_null=True, help_text="Null: RING_NO_ANSWER_SECONDS; 0: off."
    )
    first_response_seconds = serializers.IntegerField(
        required=False, allow_null=True, help_text="Null: SLA_FIRST_RESPONSE_SECONDS; 0: none."
    )
    resolution_seconds = serializers.IntegerField(
        required=False, allow_null=True, help_text="Null: SLA_RESOLUTION_SECONDS; 0: none."
    )
    email = serializers.CharField(
        required=False, allow_blank=True, help_text="Admins only: offline messages go here."
    )
    members = UserBriefSerializer(many=True, required=False)


class TeamPageSerializer(serializers.Serializer):
    results = TeamOutputSerializer(many=True)
    next = serializers.CharField(allow_null=True, help_text="Always null: one page.")


class TopicTeamSerializer(TeamBriefSerializer):
    open = serializers.BooleanField()


class TopicOutputSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    team = TopicTeamSerializer(allow_null=True)
    required_skills = RequiredSkillSerializer(many=True)


class TopicPageSerializer(serializers.Serializer):
    results = TopicOutputSerializer(many=True)
    next = serializers.CharField(allow_null=True, help_text="Always null: one page.")


class OfflineMessageOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    room_id = serializers.CharField()
    team_id = serializers.CharField(allow_null=True)
    email = serializers.CharField()
    message = serializers.CharField()
    created_at = serializers.DateTimeField()
    emailed_at = serializers.DateTimeField(allow_null=True, help_text="Null: not sent yet.")


class OfflineMessagePageSerializer(serializers.Serializer):
    results = OfflineMessageOutputSerializer(many=True)
    next = serializers.CharField(allow_null=True, help_text="Always null: the newest 100.")
