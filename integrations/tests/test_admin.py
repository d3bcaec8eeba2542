"""Webhooks in the Django admin: an endpoint added through the form gets a generated secret
(shown once), the lists show status and counts, and the actions call the services."""

from __future__ import annotations

import pytest

from chat.tests.factories import room_open, send
from integrations import services, worker
from integrations.models import (
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookKind,
    WebhookSentRow,
)

pytestmark = pytest.mark.django_db(transaction=True)

ENDPOINTS = "/admin/integrations/webhookendpoint/"
DELIVERIES = "/admin/integrations/webhookdelivery/"
SENT = "/admin/integrations/webhooksentrow/"


@pytest.fixture
def staff_client(client, support_admin):
    client.force_login(support_admin)
    return client


def test_adding_an_endpoint_generates_its_secret_and_shows_it_once(staff_client):
    answer = staff_client.post(
        f"{ENDPOINTS}add/",
        {"url": "https://crm.example.com/in", "kinds": ["room.closed"], "scope": "staff"},
        follow=True,
    )
    assert answer.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.kinds, endpoint.scope) == (["room.closed"], "staff")
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.secret in answer.content.decode()
    assert (
        endpoint.secret
        not in staff_client.get(f"{ENDPOINTS}{endpoint.pk}/change/").content.decode()
    )


def test_lists_and_actions(staff_client, support_admin, customer, receiver):
    created = services.endpoint_create(
        actor=support_admin, url=receiver.url, kinds=[WebhookKind.MESSAGE_CREATED]
    )
    send(room_open(customer), customer, "hi")
    for _ in range(20):
        worker.webhooks_tick()
        if receiver.delivered():
            break
    page = staff_client.get(ENDPOINTS).content.decode()
    assert receiver.url in page
    # Delivered at the first attempt: a sent row, with the endpoint's status code.
    row = WebhookSentRow.objects.get()
    assert "200 at" in staff_client.get(f"{SENT}{row.pk}/change/").content.decode()
    assert staff_client.get(f"{SENT}?kind__exact=message.created").status_code == 200
    staff_client.post(SENT, {"action": "redeliver", "_selected_action": [str(row.pk)]})
    delivery = WebhookDelivery.objects.get()  # queued again in the outbox, the same id
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 0)
    assert str(delivery.delivery_id) == row.sent[str(created["id"])]["delivery_id"]

    # The outbox's own list and its redeliver action.
    for _ in range(20):
        worker.webhooks_tick()
        if len(receiver.delivered()) == 2:
            break
    assert staff_client.get(f"{DELIVERIES}?status__exact=delivered").status_code == 200
    staff_client.post(DELIVERIES, {"action": "redeliver", "_selected_action": [str(delivery.pk)]})
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 0)

    pk = str(created["id"])
    staff_client.post(ENDPOINTS, {"action": "pause", "_selected_action": [pk]})
    assert WebhookEndpoint.objects.get(pk=pk).status == "paused"
    staff_client.post(ENDPOINTS, {"action": "resume", "_selected_action": [pk]})
    assert WebhookEndpoint.objects.get(pk=pk).status == "active"
    staff_client.post(ENDPOINTS, {"action": "send_test_event", "_selected_action": [pk]})
    assert WebhookDelivery.objects.filter(kind="webhook.test").count() == 1
