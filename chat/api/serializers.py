"""Input parsing for the chat REST API. Output shapes are the dicts of ``chat.dtos``
(shared with the gateway), so there are no output serializers here beyond the
schema's."""

from rest_framework import serializers

from chat.models import RoomStatus


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


class RoomCreateInputSerializer(serializers.Serializer):
    subject = StrictCharField(max_length=200, required=False, allow_blank=True, default="")
    message = StrictCharField(
        required=False, allow_blank=True, trim_whitespace=False, max_length=20000
    )


class RoomListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=RoomStatus.values, required=False)
    cursor = serializers.RegexField(r"^[0-9a-fA-F]{24}$", required=False)
    limit = serializers.IntegerField(min_value=1, max_value=100, default=20)


class HistoryQuerySerializer(serializers.Serializer):
    before_seq = serializers.IntegerField(min_value=0, required=False)
    after_seq = serializers.IntegerField(min_value=0, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=100, default=50)

    def validate(self, attrs):
        if "before_seq" in attrs and "after_seq" in attrs:
            raise serializers.ValidationError("Give before_seq or after_seq, not both.")
        return attrs


class ReplayQuerySerializer(serializers.Serializer):
    after_seq = serializers.IntegerField(min_value=0)
    limit = serializers.IntegerField(min_value=1, max_value=1000, default=500)


class SearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(max_length=200, trim_whitespace=False)
    before_seq = serializers.IntegerField(min_value=0, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=100, default=20)


class MessageSendInputSerializer(serializers.Serializer):
    client_msg_id = StrictCharField(max_length=64, trim_whitespace=False)
    text = StrictCharField(allow_blank=True, trim_whitespace=False, max_length=20000)
    attachment_ids = serializers.ListField(
        child=serializers.RegexField(r"^[0-9a-fA-F]{24}$"), required=False, default=list
    )


class MessageEditInputSerializer(serializers.Serializer):
    text = StrictCharField(allow_blank=True, trim_whitespace=False, max_length=20000)


class ReceiptInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["delivered", "read"])
    up_to_seq = StrictIntegerField(min_value=0, required=False)
    message_id = serializers.RegexField(r"^[0-9a-fA-F]{24}$", required=False)

    def validate(self, attrs):
        if ("up_to_seq" in attrs) == ("message_id" in attrs):
            raise serializers.ValidationError("Give up_to_seq or message_id.")
        return attrs


class AttachmentUploadInputSerializer(serializers.Serializer):
    file = serializers.FileField()
