import pytest
from django.utils import timezone

from agents.services import common


@pytest.fixture
def captured(monkeypatch):
    """Every channel-layer message, in order."""
    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr("chat.events.publish", lambda group, message: sent.append((group, message)))
    return sent


@pytest.fixture
def customers(make_user):
    return [make_user(username=f"cust{n:03d}") for n in range(8)]


@pytest.fixture
def clock(monkeypatch):
    """The time routing judges business hours by, set by the test (issue 15)."""
    now = {"at": timezone.now()}
    monkeypatch.setattr(common, "routing_now", lambda: now["at"])
    return now
