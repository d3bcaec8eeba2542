"""Webhooks are not sent to this network's own services (integrations/addresses.py):
internal IP literals are refused when an endpoint is registered, and the worker refuses
to connect where a host name resolves to an internal address."""

from __future__ import annotations

import socket

import pytest

from integrations import addresses, services, worker
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookKind

pytestmark = pytest.mark.django_db(transaction=True)

INTERNAL = [
    "http://127.0.0.1:8000/hook",
    "http://localhost/hook",
    "http://10.1.2.3/hook",
    "http://192.168.0.10/hook",
    "http://172.17.0.2:6379/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:8000/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://0.0.0.0/hook",
]


@pytest.fixture
def guarded(settings):
    settings.WEBHOOK_BLOCK_PRIVATE_ADDRESSES = True
    return settings


@pytest.mark.parametrize("url", INTERNAL)
def test_an_internal_address_is_refused_at_registration(guarded, api, support_admin, url):
    api.force_login(support_admin)
    answer = api.post("/api/admin/webhooks", {"url": url, "kinds": ["room.created"]})
    assert answer.status_code == 400, answer.content
    error = answer.json()["error"]
    assert error["code"] == "validation_error"
    assert "url" in error["details"]["fields"]
    assert WebhookEndpoint.objects.count() == 0


def test_public_addresses_and_names_are_accepted(guarded, support_admin):
    for url in ("https://8.8.8.8/hook", "https://hooks.example.com/in"):
        made = services.endpoint_create(actor=support_admin, url=url, kinds=["room.created"])
        assert made["url"] == url


def test_without_the_guard_a_loopback_receiver_is_allowed(support_admin):
    made = services.endpoint_create(
        actor=support_admin, url="http://127.0.0.1:9/hook", kinds=["room.created"]
    )
    assert made["url"] == "http://127.0.0.1:9/hook"


def test_a_name_resolving_to_any_internal_address_is_not_connected_to(guarded, monkeypatch):
    public = (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("8.8.8.8", 443))
    rebound = (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", 443))
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [public, rebound])
    with pytest.raises(addresses.AddressNotAllowed):
        addresses.checked_address("hooks.example.com", 443)
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [public])
    assert addresses.checked_address("hooks.example.com", 443) == "8.8.8.8"


def test_the_worker_does_not_send_to_an_internal_address(receiver, support_admin, settings):
    # Registered while the guard was off (development), sent once it is on.
    hook = services.endpoint_create(
        actor=support_admin, url=receiver.url, kinds=[WebhookKind.ROOM_CREATED]
    )
    services.endpoint_send_test(actor=support_admin, endpoint_id=hook["id"])
    settings.WEBHOOK_BLOCK_PRIVATE_ADDRESSES = True
    worker.webhooks_tick()
    assert receiver.requests == []
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.attempts == 1
    assert "internal address" in delivery.last_error
