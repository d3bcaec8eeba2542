from rest_framework import serializers

from chat.api.serializers import (
    MessageTextField,
    RoomOutputSerializer,
    StrictCharField,
    UserBriefSerializer,
)
from chat_project.api import QuerySerializer


class AssignAgentInputSerializer(serializers.Serializer):
    room_id = serializers.RegexField(r"^[0-9a-fA-F]{24}$")
    agent_id = serializers.RegexField(r"^[0-9a-fA-F]{24}$", required=False, allow_null=True)
    force = serializers.BooleanField(required=False, default=False)


class TransferInputSerializer(serializers.Serializer):
    room_id = serializers.RegexField(r"^[0-9a-fA-F]{24}$")
    to_agent_id = serializers.RegexField(r"^[0-9a-fA-F]{24}$")
    note = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")
    force = serializers.BooleanField(required=False, default=False)


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
    """The ``room-transferred`` payload."""

    room_id = serializers.CharField()
    seq = serializers.IntegerField()
    from_agent = UserBriefSerializer()
    to_agent = UserBriefSerializer()
    note = serializers.CharField(
        allow_blank=True, help_text="Echoed to the caller; stored as a private note."
    )
    forced = serializers.BooleanField()
    by = UserBriefSerializer()
    room = RoomOutputSerializer()


class QueuedRoomOutputSerializer(RoomOutputSerializer):
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
