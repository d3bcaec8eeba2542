"""The reference backend's paths (below its ``/api``), at ``/compat/api/``."""

from django.urls import path, re_path

from compat.api import views

urlpatterns = [
    path("auth/register", views.RegisterApi.as_view()),
    path("auth/login", views.LoginApi.as_view()),
    path("auth/logout", views.LogoutApi.as_view()),
    path("auth/validate-session", views.ValidateSessionApi.as_view()),
    path("auth/profile", views.ProfileApi.as_view()),
    path("auth/status", views.StatusApi.as_view()),
    path("chat/rooms", views.RoomsApi.as_view()),
    path("chat/rooms/agent", views.AgentRoomsApi.as_view()),
    path("chat/rooms/<oid:room_id>", views.RoomApi.as_view()),
    path("chat/rooms/<oid:room_id>/messages", views.MessagesApi.as_view()),
    path("chat/rooms/<oid:room_id>/search", views.SearchApi.as_view()),
    path("chat/unread-count", views.UnreadApi.as_view()),
    path("chat/online-agents", views.OnlineAgentsApi.as_view()),
    path("chat/assign-agent", views.AssignAgentApi.as_view()),
    path("chat/transfer", views.TransferApi.as_view()),
    path("chat/export", views.NotOfferedApi.as_view()),
    path("chat/admin/agent-workload-stats", views.NotOfferedApi.as_view()),
    path("admin/stats", views.AdminStatsApi.as_view()),
    path("admin/chat-stats", views.AdminChatStatsApi.as_view()),
    path("admin/users", views.AdminUsersApi.as_view()),
    path("admin/users/<oid:user_id>/status", views.AdminUserStatusApi.as_view()),
    path("admin/chat-rooms", views.AdminRoomsApi.as_view()),
    path("admin/agent-workloads", views.AdminWorkloadsApi.as_view()),
    path("admin/assign-agent", views.AdminAssignApi.as_view()),
    path("admin/transfer-agent", views.AdminAssignApi.as_view()),
    path("admin/remove-agent", views.AdminRemoveApi.as_view()),
    path("admin/transfer-agent-between-chats", views.NotOfferedApi.as_view()),
    path("health", views.HealthApi.as_view()),
    re_path(r"^.*$", views.MissingApi.as_view()),
]
