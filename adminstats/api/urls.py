from django.urls import path

from adminstats.api import views

urlpatterns = [
    path("chat-stats", views.ChatStatsApi.as_view(), name="admin-chat-stats"),
]
