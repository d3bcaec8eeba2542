from django.urls import path

from integrations.api import views

urlpatterns = [
    path("webhooks", views.WebhookListCreateApi.as_view(), name="admin-webhooks"),
    path(
        "webhooks/deliveries/<deliveryid:delivery_id>/redeliver",
        views.WebhookRedeliverApi.as_view(),
        name="admin-webhook-redeliver",
    ),
    path("webhooks/<oid:endpoint_id>", views.WebhookDetailApi.as_view(), name="admin-webhook"),
    path(
        "webhooks/<oid:endpoint_id>/deliveries",
        views.WebhookDeliveryListApi.as_view(),
        name="admin-webhook-deliveries",
    ),
    path(
        "webhooks/<oid:endpoint_id>/resume",
        views.WebhookResumeApi.as_view(),
        name="admin-webhook-resume",
    ),
]
