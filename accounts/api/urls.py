from django.urls import path

from accounts.api import views

urlpatterns = [
    path("csrf", views.CsrfApi.as_view(), name="auth-csrf"),
    path("register", views.RegisterApi.as_view(), name="auth-register"),
    path("login", views.LoginApi.as_view(), name="auth-login"),
    path("logout", views.LogoutApi.as_view(), name="auth-logout"),
    path("validate-session", views.ValidateSessionApi.as_view(), name="auth-validate-session"),
    path("profile", views.ProfileApi.as_view(), name="auth-profile"),
    path("status", views.StatusApi.as_view(), name="auth-status"),
    path("agents/online", views.AgentsOnlineApi.as_view(), name="auth-agents-online"),
    path("agents/all", views.AgentsAllApi.as_view(), name="auth-agents-all"),
    path("users", views.UserListApi.as_view(), name="auth-users"),
    path("users/<oid:user_id>/status", views.UserStatusApi.as_view(), name="auth-user-status"),
]
