"""Messages left while a team is closed, e-mailed to the team's address (issue 30):
sent after the save, marked when the server accepted it, retried by the periodic tick
when it did not (or the process died in between); and once through a real SMTP server
on 127.0.0.1 with the SMTP settings."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from agents import services
from agents.directory import directory_changed
from agents.hours import parse_week
from agents.models import OfflineMessage, Team
from agents.services import mail as offline_mail
from chat import services as chat_services
from chat.models import Room
from tests.smtp_receiver import SmtpReceiver

pytestmark = pytest.mark.django_db(transaction=True)

BODY = {"email": "alice@example.com", "message": "Call me back about invoice 42"}


@pytest.fixture
def closed_team(agent):
    team, _ = services.team_create(
        name="Billing",
        members=[agent.username],
        hours=parse_week("mon 00:00-00:01"),
        email="billing@example.com",
    )
    return team


def leave(api, customer, team) -> dict:
    dto, _ = chat_services.room_create(customer=customer, subject="help", team_id=str(team.pk))
    room = Room.objects.get(pk=dto["id"])
    api.login(customer.username)
    answer = api.post(f"/api/chat/rooms/{room.pk}/offline-message", BODY)
    assert answer.status_code == 201, answer.content
    return answer.json()


def test_a_message_left_while_closed_is_emailed_to_the_team(api, customer, closed_team):
    left = leave(api, customer, closed_team)

    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["billing@example.com"]
    assert "Billing" in sent.subject
    assert "alice@example.com" in sent.body
    assert BODY["message"] in sent.body
    assert left["emailed_at"] is not None
    assert OfflineMessage.objects.get().emailed_at is not None
    # Nothing left to retry.
    later = timezone.now() + timedelta(minutes=5)
    assert offline_mail.offline_messages_retry(now=later) == 0
    assert len(mail.outbox) == 1


def test_a_failed_send_is_retried_by_the_tick_and_a_blank_address_sends_nothing(
    api, customer, other_customer, closed_team, monkeypatch, settings
):
    settings.OFFLINE_EMAIL_RETRY_SECONDS = 30

    def refused(*args, **kwargs):
        raise ConnectionRefusedError("the mail server is down")

    # The server is down when the customer leaves the message: it is saved, not sent.
    monkeypatch.setattr(offline_mail, "send_mail", refused)
    left = leave(api, customer, closed_team)
    assert left["emailed_at"] is None
    stored = OfflineMessage.objects.get()
    assert stored.emailed_at is None
    # Not yet due a retry; then the server is back and the tick sends it, once.
    monkeypatch.undo()
    assert offline_mail.offline_messages_retry(now=stored.created_at) == 0
    due = stored.created_at + timedelta(seconds=31)
    assert services.routing_timers_tick(now=due)["emailed"] == 1
    assert services.routing_timers_tick(now=due)["emailed"] == 0
    assert [m.to for m in mail.outbox] == [["billing@example.com"]]
    assert OfflineMessage.objects.get().emailed_at is not None

    # A team without an address: nobody is e-mailed, the message stays listed.
    Team.objects.filter(pk=closed_team.pk).update(email="")
    directory_changed()
    leave(api, other_customer, closed_team)
    assert len(mail.outbox) == 1
    assert OfflineMessage.objects.filter(emailed_at=None).count() == 1


def test_team_address_is_shown_to_admins_only(api, agent, support_admin, closed_team):
    api.login(agent.username)
    shown = api.get("/api/chat/teams").json()["results"][0]
    assert "email" not in shown
    assert shown["ring_no_answer_seconds"] is None
    api.login(support_admin.username)
    shown = api.get("/api/chat/teams").json()["results"][0]
    assert shown["email"] == "billing@example.com"


def test_bad_team_address_is_refused(agent):
    from chat_project.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as caught:
        services.team_create(name="Bad", email="not an address")
    assert "email" in caught.value.details["fields"]


def test_smtp_settings_reach_a_real_server(api, customer, closed_team, settings):
    """The SMTP backend with the settings the README documents, against a receiver on
    127.0.0.1: the message arrives with the envelope and the login given."""
    with SmtpReceiver() as smtp:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = smtp.port
        settings.EMAIL_HOST_USER = "relay-user"
        settings.EMAIL_HOST_PASSWORD = "relay-secret"
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_TIMEOUT = 5
        settings.DEFAULT_FROM_EMAIL = "desk@example.com"

        left = leave(api, customer, closed_team)

        assert left["emailed_at"] is not None
        received = smtp.messages
    assert len(received) == 1
    assert received[0]["from"] == "<desk@example.com>"
    assert received[0]["to"] == ["<billing@example.com>"]
    assert received[0]["auth"] == ("relay-user", "relay-secret")
    assert BODY["message"] in received[0]["data"]
