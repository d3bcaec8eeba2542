"""The reference backend's REST API at ``/compat/api/``: each view parses the reference's
request, calls the product's services and selectors (which authorise, route, limit and
write exactly as for the product's own API) and answers in the reference's envelope and
shapes (``compat.shapes``). Signed in by ``x-session-id`` (``compat.auth``): no cookie,
so no CSRF token."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.utils import timezone
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors as accounts_selectors
from accounts import services as accounts_services
from accounts.api.serializers import UserListRowSerializer, UserOutputSerializer
from accounts.api.views import client_ip
from accounts.presence import online_user_ids
from adminstats.selectors import chat_stats
from agents import services as routing
from chat import dtos
from chat import selectors as chat_selectors
from chat import services as chat_services
from chat_project.errors import NotFound
from compat import envelope, shapes
from compat.api import inputs
from compat.auth import SessionIdAuthentication

ROOMS_LISTED = 500  # open rooms in a list at most (the reference lists them all)
USERS_LISTED = 1000


class Enabled(BasePermission):
    """The edge answers only while enabled (``COMPAT_ENABLED``): otherwise not found."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not settings.COMPAT_ENABLED:
            raise NotFound("Route not found")
        return True


class IsAdmin(BasePermission):
    message = "admin role required"

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_admin)


class CompatApi(APIView):
    authentication_classes = [SessionIdAuthentication]
    permission_classes = [Enabled, IsAuthenticated]
    schema = None  # not the product's contract: README, "Coming from the reference backend"

    def get_exception_handler(self):
        return envelope.exception_handler


class AdminApi(CompatApi):
    permission_classes = [Enabled, IsAuthenticated, IsAdmin]


def _user(user: Any, *, viewer: Any, online: set[str] | None = None) -> dict[str, Any]:
    shown = dict(UserOutputSerializer(user, context={"viewer": viewer}).data)
    ids = online_user_ids() if online is None else online
    shown["online"] = str(user.pk) in ids
    return shapes.user(shown)


def _session(user: Any, key: str) -> dict[str, Any]:
    shown = dict(UserOutputSerializer(user, context={"viewer": user}).data)
    return shapes.session(shown, session_id=key, last_activity=dtos.iso(timezone.now()))


def _rooms(viewer: Any, *, statuses: tuple[str, ...], assigned_only: bool = False) -> list:
    """The caller's rooms of ``statuses`` as the product lists them, newest activity first."""
    found: list[dict[str, Any]] = []
    for status in statuses:
        cursor = None
        while len(found) < ROOMS_LISTED:
            page = chat_selectors.room_list(
                user=viewer, status=status, cursor=cursor, limit=100, assigned_only=assigned_only
            )
            found.extend(page["results"])
            cursor = page["next"]
            if cursor is None:
                break
    online = online_user_ids()
    emails = _emails(found, viewer)
    rooms = [shapes.room(room, online=online, emails=emails) for room in found]
    rooms.sort(key=lambda room: room["lastActivity"] or "", reverse=True)
    return rooms[:ROOMS_LISTED]


def _emails(rooms: list[dict[str, Any]], viewer: Any) -> dict[str, str]:
    """The participants' addresses, for an admin (the product's rule: the address is the
    user's own and the admins' to see)."""
    if not viewer.is_admin:
        return {}
    ids = {p["id"] for room in rooms for p in (room.get("customer"), room.get("agent")) if p}
    return {str(pk): user.email for pk, user in dtos.users_by_id(ids).items() if user.email}


def _room(shown: dict[str, Any], viewer: Any) -> dict[str, Any]:
    return shapes.room(shown, online=online_user_ids(), emails=_emails([shown], viewer))


# --- auth -------------------------------------------------------------------------------------


class RegisterApi(CompatApi):
    permission_classes = [Enabled, AllowAny]

    def post(self, request: Request) -> Response:
        data = inputs.parsed(inputs.RegisterInput, request.data)
        creator = request.user if request.user.is_authenticated else None
        role = data.pop("role")
        if role != "user" and (creator is None or not creator.is_admin):
            raise inputs.forbidden("Only an admin can create agents and admins.")
        user = accounts_services.user_register(
            **data, role=role, created_by=creator, ip=client_ip(request)
        )
        shown = _user(user, viewer=creator or user)
        return envelope.ok(shown, message="User registered successfully", status=201)


class LoginApi(CompatApi):
    permission_classes = [Enabled, AllowAny]

    def post(self, request: Request) -> Response:
        data = inputs.parsed(inputs.LoginInput, request.data)
        identifier = data.get("email") or data.get("username")
        # The product's sign-in, on a session of its own: the key is the answer's
        # ``sessionId``, and no cookie is set (the client sends it back as a header).
        session_request = _SessionRequest(request)
        user = accounts_services.user_login(
            request=session_request,
            username=identifier,
            password=data["password"],
            ip=client_ip(request),
        )
        session_request.session.save()
        key = session_request.session.session_key
        return envelope.ok(_session(user, key), message="Login successful")


