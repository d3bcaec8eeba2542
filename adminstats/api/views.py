from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from adminstats import selectors
from adminstats.api.serializers import ChatStatsInputSerializer, ChatStatsOutputSerializer


class IsAdminRole(BasePermission):
    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_admin)


class ChatStatsApi(APIView):
    """Support statistics for a window and right now (docs/stats.md); cached for
    ``STATS_CACHE_SECONDS``."""

    permission_classes = [IsAuthenticated, IsAdminRole]

    @extend_schema(
        parameters=[
            OpenApiParameter("from", str, description="ISO 8601 with zone; default to - 24 h"),
            OpenApiParameter("to", str, description="ISO 8601 with zone; default now"),
        ],
        responses=ChatStatsOutputSerializer,
    )
    def get(self, request: Request) -> Response:
        data = ChatStatsInputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        return Response(selectors.chat_stats(**data.validated_data))
