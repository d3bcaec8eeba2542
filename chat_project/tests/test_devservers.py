"""The embedded servers: real processes, pinged before use, gone after stop, and the
one place where SecantusDB is brought in line with mongod."""

import os
import signal
import subprocess
import sys
import time

import pytest
from pymongo import MongoClient

from chat_project.dev import servers as devservers


@pytest.fixture(scope="module")
def mongo():
    server = devservers.start_mongo(":memory:")
    yield server
    server.stop()


def test_add_fields_merges_an_embedded_document_like_mongod(mongo):
    # mongod's documented behaviour ("Adding Fields to an Embedded Document"):
    # {$addFields: {a: {c: 2}}} on {a: {b: 1}} gives {a: {b: 1, c: 2}}.
    # SecantusDB 0.7.0b3 alone replaces `a`; devservers patches it.
    collection = MongoClient(mongo.url).compat.add_fields
    collection.insert_one({"_id": 1, "a": {"b": 1}, "n": 5})
    [doc] = collection.aggregate([{"$addFields": {"a": {"c": 2, "d": "$n"}}}])
    assert doc["a"] == {"b": 1, "c": 2, "d": 5}


def test_add_fields_still_replaces_non_documents_and_takes_expressions(mongo):
    collection = MongoClient(mongo.url).compat.add_fields_scalar
    collection.insert_one({"_id": 1, "a": 3, "b": {"x": 1}})
    [doc] = collection.aggregate(
        [{"$addFields": {"a": {"k": 1}, "b": {"$literal": {"y": 2}}, "c.d": 4}}]
    )
    assert doc["a"] == {"k": 1}
    assert doc["b"] == {"y": 2}
    assert doc["c"] == {"d": 4}


def test_servers_stop_cleanly():
    valkey = devservers.start_valkey()
    assert devservers.redis_ping(valkey.url)
    valkey.stop()
    assert not valkey.alive()
    import redis

    with pytest.raises(redis.exceptions.ConnectionError):
        devservers.redis_ping(valkey.url, timeout=0.3)


def _children_of(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def test_no_orphans_when_the_launcher_is_killed(tmp_path):
    # given a launcher running a long command with both embedded servers
    env = {k: v for k, v in os.environ.items() if k not in ("MONGODB_URI", "REDIS_URL")}
    launcher = subprocess.Popen(
        [sys.executable, "-m", "chat_project.dev.servers", "exec", "--memory", "--", "sleep", "60"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    servers: list[int] = []
    while time.monotonic() < deadline:
        servers = _children_of(launcher.pid)
        if len(servers) >= 3:  # SecantusDB, Valkey and the command
            break
        time.sleep(0.2)
    assert len(servers) >= 3
    # when it is killed without a chance to clean up
    launcher.send_signal(signal.SIGKILL)
    launcher.wait()
    # then every server it started, and the command, go with it
    deadline = time.monotonic() + 10
    alive = servers
    while alive and time.monotonic() < deadline:
        alive = [p for p in servers if os.path.exists(f"/proc/{p}") and not _zombie(p)]
        time.sleep(0.1)
    assert [_cmdline(p) for p in alive] == []


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] == "Z"
    except OSError:
        return True


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def test_a_second_launcher_reuses_the_servers_of_a_running_one(tmp_path):
    first = devservers.start_servers(data_dir=tmp_path, environ={})
    try:
        assert len(first.started) == 2
        second = devservers.start_servers(data_dir=tmp_path, environ={})
        assert second.started == []
        assert second.environ() == first.environ()
    finally:
        first.stop()