class _SessionRequest(HttpRequest):
    """The request a sign-in or a sign-out runs on: the caller's metadata, and the
    session its key names (a new one for a sign-in), not the cookie's."""

    def __init__(self, request: Request, session_key: str | None = None) -> None:
        super().__init__()
        self.META = dict(request.META)  # a sign-in rotates the CSRF token in it
        self.method = request.method
        self.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
        self.user = request.user if session_key else AnonymousUser()


class LogoutApi(CompatApi):
    def post(self, request: Request) -> Response:
        # The product's sign-out of that session: it ends everywhere, its sockets close.
        accounts_services.user_logout(request=_SessionRequest(request, request.auth))
        return envelope.ok(None, message="Logged out successfully")


class ValidateSessionApi(CompatApi):
    def post(self, request: Request) -> Response:
        return envelope.ok(_session(request.user, request.auth), message="Session validated")


class ProfileApi(CompatApi):
    def get(self, request: Request) -> Response:
        return envelope.ok(_user(request.user, viewer=request.user), message="Profile")


class StatusApi(CompatApi):
    def put(self, request: Request) -> Response:
        data = inputs.parsed(inputs.StatusInput, request.data)
        accounts_services.user_set_status(user=request.user, status=data["status"])
        return envelope.ok(None, message="Status updated")


# --- chat -------------------------------------------------------------------------------------


class RoomsApi(CompatApi):
    def get(self, request: Request) -> Response:
        rooms = _rooms(request.user, statuses=("active", "queued"))
        return envelope.ok(rooms, message="Chat rooms")

    def post(self, request: Request) -> Response:
        data = inputs.parsed(inputs.RoomCreateInput, request.data)
        described = data["metadata"]["subject"].strip()
        room, created = chat_services.room_create(
            customer=request.user,
            # The reference's "subject" is a description: the room's subject is its first
            # line (as much of it as a subject holds), the whole text its first message,
            # which the reference posts and the room card previews.
            subject=shapes.subject_of(described),
            message=f"Hello! I need help with: {described}",
        )
        status, message = (201, "Chat room created") if created else (200, "Chat room open")
        return envelope.ok(_room(room, request.user), message=message, status=status)


class AgentRoomsApi(CompatApi):
    def get(self, request: Request) -> Response:
        query = inputs.parsed(inputs.AgentRoomsQuery, request.query_params)
        statuses = (query["status"],) if query.get("status") else ("active", "queued")
        rooms = _rooms(request.user, statuses=statuses, assigned_only=True)
        return envelope.ok(rooms, message="Assigned chat rooms")


class RoomApi(CompatApi):
    def get(self, request: Request, room_id: str) -> Response:
        room = chat_selectors.room_detail(room_id=room_id, user=request.user)
        return envelope.ok(_room(room, request.user), message="Chat room")

    def delete(self, request: Request, room_id: str) -> Response:
        room = chat_services.room_close(room_id=room_id, actor=request.user)
        return envelope.ok(_room(room, request.user), message="Chat room closed")


class MessagesApi(CompatApi):
    def get(self, request: Request, room_id: str) -> Response:
        query = inputs.parsed(inputs.MessagesQuery, request.query_params)
        page = chat_selectors.room_history_page(
            room_id=room_id, user=request.user, limit=query["limit"]
        )
        return envelope.ok([shapes.message(m) for m in page["results"]], message="Messages")


class SearchApi(CompatApi):
    def get(self, request: Request, room_id: str) -> Response:
        query = inputs.parsed(inputs.SearchQuery, request.query_params)
        found = chat_selectors.message_search(
            room_id=room_id, user=request.user, q=query["query"], limit=query["limit"]
        )
        return envelope.ok([shapes.message(m) for m in found["results"]], message="Messages")


class UnreadApi(CompatApi):
    def get(self, request: Request) -> Response:
        counts = chat_selectors.unread_counts(user=request.user)
        per_room = {room: n for room, n in counts["rooms"].items() if n}
        return envelope.ok({"total": counts["total"], "perRoom": per_room}, message="Unread")


class OnlineAgentsApi(CompatApi):
    def get(self, request: Request) -> Response:
        agents = accounts_selectors.agent_list(online_only=True)
        online = {str(a.user.pk) for a in agents}
        shown = [_user(a.user, viewer=request.user, online=online) for a in agents]
        return envelope.ok(shown, message="Online agents")


class AssignAgentApi(CompatApi):
    def post(self, request: Request) -> Response:
        data = inputs.parsed(inputs.AssignInput, request.data)
        routing.room_assign_agent(
            room_id=data["chatRoomId"], actor=request.user, agent_id=data.get("agentId")
        )
        return envelope.ok(None, message="Agent assigned successfully")


class TransferApi(CompatApi):
    def post(self, request: Request) -> Response:
        data = inputs.parsed(inputs.TransferInput, request.data)
        routing.room_transfer(
            room_id=data["chatRoomId"],
            actor=request.user,
            to_agent_id=data["toAgentId"],
            note=data.get("reason") or "",
        )
        return envelope.ok(None, message="Chat transferred successfully")


