from django.urls import path

from chat import pages

urlpatterns = [
    path("chat/", pages.CustomerPageView.as_view(), name="page-customer"),
    path("agent/", pages.AgentPageView.as_view(), name="page-agent"),
]
