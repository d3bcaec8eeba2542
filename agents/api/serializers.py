from rest_framework import serializers

from chat.api.serializers import RoomOutputSerializer, UserBriefSerializer


class AssignAgentInputSerializer(serializers.Serializer):
    room_id = serializers.RegexField(r"^[0-9a-fA-F]{24}$")
    agent_id = serializers.RegexField(r"^[0-9a-fA-F]{24}$", required=False, allow_null=True)
    force = serializers.BooleanField(required=False, default=False)


class TransferInputSerializer(serializers.Serializer):
    room_id = serializers.RegexField(r"^[0-9a-fA-F]{24}$")
    to_agent_id = serializers.RegexField(r"^[0-9a-fA-F]{24}$")
    note = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")
    force = serializers.BooleanField(required=False, default=False)


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
    note = serializers.CharField(allow_blank=True)
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
