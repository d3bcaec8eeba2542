import pytest


@pytest.fixture
def published(monkeypatch):
    """Every channel-layer message the chat services publish, in order."""
    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr("chat.events.publish", lambda group, message: sent.append((group, message)))
    return sent


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path
