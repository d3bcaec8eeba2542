from rest_framework import serializers

from accounts.models import Role, Status, User
from chat_project.timefmt import IsoMsDateTimeField


class UserOutputSerializer(serializers.Serializer):
    id = serializers.CharField(source="pk")
    username = serializers.CharField()
    email = serializers.EmailField()
    display_name = serializers.CharField()
    role = serializers.CharField()
    status = serializers.CharField()
    last_seen_at = IsoMsDateTimeField(allow_null=True)
    date_joined = IsoMsDateTimeField()

    def to_representation(self, instance: User) -> dict:
        data = super().to_representation(instance)
        data["id"] = str(instance.pk)
        if instance.is_agent:
            data["max_chats"] = instance.max_chats
            data["accepting_chats"] = instance.accepting_chats
            data["active_chats"] = instance.active_chats
        return data


class AgentOutputSerializer(UserOutputSerializer):
    def to_representation(self, summary) -> dict:
        data = super().to_representation(summary.user)
        data["online"] = summary.online
        return data


class RegisterInputSerializer(serializers.Serializer):
    username = serializers.RegexField(r"^[\w.@+-]{3,150}$", max_length=150)
    email = serializers.EmailField()
    password = serializers.CharField(max_length=128, trim_whitespace=False)
    display_name = serializers.CharField(max_length=80, required=False, allow_blank=True)
    role = serializers.ChoiceField(choices=Role.values, required=False, default=Role.USER)
    max_chats = serializers.IntegerField(min_value=1, max_value=100, required=False)


class LoginInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class StatusInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Status.values)
    accepting_chats = serializers.BooleanField(required=False)
