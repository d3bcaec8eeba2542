"""The chat REST API: each view parses, calls one service or selector, and answers.
Authorisation lives in the selectors (visibility: a room the caller may not see is a
404) and services (what a visible room's caller may do: 403)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.core.files.uploadhandler import MemoryFileUploadHandler, TemporaryFileUploadHandler
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chat import selectors, services
from chat.api.serializers import (
    AttachmentOutputSerializer,
    AttachmentUploadInputSerializer,
    EditedMessageOutputSerializer,
    HistoryPageSerializer,
    HistoryQuerySerializer,
    MessageAuditSerializer,
    MessageDeletedSerializer,
    MessageEditInputSerializer,
    MessageOutputSerializer,
    MessageSendInputSerializer,
    ReceiptInputSerializer,
    ReceiptOutputSerializer,
    ReplayOutputSerializer,
    ReplayQuerySerializer,
    RoomCreateInputSerializer,
    RoomListQuerySerializer,
    RoomOutputSerializer,
    RoomPageSerializer,
    SearchPageSerializer,
    SearchQuerySerializer,
    UnreadOutputSerializer,
)
from chat.attachments import CappedUploadHandler
from chat_project.schema import ERROR


def next_url(request: Request, params: dict | None, **keep) -> str | None:
    """``next`` as a link to the following page (path and query, no host)."""
    if params is None:
        return None
    query = {k: v for k, v in keep.items() if v not in (None, "")} | params
    return f"{request.path}?{urlencode(query)}"


def parsed(serializer_class, data):
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _room_page(request: Request, *, assigned_only: bool) -> Response:
    query = parsed(RoomListQuerySerializer, request.query_params)
    page = selectors.room_list(
        user=request.user,
        status=query.get("status"),
        cursor=query.get("cursor"),
        limit=query["limit"],
        assigned_only=assigned_only,
        tag=query.get("tag"),
    )
    next_params = {"cursor": page["next"]} if page["next"] else None
    return Response(
        {
            "results": page["results"],
            "next": next_url(
                request,
                next_params,
                status=query.get("status"),
                tag=query.get("tag"),
                limit=query["limit"],
            ),
        }
    )


class RoomListCreateApi(APIView):
    @extend_schema(
        operation_id="chat_rooms_list",
        parameters=[RoomListQuerySerializer],
        responses=RoomPageSerializer,
    )
    def get(self, request: Request) -> Response:
        return _room_page(request, assigned_only=False)

    @extend_schema(
        request=RoomCreateInputSerializer,
        responses={201: RoomOutputSerializer, 200: RoomOutputSerializer, 409: ERROR},
    )
    def post(self, request: Request) -> Response:
        data = parsed(RoomCreateInputSerializer, request.data)
        room, created = services.room_create(
            customer=request.user,
            subject=data["subject"],
            message=data.get("message"),
            team_id=data.get("team_id"),
            topic=data.get("topic"),
        )
        return Response(room, status=201 if created else 200)


class AgentRoomListApi(APIView):
    @extend_schema(
        operation_id="chat_rooms_agent_list",
        parameters=[RoomListQuerySerializer],
        responses=RoomPageSerializer,
    )
    def get(self, request: Request) -> Response:
        return _room_page(request, assigned_only=True)


class RoomDetailApi(APIView):
    @extend_schema(responses=RoomOutputSerializer)
    def get(self, request: Request, room_id) -> Response:
        return Response(selectors.room_detail(room_id=room_id, user=request.user))

    @extend_schema(responses={200: RoomOutputSerializer})
    def delete(self, request: Request, room_id) -> Response:
        return Response(services.room_close(room_id=str(room_id), actor=request.user))


class RoomMessagesApi(APIView):
    @extend_schema(parameters=[HistoryQuerySerializer], responses=HistoryPageSerializer)
    def get(self, request: Request, room_id) -> Response:
        query = parsed(HistoryQuerySerializer, request.query_params)
        page = selectors.room_history_page(
            room_id=room_id,
            user=request.user,
            before_seq=query.get("before_seq"),
            after_seq=query.get("after_seq"),
            limit=query["limit"],
        )
        return Response(
            {
                "results": page["results"],
                "next": next_url(request, page["next"], limit=query["limit"]),
                "last_seq": page["last_seq"],
                "watermarks": page["watermarks"],
            }
        )

    @extend_schema(
        request=MessageSendInputSerializer,
        responses={201: MessageOutputSerializer, 200: MessageOutputSerializer, 409: ERROR},
    )
    def post(self, request: Request, room_id) -> Response:
        data = parsed(MessageSendInputSerializer, request.data)
        message, created = services.message_send_or_replay(
            room_id=str(room_id),
            sender=request.user,
            client_msg_id=data["client_msg_id"],
            text=data["text"],
            attachment_ids=data["attachment_ids"],
        )
        return Response(message, status=201 if created else 200)


class MessageDetailApi(APIView):
    @extend_schema(
        request=MessageEditInputSerializer,
        responses={200: EditedMessageOutputSerializer, 409: ERROR},
    )
    def patch(self, request: Request, room_id, message_id) -> Response:
        data = parsed(MessageEditInputSerializer, request.data)
        result = services.message_edit(
            room_id=str(room_id), message_id=str(message_id), actor=request.user, text=data["text"]
        )
        return Response({**result["message"], "event_seq": result["seq"]})

    @extend_schema(responses={200: MessageDeletedSerializer, 409: ERROR})
    def delete(self, request: Request, room_id, message_id) -> Response:
        return Response(
            services.message_delete(
                room_id=str(room_id), message_id=str(message_id), actor=request.user
            )
        )


class MessageEditsApi(APIView):
    @extend_schema(responses=MessageAuditSerializer)
    def get(self, request: Request, room_id, message_id) -> Response:
        return Response(
            selectors.message_audit(room_id=room_id, message_id=message_id, user=request.user)
        )


class RoomEventsApi(APIView):
    """Replay for clients without a socket: the ``sync`` answer of one room."""

    @extend_schema(
        parameters=[ReplayQuerySerializer],
        responses={200: ReplayOutputSerializer, 409: ERROR},
    )
    def get(self, request: Request, room_id) -> Response:
        query = parsed(ReplayQuerySerializer, request.query_params)
        return Response(
            selectors.room_events_after(
                room_id=room_id,
                user=request.user,
                after_seq=query["after_seq"],
                limit=query["limit"],
            )
        )


class RoomReceiptsApi(APIView):
    """``message-delivered`` / ``message-read`` for clients without a socket."""

    @extend_schema(request=ReceiptInputSerializer, responses=ReceiptOutputSerializer)
    def post(self, request: Request, room_id) -> Response:
        data = parsed(ReceiptInputSerializer, request.data)
        return Response(
            services.receipt_advance(
                room_id=str(room_id),
                user=request.user,
                kind=data["kind"],
                up_to_seq=data.get("up_to_seq"),
                message_id=data.get("message_id"),
            )
        )


class RoomSearchApi(APIView):
    @extend_schema(parameters=[SearchQuerySerializer], responses=SearchPageSerializer)
    def get(self, request: Request, room_id) -> Response:
        query = parsed(SearchQuerySerializer, request.query_params)
        page = selectors.message_search(
            room_id=room_id,
            user=request.user,
            q=query["q"],
            before_seq=query.get("before_seq"),
            limit=query["limit"],
        )
        return Response(
            {
                "results": page["results"],
                "next": next_url(request, page["next"], q=query["q"], limit=query["limit"]),
            }
        )


class AttachmentUploadApi(APIView):
    """Multipart field ``file``. The capped handler is installed before anything reads
    the body (authentication reads it for the CSRF check), so an oversized upload
    stops at the cap instead of being spooled whole."""

    parser_classes = [MultiPartParser]

    def initial(self, request: Request, *args, **kwargs) -> None:
        django_request = request._request
        django_request.upload_handlers = [
            CappedUploadHandler(django_request),
            MemoryFileUploadHandler(django_request),
            TemporaryFileUploadHandler(django_request),
        ]
        super().initial(request, *args, **kwargs)

    @extend_schema(
        request={"multipart/form-data": AttachmentUploadInputSerializer},
        responses={201: AttachmentOutputSerializer, 409: ERROR},
    )
    def post(self, request: Request, room_id) -> Response:
        attachment = services.attachment_upload(
            room_id=str(room_id), uploader=request.user, file=request.FILES.get("file")
        )
        return Response(attachment, status=201)


class AttachmentDownloadApi(APIView):
    @extend_schema(
        responses={
            **{
                (200, content_type): OpenApiResponse(OpenApiTypes.BINARY, description="the file")
                for content_type in settings.CHAT_ATTACHMENT_TYPES
            },
        }
    )
    def get(self, request: Request, attachment_id) -> FileResponse:
        attachment, handle = services.attachment_open(
            attachment_id=str(attachment_id), user=request.user
        )
        response = FileResponse(
            handle,
            as_attachment=True,
            filename=attachment.filename,
            content_type=attachment.content_type,
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["Cache-Control"] = "private, no-store"
        return response


class UnreadCountApi(APIView):
    @extend_schema(responses=UnreadOutputSerializer)
    def get(self, request: Request) -> Response:
        return Response(selectors.unread_counts(user=request.user))
