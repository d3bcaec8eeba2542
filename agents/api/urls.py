from django.urls import path

from agents.api import views

urlpatterns = [
    path("assign-agent", views.AssignAgentApi.as_view(), name="chat-assign-agent"),
    path("transfer", views.TransferApi.as_view(), name="chat-transfer"),
    path("queue", views.QueueApi.as_view(), name="chat-queue"),
    path("canned-responses", views.CannedListCreateApi.as_view(), name="chat-canned-responses"),
    path(
        "canned-responses/<oid:canned_id>",
        views.CannedDetailApi.as_view(),
        name="chat-canned-response",
    ),
]
