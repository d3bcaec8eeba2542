from drf_spectacular.utils import extend_schema
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agents import selectors, services
from agents.api.serializers import (
    AssignAgentInputSerializer,
    AssignedOutputSerializer,
    CannedCreateInputSerializer,
    CannedListQuerySerializer,
    CannedOutputSerializer,
    CannedPageSerializer,
    CannedUpdateInputSerializer,
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


class CannedListCreateApi(APIView):
    permission_classes = [IsAuthenticated, IsAgentOrAdmin]

    @extend_schema(
        operation_id="chat_canned_responses_list",
        parameters=[CannedListQuerySerializer],
        responses={200: CannedPageSerializer, 404: ERROR},
    )
    def get(self, request: Request) -> Response:
        query = CannedListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        results = selectors.canned_list(viewer=request.user, **query.validated_data)
        return Response({"results": results, "next": None})

    @extend_schema(
        request=CannedCreateInputSerializer, responses={201: CannedOutputSerializer, 409: ERROR}
    )
    def post(self, request: Request) -> Response:
        data = CannedCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(
            services.canned_create(user=request.user, **data.validated_data), status=201
        )


class CannedDetailApi(APIView):
    permission_classes = [IsAuthenticated, IsAgentOrAdmin]

    @extend_schema(
        request=CannedUpdateInputSerializer, responses={200: CannedOutputSerializer, 409: ERROR}
    )
    def patch(self, request: Request, canned_id) -> Response:
        data = CannedUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(
            services.canned_update(canned_id=canned_id, user=request.user, **data.validated_data)
        )

    @extend_schema(responses={204: None})
    def delete(self, request: Request, canned_id) -> Response:
        services.canned_delete(canned_id=canned_id, user=request.user)
        return Response(status=204)