class NotOfferedApi(CompatApi):
    """What the reference frontend defines but no screen reaches: a clear 501."""

    def _answer(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return envelope.error(
            "not_implemented",
            "Not offered by this server (no screen of the reference frontend uses it).",
            status=501,
        )

    get = post = _answer


# --- admin ------------------------------------------------------------------------------------


class AdminStatsApi(AdminApi):
    def get(self, request: Request) -> Response:
        stats = chat_stats()
        online = stats["now"]["online"]
        data = {
            "totalUsers": accounts_selectors.user_count(),
            "activeAgents": online["agents"],
            "activeChats": stats["now"]["rooms"]["active"],
            "waitingChats": stats["now"]["rooms"]["queued"],
            "onlineUsers": online["customers"] + online["agents"] + online["admins"],
        }
        return envelope.ok(data, message="Stats")


class AdminChatStatsApi(AdminApi):
    def get(self, request: Request) -> Response:
        stats = chat_stats()
        counts = [{"_id": status, "count": n} for status, n in stats["now"]["rooms"].items()]
        workload = [
            {
                "_id": agent["id"],
                "username": agent["username"],
                "activeChats": agent["active_chats"],
                "maxChats": agent["max_chats"],
            }
            for agent in stats["agents"]
        ]
        return envelope.ok({"statusCounts": counts, "agentWorkload": workload}, message="Stats")


class AdminUsersApi(AdminApi):
    def get(self, request: Request) -> Response:
        shown: list[dict[str, Any]] = []
        after = None
        while len(shown) < USERS_LISTED:
            page = accounts_selectors.user_page(role=None, status=None, after=after, limit=200)
            rows = UserListRowSerializer(page.results, many=True, context={"viewer": request.user})
            shown.extend(shapes.user(row) for row in rows.data)
            after = page.next_cursor
            if after is None:
                break
        shown.sort(key=lambda user: user["createdAt"] or "", reverse=True)
        return envelope.ok(shown, message="Users")


class AdminUserStatusApi(AdminApi):
    def put(self, request: Request, user_id: str) -> Response:
        data = inputs.parsed(inputs.StatusInput, request.data)
        accounts_services.user_set_status_by_admin(
            actor=request.user, user_id=user_id, status=data["status"]
        )
        return envelope.ok(None, message="User status updated")


class AdminRoomsApi(AdminApi):
    def get(self, request: Request) -> Response:
        rooms = _rooms(request.user, statuses=("active", "queued"))
        return envelope.ok(rooms, message="Chat rooms")


class AdminWorkloadsApi(AdminApi):
    def get(self, request: Request) -> Response:
        agents = UserListRowSerializer(
            accounts_selectors.agent_list(online_only=False),
            many=True,
            context={"viewer": request.user},
        ).data
        active = []
        cursor = None
        while len(active) < ROOMS_LISTED:
            page = chat_selectors.room_list(
                user=request.user, status="active", cursor=cursor, limit=100
            )
            active.extend(page["results"])
            cursor = page["next"]
            if cursor is None:
                break
        by_agent: dict[str, list[dict[str, Any]]] = {}
        for room in active:
            if room.get("agent"):
                by_agent.setdefault(room["agent"]["id"], []).append(room)
        rows = [shapes.workload(agent, by_agent.get(agent["id"], [])) for agent in agents]
        rows.sort(key=lambda row: row["activeChatsCount"], reverse=True)
        return envelope.ok(rows, message="Agent workloads")


def _room_agent(room_id: str, actor: Any) -> Any:
    room = chat_selectors.room_detail(room_id=room_id, user=actor)
    return (room.get("agent") or {}).get("id")


class AdminAssignApi(AdminApi):
    """Assign an agent to a room, or (a room that has one) transfer it: the reference's
    one ``assignAgent`` for both, on the product's assignment and transfer, an admin's
    ``force`` passing capacity and availability (recorded as forced)."""

    def post(self, request: Request) -> Response:
        data = inputs.parsed(inputs.AdminAssignInput, request.data)
        room_id, agent_id = data["chatRoomId"], data["agentId"]
        if _room_agent(room_id, request.user) is None:
            routing.room_assign_agent(
                room_id=room_id, actor=request.user, agent_id=agent_id, force=True
            )
        else:
            routing.room_transfer(
                room_id=room_id,
                actor=request.user,
                to_agent_id=agent_id,
                note=data.get("reason") or "",
                force=True,
            )
        return envelope.ok(None, message="Agent assigned to chat room successfully")


class AdminRemoveApi(AdminApi):
    def post(self, request: Request) -> Response:
        data = inputs.parsed(inputs.AdminRemoveInput, request.data)
        routing.room_remove_agent(
            room_id=data["chatRoomId"], actor=request.user, reason=data.get("reason") or ""
        )
        return envelope.ok(None, message="Agent removed successfully")


class HealthApi(CompatApi):
    permission_classes = [Enabled, AllowAny]

    def get(self, request: Request) -> Response:
        return envelope.ok({"status": "ok", "timestamp": dtos.iso(timezone.now())}, message="OK")


class MissingApi(CompatApi):
    permission_classes = [Enabled, AllowAny]

    def _answer(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return envelope.error("not_found", "Route not found", status=404)

    get = post = put = patch = delete = _answer
