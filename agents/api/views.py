from drf_spectacular.utils import extend_schema
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agents import selectors, services
from agents.api.serializers import (
    AssignAgentInputSerializer,
    AssignedOutputSerializer,
    QueuePageSerializer,
    TransferInputSerializer,
    TransferredOutputSerializer,
)
from chat_project.schema import ERROR


class IsAgentOrAdmin(BasePermission):
    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and (user.is_agent or user.is_admin))


class AssignAgentApi(APIView):
    permission_classes = [IsAuthenticated, IsAgentOrAdmin]

    @extend_schema(
        request=AssignAgentInputSerializer,
        responses={200: AssignedOutputSerializer, 404: ERROR, 409: ERROR},
    )
    def post(self, request: Request) -> Response:
        data = AssignAgentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        payload = services.room_assign_agent(actor=request.user, **data.validated_data)
        return Response(payload)


class TransferApi(APIView):
    permission_classes = [IsAuthenticated, IsAgentOrAdmin]

    @extend_schema(
        request=TransferInputSerializer,
        responses={200: TransferredOutputSerializer, 404: ERROR, 409: ERROR},
    )
    def post(self, request: Request) -> Response:
        data = TransferInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        payload = services.room_transfer(actor=request.user, **data.validated_data)
        return Response(payload)


class QueueApi(APIView):
    permission_classes = [IsAuthenticated, IsAgentOrAdmin]

    @extend_schema(responses=QueuePageSerializer)
    def get(self, request: Request) -> Response:
        return Response({"results": selectors.queue_list(viewer=request.user), "next": None})
