from django.urls import path

from agents.api import views

urlpatterns = [
    path("assign-agent", views.AssignAgentApi.as_view(), name="chat-assign-agent"),
    path("transfer", views.TransferApi.as_view(), name="chat-transfer"),
    path("remove-agent", views.RemoveAgentApi.as_view(), name="chat-remove-agent"),
    path("queue", views.QueueApi.as_view(), name="chat-queue"),
    path("canned-responses", views.CannedListCreateApi.as_view(), name="chat-canned-responses"),
    path(
        "canned-responses/<oid:canned_id>",
        views.CannedDetailApi.as_view(),
        name="chat-canned-response",
    ),
    path("teams", views.TeamListApi.as_view(), name="chat-teams"),
    path("topics", views.TopicListApi.as_view(), name="chat-topics"),
    path("offline-messages", views.OfflineMessageListApi.as_view(), name="chat-offline-messages"),
    path("rooms/<oid:room_id>/skills", views.RoomSkillsApi.as_view(), name="chat-room-skills"),
    path(
        "rooms/<oid:room_id>/offline-message",
        views.LeaveMessageApi.as_view(),
        name="chat-room-offline-message",
    ),
]
