"""Input parsing for the chat REST API. Output shapes are the dicts of ``chat.dtos``
(shared with the gateway), so there are no output serializers here beyond the
schema's."""

from django.conf import settings
from drf_spectacular.extensions import (
    OpenApiSerializerExtension,
    OpenApiSerializerFieldExtension,
)
from rest_framework import serializers

from chat.models import RoomStatus
from chat_project.api import QuerySerializer
from chat_project.wire import MAX_INT


def seq_field(**kwargs) -> serializers.IntegerField:
    """A seq from the query string: 0..MAX_INT (issue 18: 2**63 was a 500)."""
    return serializers.IntegerField(min_value=0, max_value=MAX_INT, **kwargs)


class StrictCharField(serializers.CharField):
    """A JSON string and nothing else: DRF's CharField turns 5 into "5"."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer and nothing else (no "5", 5.0 or true)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


# Python's str.strip() whitespace (str.isspace), as a regex class: the text limit is
# counted after trimming exactly these.
_WHITESPACE = (
    r"\u0009-\u000d\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029"
    r"\u202f\u205f\u3000"
)


class MessageTextField(StrictCharField):
    """Message text, stored as sent. The service (``chat.services._clean_text``) decides:
    at most ``CHAT_MESSAGE_MAX_CHARS`` characters once leading and trailing whitespace
    is trimmed, at most twice that as sent, and not blank unless the message has
    attachments. The schema states the same (``MessageTextFieldSchema``); it said
    20,000 until issue 18."""

    def __init__(self, **kwargs):
        kwargs.update(allow_blank=True, trim_whitespace=False)
        super().__init__(**kwargs)


def message_text_schema() -> dict:
    limit = settings.CHAT_MESSAGE_MAX_CHARS
    visible = f"[^{_WHITESPACE}]"
    trimmed = rf"(?:{visible}(?:[\s\S]{{0,{max(limit - 2, 0)}}}{visible})?)?"
    return {
        "type": "string",
        "maxLength": 2 * limit,
        # Under allOf: drf-spectacular wraps a blank-allowing field whose top level has a
        # pattern in oneOf [it, blank], which a blank text would match twice.
        "allOf": [{"pattern": f"^[{_WHITESPACE}]*{trimmed}[{_WHITESPACE}]*$"}],
        "description": (
            f"At most {limit} characters once leading and trailing whitespace is trimmed "
            f"(at most {2 * limit} as sent); stored as sent. Not blank, unless the "
            "message has attachments."
        ),
    }


class MessageTextFieldSchema(OpenApiSerializerFieldExtension):
    target_class = MessageTextField

    def map_serializer_field(self, auto_schema, direction):
        return message_text_schema()


class RoomCreateInputSerializer(serializers.Serializer):
    subject = StrictCharField(max_length=200, required=False, allow_blank=True, default="")
    message = MessageTextField(required=False, help_text="The first message (optional).")
    team_id = serializers.RegexField(
        r"^[0-9a-fA-F]{24}$", required=False, help_text="The team chosen (GET /api/chat/teams)."
    )
    topic = serializers.RegexField(
        r"^[-a-zA-Z0-9_]{1,40}$",
        required=False,
        help_text="A topic key (GET /api/chat/topics): its team and required skills.",
    )


class RoomListQuerySerializer(QuerySerializer):
    status = serializers.ChoiceField(choices=RoomStatus.values, required=False)
    tag = serializers.CharField(
        max_length=64, required=False, help_text="Agents and admins: rooms with this tag."
    )
    cursor = serializers.RegexField(r"^[0-9a-fA-F]{24}$", required=False)
    limit = serializers.IntegerField(min_value=1, max_value=100, default=20)


class HistoryQuerySerializer(QuerySerializer):
    before_seq = seq_field(required=False, help_text="The page before it; not with after_seq.")
    after_seq = seq_field(required=False, help_text="The page after it; not with before_seq.")
    limit = serializers.IntegerField(min_value=1, max_value=100, default=50)

    def validate(self, attrs):
        if "before_seq" in attrs and "after_seq" in attrs:
            raise serializers.ValidationError("Give before_seq or after_seq, not both.")
        return attrs


class ReplayQuerySerializer(QuerySerializer):
    after_seq = seq_field()
    limit = serializers.IntegerField(min_value=1, max_value=1000, default=500)


class SearchQuerySerializer(QuerySerializer):
    q = serializers.CharField(max_length=200, trim_whitespace=False)
    before_seq = seq_field(required=False)
    limit = serializers.IntegerField(min_value=1, max_value=100, default=20)


class MessageSendInputSerializer(serializers.Serializer):
    client_msg_id = StrictCharField(max_length=64, trim_whitespace=False)
    text = MessageTextField()
    attachment_ids = serializers.ListField(
        child=serializers.RegexField(r"^[0-9a-fA-F]{24}$"), required=False, default=list
    )


class MessageEditInputSerializer(serializers.Serializer):
    text = MessageTextField()


class ReceiptInputSerializer(serializers.Serializer):
    """``kind`` and exactly one of ``up_to_seq`` and ``message_id`` (the schema's
    ``oneOf``, ``ReceiptInputSchema``)."""

    kind = serializers.ChoiceField(choices=["delivered", "read"])
    up_to_seq = StrictIntegerField(min_value=0, max_value=MAX_INT, required=False)
    message_id = serializers.RegexField(r"^[0-9a-fA-F]{24}$", required=False)

    def validate(self, attrs):
        if ("up_to_seq" in attrs) == ("message_id" in attrs):
            raise serializers.ValidationError("Give up_to_seq or message_id.")
        return attrs


class ReceiptInputSchema(OpenApiSerializerExtension):
    target_class = ReceiptInputSerializer

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        schema["oneOf"] = [{"required": ["up_to_seq"]}, {"required": ["message_id"]}]
        return schema


class AttachmentUploadInputSerializer(serializers.Serializer):
    file = serializers.FileField()


class NoteInputSerializer(serializers.Serializer):
    text = MessageTextField()


class NoteListQuerySerializer(QuerySerializer):
    after_seq = seq_field(required=False, default=0)
    limit = serializers.IntegerField(min_value=1, max_value=100, default=50)


class TagInputSerializer(serializers.Serializer):
    tag = StrictCharField(
        max_length=64, help_text="1 to 32 letters, digits, _ or -; stored casefolded."
    )


class RatingInputSerializer(serializers.Serializer):
    score = StrictIntegerField(min_value=1, max_value=5)
    comment = StrictCharField(max_length=1000, required=False, allow_blank=True, default="")


# --- Output shapes (the dicts of chat.dtos), for the OpenAPI schema only ----------------------


class UserBriefSerializer(serializers.Serializer):
    id = serializers.CharField()
    username = serializers.CharField()
    display_name = serializers.CharField()
    role = serializers.CharField()


class AttachmentOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    filename = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    url = serializers.CharField()


class MessageOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    room_id = serializers.CharField()
    seq = serializers.IntegerField()
    sender = UserBriefSerializer(allow_null=True)
    client_msg_id = serializers.CharField()
    text = serializers.CharField(help_text="Raw; empty for non-admins once deleted.")
    attachments = AttachmentOutputSerializer(many=True)
    created_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(allow_null=True)
    deleted = serializers.BooleanField()
    status = serializers.ChoiceField(choices=["sent", "delivered", "read"])
    original_text = serializers.CharField(required=False, help_text="Admins, once edited.")


class EditedMessageOutputSerializer(MessageOutputSerializer):
    event_seq = serializers.IntegerField(help_text="The seq of the message_edited event.")


class RatingOutputSerializer(serializers.Serializer):
    score = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(allow_blank=True)
    rated_at = serializers.DateTimeField()


class RequiredSkillSerializer(serializers.Serializer):
    name = serializers.RegexField(r"^[a-z0-9][a-z0-9_-]{0,39}$")
    min_level = serializers.IntegerField(min_value=1, max_value=10, allow_null=True, required=False)


class TeamBriefSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()


class LastMessageSerializer(serializers.Serializer):
    id = serializers.CharField()
    seq = serializers.IntegerField()
    sender_id = serializers.CharField(allow_null=True)
    text = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    deleted = serializers.BooleanField()


class SlaFlagsSerializer(serializers.Serializer):
    first_response = serializers.ChoiceField(
        choices=["nearing", "breached"], allow_null=True, help_text="Null: on time or met."
    )
    resolution = serializers.ChoiceField(choices=["nearing", "breached"], allow_null=True)


class RoomOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    customer = UserBriefSerializer()
    agent = UserBriefSerializer(allow_null=True)
    status = serializers.ChoiceField(choices=RoomStatus.values)
    subject = serializers.CharField()
    created_at = serializers.DateTimeField()
    queued_at = serializers.DateTimeField(allow_null=True)
    assigned_at = serializers.DateTimeField(allow_null=True)
    first_agent_reply_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    last_seq = serializers.IntegerField()
    rating = RatingOutputSerializer(allow_null=True, help_text="The customer's, once rated.")
    tags = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Agents and admins only."
    )
    sla = SlaFlagsSerializer(required=False, help_text="Agents and admins only (issue 30).")
    team_id = serializers.CharField(allow_null=True, help_text="Null: the general queue.")
    required_skills = RequiredSkillSerializer(many=True)
    last_message = LastMessageSerializer(
        allow_null=True, help_text="The newest message (text empty once deleted, but admins')."
    )
    queue_position = serializers.IntegerField(
        allow_null=True, required=False, help_text="Create and detail only: in its team's queue."
    )
    team = TeamBriefSerializer(required=False, help_text="Create and detail, with a team only.")
    offline = serializers.BooleanField(
        required=False, help_text="Create and detail, with a team: the team is closed now."
    )
    next_open_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="With offline: when the team opens."
    )
    offline_message = serializers.CharField(
        required=False, allow_blank=True, help_text="With offline: the team's message."
    )


class RoomPageSerializer(serializers.Serializer):
    results = RoomOutputSerializer(many=True)
    next = serializers.CharField(allow_null=True)


class WatermarkSerializer(serializers.Serializer):
    last_delivered_seq = serializers.IntegerField()
    last_read_seq = serializers.IntegerField()


class HistoryPageSerializer(serializers.Serializer):
    results = MessageOutputSerializer(many=True)
    next = serializers.CharField(allow_null=True)
    last_seq = serializers.IntegerField()
    watermarks = serializers.DictField(child=WatermarkSerializer())


class SearchPageSerializer(serializers.Serializer):
    results = MessageOutputSerializer(many=True)
    next = serializers.CharField(allow_null=True)


class MessageDeletedSerializer(serializers.Serializer):
    room_id = serializers.CharField()
    seq = serializers.IntegerField()
    message_id = serializers.CharField()


class ReceiptOutputSerializer(serializers.Serializer):
    room_id = serializers.CharField()
    user_id = serializers.CharField()
    last_delivered_seq = serializers.IntegerField()
    last_read_seq = serializers.IntegerField()
    moved = serializers.BooleanField()


class ReplayEventSerializer(serializers.Serializer):
    event = serializers.CharField()
    data = serializers.DictField()


class ReplayOutputSerializer(serializers.Serializer):
    room_id = serializers.CharField()
    events = ReplayEventSerializer(many=True)
    last_seq = serializers.IntegerField()
    cursor = serializers.IntegerField(help_text="Ask again from here while has_more.")
    has_more = serializers.BooleanField()
    watermarks = serializers.DictField(child=WatermarkSerializer())


class UnreadOutputSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    rooms = serializers.DictField(child=serializers.IntegerField())


class EditRecordSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    text = serializers.CharField()
    edited_at = serializers.DateTimeField()
    editor = UserBriefSerializer(allow_null=True)


class MessageAuditSerializer(serializers.Serializer):
    message = MessageOutputSerializer()
    original_text = serializers.CharField()
    edits = EditRecordSerializer(many=True)


class TransferOfNoteSerializer(serializers.Serializer):
    from_agent = UserBriefSerializer(allow_null=True)
    to_agent = UserBriefSerializer(allow_null=True)


class NoteOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    room_id = serializers.CharField()
    seq = serializers.IntegerField()
    author = UserBriefSerializer(allow_null=True)
    text = serializers.CharField(allow_blank=True, help_text="Empty for non-admins once deleted.")
    transfer = TransferOfNoteSerializer(
        allow_null=True, help_text="The transfer the note was written with, if any."
    )
    created_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(allow_null=True)
    deleted = serializers.BooleanField()
    original_text = serializers.CharField(required=False, help_text="Admins, once edited.")


class EditedNoteOutputSerializer(serializers.Serializer):
    room_id = serializers.CharField()
    seq = serializers.IntegerField(help_text="The seq of the note_edited event.")
    note = NoteOutputSerializer()


class NotePageSerializer(serializers.Serializer):
    results = NoteOutputSerializer(many=True)
    next = serializers.CharField(allow_null=True)


class NoteDeletedSerializer(serializers.Serializer):
    room_id = serializers.CharField()
    seq = serializers.IntegerField()
    note_id = serializers.CharField()


class NoteAuditSerializer(serializers.Serializer):
    note = NoteOutputSerializer()
    original_text = serializers.CharField(allow_blank=True)
    edits = EditRecordSerializer(many=True)


class TagsOutputSerializer(serializers.Serializer):
    room_id = serializers.CharField()
    seq = serializers.IntegerField(allow_null=True, help_text="null: nothing changed.")
    tag = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())


class RatedOutputSerializer(serializers.Serializer):
    room_id = serializers.CharField()
    seq = serializers.IntegerField()
    rating = RatingOutputSerializer()


class TranscriptOutputSerializer(serializers.Serializer):
    room_id = serializers.CharField()
    email = serializers.CharField(help_text="The customer's account address it went to.")
    sent_at = serializers.DateTimeField()
