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
    LeaveMessageInputSerializer,
    OfflineMessageOutputSerializer,
    OfflineMessagePageSerializer,
    QueuePageSerializer,
    QueueQuerySerializer,
    RemoveAgentInputSerializer,
    RemovedOutputSerializer,
    RoomSkillsInputSerializer,
    TeamPageSerializer,
    TopicPageSerializer,
    TransferInputSerializer,
    TransferredOutputSerializer,
)
from chat.api.serializers import RoomOutputSerializer
from chat_project.schema import ERROR


class IsAgentOrAdmin(BasePermission):
    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and (user.is_agent or user.is_admin))


def _parsed(serializer_class, data):
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class AssignAgentApi(APIView):
    permission_classes = [IsAuthenticated, IsAgentOrAdmin]

    @extend_schema(
        request=AssignAgentInputSerializer,
        responses={200: AssignedOutputSerializer, 404: ERROR, 409: ERROR},
    )
    def post(self, request: Request) -> Response:
        data = _parsed(AssignAgentInputSerializer, request.data)
        payload = services.room_assign_agent(actor=request.user, **data)
        return Response(payload)


class TransferApi(APIView):
    permission_classes = [IsAuthenticated, IsAgentOrAdmin]

    @extend_schema(
        request=TransferInputSerializer,
        responses={200: TransferredOutputSerializer, 404: ERROR, 409: ERROR},
    )
    def post(self, request: Request) -> Response:
        data = dict(_parsed(TransferInputSerializer, request.data))
        if "to_team_id" in data:
            data.pop("force", None)
            return Response(services.room_transfer_to_team(actor=request.user, **data))
        return Response(services.room_transfer(actor=request.user, **data))


class RemoveAgentApi(APIView):
    permission_classes = [IsAuthenticated, IsAgentOrAdmin]

    @extend_schema(
        request=RemoveAgentInputSerializer,
        responses={200: RemovedOutputSerializer, 403: ERROR, 404: ERROR, 409: ERROR},
    )
    def post(self, request: Request) -> Response:
        data = _parsed(RemoveAgentInputSerializer, request.data)
        return Response(services.room_remove_agent(actor=request.user, **data))


class QueueApi(APIView):
    permission_classes = [IsAuthenticated, IsAgentOrAdmin]

    @extend_schema(
        parameters=[QueueQuerySerializer], responses={200: QueuePageSerializer, 404: ERROR}
    )
    def get(self, request: Request) -> Response:
        query = _parsed(QueueQuerySerializer, request.query_params)
        rows = selectors.queue_list(viewer=request.user, team_id=query.get("team_id"))
        return Response({"results": rows, "next": None})


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


class TeamListApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=TeamPageSerializer)
    def get(self, request: Request) -> Response:
        return Response({"results": selectors.team_list(viewer=request.user), "next": None})


class TopicListApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=TopicPageSerializer)
    def get(self, request: Request) -> Response:
        return Response({"results": selectors.topic_list(viewer=request.user), "next": None})


class RoomSkillsApi(APIView):
    permission_classes = [IsAuthenticated, IsAgentOrAdmin]

    @extend_schema(
        request=RoomSkillsInputSerializer,
        responses={200: RoomOutputSerializer, 404: ERROR, 409: ERROR},
    )
    def put(self, request: Request, room_id) -> Response:
        data = _parsed(RoomSkillsInputSerializer, request.data)
        room = services.room_skills_set(
            room_id=str(room_id), actor=request.user, required_skills=data["required_skills"]
        )
        return Response(room)


class LeaveMessageApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=LeaveMessageInputSerializer,
        responses={201: OfflineMessageOutputSerializer, 404: ERROR, 409: ERROR},
    )
    def post(self, request: Request, room_id) -> Response:
        data = _parsed(LeaveMessageInputSerializer, request.data)
        left = services.room_leave_message(room_id=str(room_id), customer=request.user, **data)
        return Response(left, status=201)


class OfflineMessageListApi(APIView):
    permission_classes = [IsAuthenticated, IsAgentOrAdmin]

    @extend_schema(
        parameters=[QueueQuerySerializer], responses={200: OfflineMessagePageSerializer, 404: ERROR}
    )
    def get(self, request: Request) -> Response:
        query = _parsed(QueueQuerySerializer, request.query_params)
        rows = selectors.offline_message_list(viewer=request.user, team_id=query.get("team_id"))
        return Response({"results": rows, "next": None})
