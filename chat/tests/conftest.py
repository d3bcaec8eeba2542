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


@pytest.fixture
def stalled_database(monkeypatch, settings):
    """The timeline writer's ``bulkWrite`` held until the test calls the returned
    ``release()`` (then it is applied, late), with a write timeout of 0.3 s."""
    import threading

    from pymongo.synchronous.mongo_client import MongoClient

    settings.MONGODB_WRITE_TIMEOUT_SECONDS = 0.3
    gate = threading.Event()
    real = MongoClient.bulk_write

    def stalled(self, *args, **kwargs):
        gate.wait(5)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(MongoClient, "bulk_write", stalled)

    def release() -> None:
        gate.set()
        monkeypatch.setattr(MongoClient, "bulk_write", real)

    yield release
    gate.set()
