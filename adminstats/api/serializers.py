"""Input and output shapes of ``GET /api/admin/chat-stats`` (definitions: docs/stats.md)."""

from rest_framework import serializers

from adminstats.selectors import EARLIEST, LATEST, OUT_OF_RANGE
from chat_project.api import QuerySerializer


class WindowBoundField(serializers.DateTimeField):
    """An ISO 8601 time in the range a statistics window may use. DRF converts an
    aware time to UTC, which overflows at the ends of ``datetime``'s range
    (``0001-01-01T00:00+01:00``): refused like any time out of range (issue 18)."""

    default_error_messages = {"out_of_range": OUT_OF_RANGE}

    def to_internal_value(self, value):
        try:
            parsed = super().to_internal_value(value)
        except OverflowError:
            self.fail("out_of_range")
        if not EARLIEST <= parsed <= LATEST:
            self.fail("out_of_range")
        return parsed


class ChatStatsInputSerializer(QuerySerializer):
    """``?from=&to=``: ISO 8601; a time without a zone is UTC."""

    def get_fields(self):
        # "from" is a Python keyword, so the fields are declared here.
        return {
            "from": WindowBoundField(required=False, source="start"),
            "to": WindowBoundField(required=False, source="end"),
        }


class DurationsOutputSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    median = serializers.FloatField(allow_null=True, help_text="seconds, nearest-rank")
    p90 = serializers.FloatField(allow_null=True, help_text="seconds, nearest-rank")


class RoomsNowOutputSerializer(serializers.Serializer):
    queued = serializers.IntegerField()
    active = serializers.IntegerField()
    closed = serializers.IntegerField()


class QueueNowOutputSerializer(serializers.Serializer):
    length = serializers.IntegerField()
    longest_wait_seconds = serializers.FloatField(allow_null=True)
    oldest_queued_at = serializers.CharField(allow_null=True)


class OnlineNowOutputSerializer(serializers.Serializer):
    customers = serializers.IntegerField()
    agents = serializers.IntegerField()
    admins = serializers.IntegerField()


class NowOutputSerializer(serializers.Serializer):
    rooms = RoomsNowOutputSerializer()
    queue = QueueNowOutputSerializer()
    online = OnlineNowOutputSerializer()


class CsatOutputSerializer(serializers.Serializer):
    rooms_closed = serializers.IntegerField()
    rated = serializers.IntegerField(help_text="of those, rated by their customer")
    positive = serializers.IntegerField(help_text="of those, rated 4 or 5")
    score = serializers.FloatField(allow_null=True, help_text="positive / rated (0..1)")
    response_rate = serializers.FloatField(allow_null=True, help_text="rated / rooms_closed (0..1)")


class TagCountOutputSerializer(serializers.Serializer):
    tag = serializers.CharField()
    rooms = serializers.IntegerField()


class SlaBreachesOutputSerializer(serializers.Serializer):
    first_response = serializers.IntegerField(help_text="first-response targets breached")
    resolution = serializers.IntegerField(help_text="resolution targets breached")


class WindowOutputSerializer(serializers.Serializer):
    # "from" and "to" are keywords in Python: declared below.
    rooms_created = serializers.IntegerField()
    rooms_closed = serializers.IntegerField()
    rooms_closed_unassigned = serializers.IntegerField()
    messages_sent = serializers.IntegerField()
    agent_messages_sent = serializers.IntegerField()
    wait_seconds = DurationsOutputSerializer()
    first_response_seconds = DurationsOutputSerializer()
    resolution_seconds = DurationsOutputSerializer()
    csat = CsatOutputSerializer(help_text="Over the rooms closed in the window.")
    sla_breaches = SlaBreachesOutputSerializer(help_text="SLA breaches flagged in the window.")
    tags = TagCountOutputSerializer(
        many=True, help_text="Rooms created in the window, per tag they carry."
    )

    def get_fields(self):
        fields = super().get_fields()
        return {"from": serializers.CharField(), "to": serializers.CharField(), **fields}


class AgentStatsOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    username = serializers.CharField()
    display_name = serializers.CharField()
    is_active = serializers.BooleanField()
    status = serializers.CharField()
    accepting_chats = serializers.BooleanField()
    online = serializers.BooleanField()
    active_chats = serializers.IntegerField()
    max_chats = serializers.IntegerField()
    rooms_closed = serializers.IntegerField()
    messages_sent = serializers.IntegerField()
    first_response_seconds = DurationsOutputSerializer()
    csat = CsatOutputSerializer(help_text="Over the rooms this agent held when closed.")


class TeamQueueOutputSerializer(serializers.Serializer):
    length = serializers.IntegerField()
    longest_wait_seconds = serializers.FloatField(allow_null=True)


class TeamStatsOutputSerializer(serializers.Serializer):
    id = serializers.CharField(allow_null=True, help_text="null: the general queue")
    name = serializers.CharField()
    open = serializers.BooleanField()
    queue = TeamQueueOutputSerializer()
    rooms_created = serializers.IntegerField()
    rooms_created_outside_hours = serializers.IntegerField()
    overflows = serializers.IntegerField(help_text="rooms moved out to the fallback team")
    wait_seconds = DurationsOutputSerializer()
    first_response_seconds = DurationsOutputSerializer()
    resolution_seconds = DurationsOutputSerializer()
    csat = CsatOutputSerializer(help_text="Over the rooms this team holds, closed in the window.")
    sla_breaches = SlaBreachesOutputSerializer(help_text="Of rooms in this team when flagged.")


class ChatStatsOutputSerializer(serializers.Serializer):
    generated_at = serializers.CharField()
    now = NowOutputSerializer()
    window = WindowOutputSerializer()
    agents = AgentStatsOutputSerializer(many=True)
    teams = TeamStatsOutputSerializer(many=True, help_text="Empty when no team exists.")
