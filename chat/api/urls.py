from django.urls import path

from chat.api import customer_context, room_tools, views

urlpatterns = [
    path("rooms", views.RoomListCreateApi.as_view(), name="chat-rooms"),
    path("rooms/agent", views.AgentRoomListApi.as_view(), name="chat-rooms-agent"),
    path("rooms/<oid:room_id>", views.RoomDetailApi.as_view(), name="chat-room"),
    path(
        "rooms/<oid:room_id>/messages", views.RoomMessagesApi.as_view(), name="chat-room-messages"
    ),
    path(
        "rooms/<oid:room_id>/messages/<oid:message_id>",
        views.MessageDetailApi.as_view(),
        name="chat-room-message",
    ),
    path(
        "rooms/<oid:room_id>/messages/<oid:message_id>/edits",
        views.MessageEditsApi.as_view(),
        name="chat-room-message-edits",
    ),
    path("rooms/<oid:room_id>/events", views.RoomEventsApi.as_view(), name="chat-room-events"),
    path(
        "rooms/<oid:room_id>/receipts", views.RoomReceiptsApi.as_view(), name="chat-room-receipts"
    ),
    path("rooms/<oid:room_id>/search", views.RoomSearchApi.as_view(), name="chat-room-search"),
    path(
        "rooms/<oid:room_id>/attachments",
        views.AttachmentUploadApi.as_view(),
        name="chat-room-attachments",
    ),
    path(
        "attachments/<oid:attachment_id>",
        views.AttachmentDownloadApi.as_view(),
        name="chat-attachment",
    ),
    path("unread-count", views.UnreadCountApi.as_view(), name="chat-unread-count"),
    path("rooms/<oid:room_id>/notes", room_tools.RoomNotesApi.as_view(), name="chat-room-notes"),
    path(
        "rooms/<oid:room_id>/notes/<oid:note_id>",
        room_tools.NoteDetailApi.as_view(),
        name="chat-room-note",
    ),
    path(
        "rooms/<oid:room_id>/notes/<oid:note_id>/edits",
        room_tools.NoteEditsApi.as_view(),
        name="chat-room-note-edits",
    ),
    path("rooms/<oid:room_id>/tags", room_tools.RoomTagsApi.as_view(), name="chat-room-tags"),
    path(
        "rooms/<oid:room_id>/tags/<str:tag>",
        room_tools.RoomTagDetailApi.as_view(),
        name="chat-room-tag",
    ),
    path("rooms/<oid:room_id>/rating", room_tools.RoomRatingApi.as_view(), name="chat-room-rating"),
    path(
        "rooms/<oid:room_id>/transcript",
        room_tools.RoomTranscriptApi.as_view(),
        name="chat-room-transcript",
    ),
    path(
        "rooms/<oid:room_id>/customer-context",
        customer_context.RoomCustomerContextApi.as_view(),
        name="chat-room-customer-context",
    ),
]
