from rest_framework import serializers

from chat.api.serializers import StrictCharField
from chat_project.api import QuerySerializer
from integrations.models import DeliveryStatus, EndpointStatus, Scope, WebhookKind

OBJECT_ID = r"^[0-9a-fA-F]{24}$"


class EndpointCreateInputSerializer(serializers.Serializer):
    url = StrictCharField(max_length=500, help_text="http or https.")
    kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookKind.values), min_length=1, max_length=20
    )
    scope = serializers.ChoiceField(
        choices=Scope.values,
        default=Scope.CUSTOMER,
        help_text="What the payloads show: the customer's view or the agent's.",
    )
    team_id = serializers.RegexField(
        OBJECT_ID, required=False, allow_null=True, help_text="Only rooms of this team."
    )
    secret = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=128,
        help_text="Empty or absent: generated (returned once, in this answer).",
    )
    description = StrictCharField(required=False, allow_blank=True, max_length=200, default="")


class EndpointUpdateInputSerializer(serializers.Serializer):
    url = StrictCharField(required=False, max_length=500)
    kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookKind.values),
        required=False,
        min_length=1,
        max_length=20,
    )
    scope = serializers.ChoiceField(choices=Scope.values, required=False)
    team_id = serializers.RegexField(
        r"^([0-9a-fA-F]{24})?$", required=False, allow_blank=True, help_text="Empty: any team."
    )
    secret = StrictCharField(required=False, min_length=16, max_length=128)
    description = StrictCharField(required=False, allow_blank=True, max_length=200)


class DeliveryCountsSerializer(serializers.Serializer):
    pending = serializers.IntegerField()
    failed = serializers.IntegerField()


class EndpointOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    url = serializers.CharField()
    kinds = serializers.ListField(child=serializers.ChoiceField(choices=WebhookKind.values))
    scope = serializers.ChoiceField(choices=Scope.values)
    team_id = serializers.CharField(allow_null=True)
    description = serializers.CharField(allow_blank=True)
    status = serializers.ChoiceField(choices=EndpointStatus.values)
    paused_reason = serializers.CharField(allow_blank=True)
    paused_at = serializers.DateTimeField(allow_null=True)
    created_by = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    last_success_at = serializers.DateTimeField(allow_null=True)
    last_failure_at = serializers.DateTimeField(allow_null=True)
    consecutive_failures = serializers.IntegerField()
    deliveries = DeliveryCountsSerializer()


class EndpointCreatedSerializer(EndpointOutputSerializer):
    secret = serializers.CharField(help_text="The signing secret: shown this once.")


class EndpointPageSerializer(serializers.Serializer):
    results = EndpointOutputSerializer(many=True)
    next = serializers.CharField(allow_null=True, help_text="Always null: one page.")


class DeliveryOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    delivery_id = serializers.UUIDField(help_text="Sent as X-Webhook-Id, the same on retries.")
    endpoint_id = serializers.CharField()
    kind = serializers.CharField()
    room_id = serializers.CharField(allow_null=True)
    seq = serializers.IntegerField()
    status = serializers.ChoiceField(choices=DeliveryStatus.values)
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField()
    last_attempt_at = serializers.DateTimeField(allow_null=True)
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField(allow_blank=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    payload = serializers.JSONField(help_text="The body sent (README, Webhooks).")


class DeliveryPageSerializer(serializers.Serializer):
    results = DeliveryOutputSerializer(many=True)
    next = serializers.CharField(allow_null=True, help_text="Always null: the newest page.")


class DeliveryQuerySerializer(QuerySerializer):
    status = serializers.ChoiceField(choices=DeliveryStatus.values, required=False)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=200, default=50)
