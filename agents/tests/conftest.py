import pytest


@pytest.fixture
def captured(monkeypatch):
    """Every channel-layer message, in order."""
    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr("chat.events.publish", lambda group, message: sent.append((group, message)))
    return sent
