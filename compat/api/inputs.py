"""What the reference's requests carry, checked before anything is called: a wrong type or
a missing field is a 400 in the envelope (``validation_error``, the field named in the
message), as the product's own API answers."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from chat_project.errors import PermissionDenied

OBJECT_ID = r"^[0-9a-fA-F]{24}$"
STATUSES = ("online", "away", "busy", "offline")


def parsed(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def forbidden(message: str) -> PermissionDenied:
    return PermissionDenied(message)


class LoginInput(serializers.Serializer):
    """The reference signs in by e-mail; a username is taken too."""

    email = serializers.CharField(required=False, max_length=254)
    username = serializers.CharField(required=False, max_length=254)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not (attrs.get("email") or attrs.get("username")):
            raise serializers.ValidationError({"email": ["Email and password are required."]})
        return attrs


class RegisterInput(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)
    role = serializers.ChoiceField(choices=("user", "agent", "admin"), default="user")
    displayName = serializers.CharField(
        required=False, max_length=80, source="display_name", allow_blank=True
    )
    # The reference's agent form sends these; the product has teams and skills instead.
    department = serializers.CharField(required=False, allow_blank=True, max_length=64)
    specialization = serializers.CharField(required=False, allow_blank=True, max_length=200)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs.pop("department", None)
        attrs.pop("specialization", None)
        return attrs


class StatusInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=STATUSES)


class RoomMetadata(serializers.Serializer):
    subject = serializers.CharField(max_length=4000)  # a description: compat.shapes.subject_of
    priority = serializers.CharField(required=False, max_length=16)


class RoomCreateInput(serializers.Serializer):
    type = serializers.CharField(required=False, max_length=16)
    participants = serializers.ListField(child=serializers.CharField(), required=False)
    metadata = RoomMetadata()


class AgentRoomsQuery(serializers.Serializer):
    status = serializers.ChoiceField(choices=("active", "queued", "closed"), required=False)


class MessagesQuery(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=100, default=50)
    offset = serializers.IntegerField(min_value=0, required=False)  # the newest page only


class SearchQuery(serializers.Serializer):
    query = serializers.CharField(max_length=200)
    limit = serializers.IntegerField(min_value=1, max_value=100, default=20)
    messageType = serializers.CharField(required=False, max_length=16)
    startDate = serializers.CharField(required=False, max_length=40)
    endDate = serializers.CharField(required=False, max_length=40)


class AssignInput(serializers.Serializer):
    chatRoomId = serializers.RegexField(OBJECT_ID)
    agentId = serializers.RegexField(OBJECT_ID, required=False, allow_null=True)


class TransferInput(serializers.Serializer):
    chatRoomId = serializers.RegexField(OBJECT_ID)
    fromAgentId = serializers.RegexField(OBJECT_ID, required=False)
    toAgentId = serializers.RegexField(OBJECT_ID)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=1000)


class AdminAssignInput(serializers.Serializer):
    chatRoomId = serializers.RegexField(OBJECT_ID)
    agentId = serializers.RegexField(OBJECT_ID)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=1000)


class AdminRemoveInput(serializers.Serializer):
    chatRoomId = serializers.RegexField(OBJECT_ID)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200)
