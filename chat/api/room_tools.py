"""REST for what agents and managers use around the messages: a room's private notes
(agents and admins), its tags (agents and admins) and its satisfaction rating (its
customer). Each view parses, calls one selector or service, and answers; authorisation
is the services' (a customer asking for notes is ``permission_denied``)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chat import selectors, services
from chat.api.serializers import (
    EditedNoteOutputSerializer,
    NoteAuditSerializer,
    NoteDeletedSerializer,
    NoteInputSerializer,
    NoteListQuerySerializer,
    NoteOutputSerializer,
    NotePageSerializer,
    RatedOutputSerializer,
    RatingInputSerializer,
    TagInputSerializer,
    TagsOutputSerializer,
    TranscriptOutputSerializer,
)
from chat.api.views import next_url, parsed
from chat_project.schema import ERROR


class RoomNotesApi(APIView):
    @extend_schema(parameters=[NoteListQuerySerializer], responses=NotePageSerializer)
    def get(self, request: Request, room_id) -> Response:
        query = parsed(NoteListQuerySerializer, request.query_params)
        page = selectors.note_list(
            room_id=room_id, user=request.user, after_seq=query["after_seq"], limit=query["limit"]
        )
        return Response(
            {
                "results": page["results"],
                "next": next_url(request, page["next"], limit=query["limit"]),
            }
        )

    @extend_schema(request=NoteInputSerializer, responses={201: NoteOutputSerializer, 409: ERROR})
    def post(self, request: Request, room_id) -> Response:
        data = parsed(NoteInputSerializer, request.data)
        note = services.note_add(room_id=str(room_id), author=request.user, text=data["text"])
        return Response(note, status=201)


class NoteDetailApi(APIView):
    @extend_schema(
        request=NoteInputSerializer, responses={200: EditedNoteOutputSerializer, 409: ERROR}
    )
    def patch(self, request: Request, room_id, note_id) -> Response:
        data = parsed(NoteInputSerializer, request.data)
        return Response(
            services.note_edit(
                room_id=str(room_id), note_id=str(note_id), actor=request.user, text=data["text"]
            )
        )

    @extend_schema(responses={200: NoteDeletedSerializer, 409: ERROR})
    def delete(self, request: Request, room_id, note_id) -> Response:
        return Response(
            services.note_delete(room_id=str(room_id), note_id=str(note_id), actor=request.user)
        )


class NoteEditsApi(APIView):
    @extend_schema(responses=NoteAuditSerializer)
    def get(self, request: Request, room_id, note_id) -> Response:
        return Response(selectors.note_audit(room_id=room_id, note_id=note_id, user=request.user))


class RoomTagsApi(APIView):
    @extend_schema(request=TagInputSerializer, responses={200: TagsOutputSerializer, 409: ERROR})
    def post(self, request: Request, room_id) -> Response:
        data = parsed(TagInputSerializer, request.data)
        return Response(
            services.room_tag(room_id=str(room_id), actor=request.user, tag=data["tag"])
        )


class RoomTagDetailApi(APIView):
    @extend_schema(responses={200: TagsOutputSerializer, 409: ERROR})
    def delete(self, request: Request, room_id, tag: str) -> Response:
        return Response(services.room_untag(room_id=str(room_id), actor=request.user, tag=tag))


class RoomRatingApi(APIView):
    @extend_schema(
        request=RatingInputSerializer, responses={201: RatedOutputSerializer, 409: ERROR}
    )
    def post(self, request: Request, room_id) -> Response:
        data = parsed(RatingInputSerializer, request.data)
        rated = services.room_rate(
            room_id=str(room_id),
            customer=request.user,
            score=data["score"],
            comment=data["comment"],
        )
        return Response(rated, status=201)


class RoomTranscriptApi(APIView):
    """Issue 30: the customer e-mails themself the transcript of their closed chat."""

    @extend_schema(
        request=None, responses={202: TranscriptOutputSerializer, 409: ERROR, 429: ERROR}
    )
    def post(self, request: Request, room_id) -> Response:
        sent = services.room_transcript_email(room_id=str(room_id), customer=request.user)
        return Response(sent, status=202)
