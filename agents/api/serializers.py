from rest_framework import serializers


class AssignAgentInputSerializer(serializers.Serializer):
    room_id = serializers.RegexField(r"^[0-9a-fA-F]{24}$")
    agent_id = serializers.RegexField(r"^[0-9a-fA-F]{24}$", required=False, allow_null=True)
    force = serializers.BooleanField(required=False, default=False)


class TransferInputSerializer(serializers.Serializer):
    room_id = serializers.RegexField(r"^[0-9a-fA-F]{24}$")
    to_agent_id = serializers.RegexField(r"^[0-9a-fA-F]{24}$")
    note = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")
    force = serializers.BooleanField(required=False, default=False)
