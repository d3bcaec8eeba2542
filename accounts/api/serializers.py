from rest_framework import serializers

from accounts import names, visibility
from accounts.models import Role, Status, User
from chat_project.api import QuerySerializer
from chat_project.timefmt import IsoMsDateTimeField

_ACCOUNT_ONLY = "Only for the user themself and for admins (accounts.visibility)."
_AGENTS_ONLY = "Agents only."


class UserOutputSerializer(serializers.Serializer):
    """A user as ``context["viewer"]`` may see them (``accounts.visibility``; no viewer
    in the context: the public fields only)."""

    id = serializers.CharField(source="pk")
    username = serializers.CharField()
    # Not EmailField: the admin may create users without an address (then "").
    email = serializers.CharField(
        required=False, allow_blank=True, help_text=f"An address or empty. {_ACCOUNT_ONLY}"
    )
    display_name = serializers.CharField(allow_blank=True)
    role = serializers.ChoiceField(choices=Role.values)
    status = serializers.ChoiceField(choices=Status.values)
    last_seen_at = IsoMsDateTimeField(allow_null=True, required=False, help_text=_ACCOUNT_ONLY)
    date_joined = IsoMsDateTimeField(required=False, help_text=_ACCOUNT_ONLY)
    max_chats = serializers.IntegerField(required=False, help_text=_AGENTS_ONLY)
    accepting_chats = serializers.BooleanField(required=False, help_text=_AGENTS_ONLY)
    active_chats = serializers.IntegerField(required=False, help_text=_AGENTS_ONLY)

    def to_representation(self, instance: User) -> dict:
        data = super().to_representation(instance)
        data["id"] = str(instance.pk)
        if not instance.is_agent:
            for name in ("max_chats", "accepting_chats", "active_chats"):
                data.pop(name, None)
        return visibility.visible_to(data, viewer=self.context.get("viewer"), subject=instance)


class AgentOutputSerializer(UserOutputSerializer):
    online = serializers.BooleanField(help_text="Has a live socket (a presence lease).")

    def to_representation(self, summary) -> dict:
        # ``summary`` is a selectors.AgentSummary: the user's fields, then ``online``.
        data = UserOutputSerializer(context=self.context).to_representation(summary.user)
        data["online"] = summary.online
        return data


class AgentPageSerializer(serializers.Serializer):
    results = AgentOutputSerializer(many=True)
    next = serializers.CharField(allow_null=True, help_text="Always null: one page.")


class UserListRowSerializer(UserOutputSerializer):
    online = serializers.BooleanField(help_text="Has a live socket (a presence lease).")

    def to_representation(self, summary) -> dict:
        # ``summary`` is a selectors.AgentSummary: the user's fields, then ``online``.
        data = UserOutputSerializer(context=self.context).to_representation(summary.user)
        data["online"] = summary.online
        return data


class UserPageSerializer(serializers.Serializer):
    results = UserListRowSerializer(many=True)
    next = serializers.CharField(allow_null=True, help_text="The next page's path, or null.")


class UserListQuerySerializer(QuerySerializer):
    role = serializers.ChoiceField(choices=Role.values, required=False)
    status = serializers.ChoiceField(choices=Status.values, required=False)
    cursor = serializers.CharField(
        max_length=150, required=False, help_text="The page after this username (``next``)."
    )
    limit = serializers.IntegerField(min_value=1, max_value=100, default=50)


class SessionValidOutputSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    user = UserOutputSerializer()


class SessionInvalidOutputSerializer(serializers.Serializer):
    valid = serializers.BooleanField()


class UsernameField(serializers.RegexField):
    """NFKC first (``accounts.names``), then the pattern: fullwidth ``alice`` is ``alice``."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = names.normalize_username(data)
        return super().to_internal_value(data)


class RegisterInputSerializer(serializers.Serializer):
    username = UsernameField(r"^[\w.@+-]{3,150}$", max_length=150)
    email = serializers.EmailField()
    password = serializers.CharField(max_length=128, trim_whitespace=False)
    display_name = serializers.CharField(max_length=80, required=False, allow_blank=True)
    role = serializers.ChoiceField(choices=Role.values, required=False, default=Role.USER)
    max_chats = serializers.IntegerField(min_value=1, max_value=100, required=False)


class LoginInputSerializer(serializers.Serializer):
    username = serializers.CharField(
        max_length=254,
        help_text="The username, or the account's e-mail address (any case): a value with "
        "an @ is tried as an address first, then as a username.",
    )
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class StatusInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Status.values)
    accepting_chats = serializers.BooleanField(required=False)
