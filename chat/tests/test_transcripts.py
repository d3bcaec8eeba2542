"""``POST /api/chat/rooms/{id}/transcript`` (issue 30): the customer of a closed chat
e-mails themself its transcript, rendered from their own view (no private notes, no
deleted text, no SLA rows); the 401, 403, 404, 409, 400 and 429 of it."""

from __future__ import annotations

import uuid

import pytest
from django.core import mail

from accounts.models import User
from chat import services
from chat.services import notes
from chat.tests.factories import room_assign, room_open

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "the customer is a VIP, comp them"


def code(response) -> str:
    return response.json()["error"]["code"]


def say(room, user, text):
    return services.message_send(
        room_id=str(room.pk), sender=user, client_msg_id=uuid.uuid4().hex, text=text
    )


@pytest.fixture
def chat(customer, agent):
    room = room_assign(room_open(customer, subject="Invoice"), agent)
    say(room, customer, "My invoice is wrong")
    say(room, agent, "Let me check")
    gone = say(room, customer, "oops, a password: hunter2")
    services.message_delete(room_id=str(room.pk), message_id=gone["id"], actor=customer)
    notes.note_add(room_id=str(room.pk), author=agent, text=SECRET)
    return room


def path(room) -> str:
    return f"/api/chat/rooms/{room.pk}/transcript"


def test_the_customer_gets_the_transcript_of_a_closed_chat(api, customer, chat):
    api.login("alice")
    still_open = api.post(path(chat))
    assert (still_open.status_code, code(still_open)) == (409, "conflict")
    services.room_close(room_id=str(chat.pk), actor=customer)

    answer = api.post(path(chat))

    assert answer.status_code == 202, answer.content
    assert answer.json()["email"] == "alice@example.com"
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["alice@example.com"]
    assert "Invoice" in sent.subject
    assert "Alice: My invoice is wrong" in sent.body
    assert "Agent1: Let me check" in sent.body
    assert "The chat was closed" in sent.body
    # The customer's view only: no note, no deleted text.
    assert SECRET not in sent.body
    assert "hunter2" not in sent.body


def test_who_may_ask(api, customer, other_customer, agent, chat):
    services.room_close(room_id=str(chat.pk), actor=customer)
    assert api.post(path(chat)).status_code == 401
    api.login("bob")
    assert api.post(path(chat)).status_code == 404
    api.login("agent1")
    refused = api.post(path(chat))
    assert (refused.status_code, code(refused)) == (403, "permission_denied")
    api.login("alice")
    assert api.post("/api/chat/rooms/000000000000000000000000/transcript").status_code == 404
    assert mail.outbox == []
    User.objects.filter(pk=customer.pk).update(email="")
    missing = api.post(path(chat))
    assert (missing.status_code, code(missing)) == (400, "validation_error")


def test_rate_limited(api, customer, chat, settings):
    settings.TRANSCRIPT_MAX_PER_HOUR = 2
    services.room_close(room_id=str(chat.pk), actor=customer)
    api.login("alice")
    assert [api.post(path(chat)).status_code for _ in range(2)] == [202, 202]
    third = api.post(path(chat))
    assert (third.status_code, code(third)) == (429, "rate_limited")
    assert third.json()["error"]["details"]["retry_after"] > 0
    assert len(mail.outbox) == 2


def test_a_mail_server_that_refuses_is_a_503(api, customer, chat, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    services.room_close(room_id=str(chat.pk), actor=customer)
    api.login("alice")
    answer = api.post(path(chat))
    assert (answer.status_code, code(answer)) == (503, "service_unavailable")
