import pytest


@pytest.fixture
def published(monkeypatch):
    """Every channel-layer message the chat services publish to room groups, in order
    (routing's notices to user groups, e.g. ``queue-updated``, are left out)."""
    sent: list[tuple[str, dict]] = []

    def record(group: str, message: dict) -> None:
        if group.startswith("room."):
            sent.append((group, message))

    monkeypatch.setattr("chat.events.publish", record)
    return sent


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path
