"""Crafted input answered with the error envelope, never a 500 (issue 18, item 1).

The malformed-multipart case happens in the transport (Twisted parsed the body before
Django), so it is tested against a real daphne in ``tests/e2e/test_transport.py``.
"""

from __future__ import annotations

import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from chat.tests.factories import room_with_agent, send

pytestmark = pytest.mark.django_db(transaction=True)

DEEP_ARRAY = "[" * 1000 + "]" * 1000  # 2 KB; a RecursionError in DRF's JSON parser
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000


def error(response) -> dict:
    assert response["Content-Type"] == "application/json", response.content[:200]
    return response.json()["error"]


def csrf_client(user=None) -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    client.get("/api/auth/csrf")
    return client, client.cookies["csrftoken"].value


def json_operations() -> list[tuple[str, str]]:
    """Every (method, path template) of the schema that takes a JSON body."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    found = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            content = (operation.get("requestBody") or {}).get("content", {})
            if "application/json" in content:
                found.append((method, path))
    return found


@pytest.fixture
def world(customer, agent, support_admin):
    from agents.services import canned_create
    from chat.services import note_add
    from integrations.services import endpoint_create, endpoint_send_test

    room = room_with_agent(customer, agent)
    message = send(room, customer, "hello")
    note = note_add(room_id=str(room.pk), author=agent, text="a note")
    canned = canned_create(user=agent, shortcut="hi", text="Hello!")
    hook = endpoint_create(
        actor=support_admin, url="https://hooks.example.com/in", kinds=["room.created"]
    )
    delivery = endpoint_send_test(actor=support_admin, endpoint_id=hook["id"])
    return {
        "room_id": str(room.pk),
        "message_id": message["id"],
        "note_id": note["id"],
        "canned_id": canned["id"],
        "user_id": str(customer.pk),
        "endpoint_id": hook["id"],
        "delivery_id": delivery["id"],
    }


def test_every_json_operation_is_listed():
    operations = json_operations()
    assert ("post", "/api/auth/register") in operations
    assert ("post", "/api/auth/login") in operations
    assert ("patch", "/api/chat/rooms/{room_id}/messages/{message_id}") in operations
    assert len(operations) >= 9


@pytest.mark.parametrize("body", [DEEP_ARRAY, DEEP_OBJECT], ids=["array", "object"])
def test_deeply_nested_json_is_a_400_on_every_json_endpoint(world, support_admin, body):
    """Issue 18: JSON nested ~1,000 levels deep (2 KB) was a 500 on every JSON endpoint,
    anonymously through register and login (a RecursionError in the parser)."""
    anonymous, anonymous_token = csrf_client()
    admin, admin_token = csrf_client(support_admin)
    for method, template in json_operations():
        path = template.format(**world)
        for client, token in ((anonymous, anonymous_token), (admin, admin_token)):
            response = getattr(client, method)(
                path, body, content_type="application/json", HTTP_X_CSRFTOKEN=token
            )
            if client is anonymous and response.status_code == 401:
                continue  # the session is checked before the body is read
            assert response.status_code == 400, (method, path, response.content[:200])
            assert error(response)["code"] == "validation_error"


def test_json_within_the_depth_bound_is_parsed(customer):
    client, token = csrf_client(customer)
    nested = {"subject": "help", "extra": [[[[[[[[{"deep": True}]]]]]]]]}
    response = client.post(
        "/api/chat/rooms", nested, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("messages", "before_seq=9223372036854775808"),
        ("messages", "after_seq=9223372036854775807"),
        ("messages", "before_seq=99999999999999999999999999"),
        ("events", "after_seq=9223372036854775808"),
        ("search", "q=hello&before_seq=9223372036854775808"),
    ],
)
def test_seqs_beyond_what_mongodb_holds_are_400(world, customer, path, query):
    """Issue 18: ``before_seq=2**63`` (or ``after_seq=2**63-1``) on the history was a 500
    (``OverflowError: MongoDB can only handle up to 8-byte ints``)."""
    client, _ = csrf_client(customer)
    response = client.get(f"/api/chat/rooms/{world['room_id']}/{path}?{query}")
    assert response.status_code == 400, response.content
    assert error(response)["code"] == "validation_error"


@pytest.mark.parametrize("query", ["after_seq=9007199254740992", "before_seq=9007199254740992"])
def test_the_largest_seq_accepted_pages_from_the_end(world, customer, query):
    client, _ = csrf_client(customer)
    response = client.get(f"/api/chat/rooms/{world['room_id']}/messages?{query}")
    assert response.status_code == 200, response.content
    assert len(response.json()["results"]) == (0 if query.startswith("after") else 1)


@pytest.fixture
def debug_on(settings):
    """As ``./run.sh`` runs (DJANGO_DEBUG=1)."""
    settings.DEBUG = True
    return settings


def test_malformed_id_is_a_json_404_with_debug_on(debug_on, world, customer):
    """Issue 18: with DEBUG on, a malformed id got Django's HTML 404 page."""
    client, _ = csrf_client(customer)
    for path in ("/api/chat/rooms/not-an-id", "/api/chat/rooms/abc/messages", "/api/nowhere"):
        response = client.get(path)
        assert response.status_code == 404
        assert error(response)["code"] == "not_found"


def test_over_large_body_is_a_json_413_with_debug_on(debug_on, world, customer):
    """Issue 18: with DEBUG on, a body over DATA_UPLOAD_MAX_MEMORY_SIZE got Django's HTML
    debug page (a 400 without it)."""
    client, token = csrf_client(customer)
    body = '{"client_msg_id": "big", "text": "' + "x" * 3_000_000 + '"}'
    response = client.post(
        f"/api/chat/rooms/{world['room_id']}/messages",
        body,
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 413
    assert error(response)["code"] == "payload_too_large"


def test_a_bug_is_a_json_500_with_debug_on(debug_on, world, customer, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("chat.selectors.unread_counts", broken)
    client, _ = csrf_client(customer)
    response = client.get("/api/chat/unread-count")
    assert response.status_code == 500
    assert error(response)["code"] == "server_error"
    assert "a bug" not in response.content.decode()


def test_pages_outside_the_api_keep_djangos_debug_pages(debug_on, db):
    response = Client().get("/nowhere/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
