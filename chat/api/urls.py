from django.urls import path

from chat.api import views

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
]
