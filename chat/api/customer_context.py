"""``GET /api/chat/rooms/{id}/customer-context`` (issue 31, item 16): the room's customer
as its agent sees them beside the chat (``chat.selectors.customer_context``). The agent
of the room and admins; customers 403; another agent's room 404."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Status
from chat.api.serializers import RatingOutputSerializer, UserBriefSerializer
from chat.models import RoomStatus
from chat.selectors.customer_context import customer_context


class ContextCustomerSerializer(UserBriefSerializer):
    status = serializers.ChoiceField(choices=Status.values, help_text="What they chose.")
    online = serializers.BooleanField(help_text="A live socket now (a presence lease).")
    email = serializers.CharField(
        allow_null=True,
        help_text="For the room's agent and admins (accounts.visibility); null otherwise "
        "or when the account has none.",
    )
    date_joined = serializers.DateTimeField()


class PreviousRoomSerializer(serializers.Serializer):
    id = serializers.CharField()
    subject = serializers.CharField(allow_blank=True)
    status = serializers.ChoiceField(choices=RoomStatus.values)
    created_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)
    agent = UserBriefSerializer(allow_null=True)
    rating = RatingOutputSerializer(allow_null=True)


class CustomerContextSerializer(serializers.Serializer):
    room_id = serializers.CharField()
    customer = ContextCustomerSerializer()
    previous = PreviousRoomSerializer(many=True, help_text="Their other chats, newest first.")
    more = serializers.BooleanField(help_text="They have older chats than those listed.")


class RoomCustomerContextApi(APIView):
    @extend_schema(
        responses=CustomerContextSerializer,
    )
    def get(self, request: Request, room_id) -> Response:
        return Response(customer_context(room_id=room_id, user=request.user))
