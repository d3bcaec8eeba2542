from django.middleware.csrf import get_token
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.api.serializers import (
    AgentOutputSerializer,
    AgentPageSerializer,
    LoginInputSerializer,
    RegisterInputSerializer,
    SessionInvalidOutputSerializer,
    SessionValidOutputSerializer,
    StatusInputSerializer,
    UserListQuerySerializer,
    UserListRowSerializer,
    UserOutputSerializer,
    UserPageSerializer,
)
from chat_project.errors import PermissionDenied
from chat_project.schema import ERROR


def _user_data(user, *, viewer) -> dict:
    return UserOutputSerializer(user, context={"viewer": viewer}).data


def _agent_page(agents: list, *, viewer) -> dict:
    rows = AgentOutputSerializer(agents, many=True, context={"viewer": viewer}).data
    return {"results": rows, "next": None}


class IsAdminRole(BasePermission):
    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_admin)


def client_ip(request: Request) -> str:
    # DRF's ident honours NUM_PROXIES (X-Forwarded-For behind that many proxies).
    return BaseThrottle().get_ident(request)


@method_decorator(ensure_csrf_cookie, name="get")
class CsrfApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=inline_serializer("Csrf", {"csrfToken": serializers.CharField()}))
    def get(self, request: Request) -> Response:
        return Response({"csrfToken": get_token(request)})


class RegisterApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        request=RegisterInputSerializer,
        responses={201: UserOutputSerializer, 429: ERROR, 503: ERROR},
    )
    def post(self, request: Request) -> Response:
        data = RegisterInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        creator = request.user if request.user.is_authenticated else None
        role = data.validated_data.pop("role")
        if creator is None and role != "user":
            raise PermissionDenied("Only an admin can create agents and admins.")
        user = services.user_register(
            **data.validated_data, role=role, created_by=creator, ip=client_ip(request)
        )
        # The new user themself, or the admin who made them: both see the account.
        return Response(_user_data(user, viewer=creator or user), status=201)


class LoginApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        request=LoginInputSerializer,
        responses={200: UserOutputSerializer, 401: ERROR, 429: ERROR, 503: ERROR},
    )
    def post(self, request: Request) -> Response:
        data = LoginInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_login(
            request=request._request, ip=client_ip(request), **data.validated_data
        )
        return Response(_user_data(user, viewer=user))


class LogoutApi(APIView):
    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        services.user_logout(request=request._request)
        return Response(status=204)


class ValidateSessionApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        request=None,
        responses={200: SessionValidOutputSerializer, 401: SessionInvalidOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        if not request.user.is_authenticated:
            return Response({"valid": False}, status=401)
        return Response({"valid": True, "user": _user_data(request.user, viewer=request.user)})


class ProfileApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=UserOutputSerializer)
    def get(self, request: Request) -> Response:
        return Response(_user_data(request.user, viewer=request.user))


class StatusApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=StatusInputSerializer, responses=UserOutputSerializer)
    def put(self, request: Request) -> Response:
        data = StatusInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_set_status(user=request.user, **data.validated_data)
        return Response(_user_data(user, viewer=request.user))


class AgentsOnlineApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=AgentPageSerializer)
    def get(self, request: Request) -> Response:
        return Response(_agent_page(selectors.agent_list(online_only=True), viewer=request.user))


class UserListApi(APIView):
    """Every user, for admins (issue 27: the reference frontend's user management)."""

    permission_classes = [IsAdminRole]

    @extend_schema(parameters=[UserListQuerySerializer], responses=UserPageSerializer)
    def get(self, request: Request) -> Response:
        query = UserListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        page = selectors.user_page(
            role=params.get("role"),
            status=params.get("status"),
            after=params.get("cursor"),
            limit=params["limit"],
        )
        rows = UserListRowSerializer(page.results, many=True, context={"viewer": request.user})
        return Response({"results": rows.data, "next": _next_page(request, page.next_cursor)})


class UserStatusApi(APIView):
    """An admin sets another user's status (and an agent's accepting switch)."""

    permission_classes = [IsAdminRole]

    @extend_schema(request=StatusInputSerializer, responses=UserOutputSerializer)
    def put(self, request: Request, user_id) -> Response:
        data = StatusInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_set_status_by_admin(
            actor=request.user, user_id=user_id, **data.validated_data
        )
        return Response(_user_data(user, viewer=request.user))


def _next_page(request: Request, cursor: str | None) -> str | None:
    """``next``: this path and query with the cursor moved (no host)."""
    if cursor is None:
        return None
    query = request.query_params.copy()
    query["cursor"] = cursor
    return f"{request.path}?{query.urlencode()}"


class AgentsAllApi(APIView):
    permission_classes = [IsAdminRole]

    @extend_schema(responses=AgentPageSerializer)
    def get(self, request: Request) -> Response:
        return Response(_agent_page(selectors.agent_list(online_only=False), viewer=request.user))
