"""GET /api/health through a real daphne process, with the embedded servers stopped
one by one underneath it."""

import os
import subprocess
import sys
import time

import httpx
import pytest

from chat_project.dev import servers as devservers


def _serve(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = devservers._free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "chat_project.serve",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "chat_project.asgi:application",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(base + "/api/health", timeout=5)
            return process, base
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("daphne did not start")


@pytest.fixture
def stack():
    mongo = devservers.start_mongo(":memory:")
    valkey = devservers.start_valkey()
    env = {
        **os.environ,
        "MONGODB_URI": mongo.url,
        "REDIS_URL": valkey.url,
        "MONGODB_TIMEOUT_MS": "800",
        "REDIS_TIMEOUT_SECONDS": "0.5",
    }
    process, base = _serve(env)
    yield mongo, valkey, base
    process.terminate()
    process.wait(timeout=10)
    mongo.stop()
    valkey.stop()


def test_health_names_each_failing_dependency(stack):
    mongo, valkey, base = stack

    healthy = httpx.get(base + "/api/health", timeout=10)
    assert healthy.status_code == 200
    assert healthy.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}

    mongo.stop()
    no_db = httpx.get(base + "/api/health", timeout=10)
    assert no_db.status_code == 503
    assert no_db.json()["checks"]["database"].startswith("error")
    assert no_db.json()["checks"]["redis"] == "ok"

    valkey.stop()
    nothing = httpx.get(base + "/api/health", timeout=10)
    assert nothing.status_code == 503
    assert nothing.json()["checks"]["redis"].startswith("error")
