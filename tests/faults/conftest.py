"""The fault suite's own stack: a SecantusDB on disk that the tests kill, stop and
restart on the same folder and port, its own Valkey, users and rooms seeded by
``bench/seed.py``, and one daphne process on them (from ``tests.e2e.conftest``).

Nothing here shares the test run's in-memory database: what is killed is only this.
``FAULT_KILL_RUNS`` (default 10) sets how many kill -9 cycles the durability test makes;
the README gives the longer mode.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from chat_project.dev import servers as devservers
from tests.e2e.conftest import REPO, DaphneServer

DB_NAME = "faults"


class Database:
    """An embedded SecantusDB on disk that can be killed, stopped and brought back on the
    same folder and port (so the server's MONGODB_URI stays right)."""

    def __init__(self, folder: Path) -> None:
        self.folder = str(folder)
        self.port = devservers._free_port()
        self.server = devservers.start_mongo(self.folder, port=self.port)

    @property
    def url(self) -> str:
        return self.server.url

    def _signal(self, signum: int) -> None:
        os.killpg(self.server.process.pid, signum)  # it runs in its own session

    def kill(self) -> None:
        self._signal(signal.SIGKILL)
        self.server.process.wait()

    def restart(self) -> None:
        self.server = devservers.start_mongo(self.folder, port=self.port)

    def pause(self) -> None:
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal(signal.SIGCONT)

    def stop(self) -> None:
        self._signal(signal.SIGCONT)
        self.server.stop()

    def client(self):
        from pymongo import MongoClient

        return MongoClient(self.url, serverSelectionTimeoutMS=10_000)[DB_NAME]


@dataclass
class Stack:
    database: Database
    valkey: devservers.EmbeddedProcess
    server: DaphneServer
    users: list[dict]
    rooms: list[dict]

    def valkey_pause(self) -> None:
        os.killpg(self.valkey.process.pid, signal.SIGSTOP)

    def valkey_resume(self) -> None:
        os.killpg(self.valkey.process.pid, signal.SIGCONT)

    def room(self, index: int) -> tuple[str, dict, dict]:
        """A seeded room: its id, its customer and its agent (cookies included)."""
        room = self.rooms[index]
        return room["id"], self.users[room["customer"]], self.users[room["agent"]]


def _run(args: list[str], env: dict[str, str]) -> None:
    subprocess.run(args, cwd=str(REPO), env={**os.environ, **env}, check=True, timeout=180)


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Stack:
    root = tmp_path_factory.mktemp("faults")
    database = Database(root / "db")
    valkey = devservers.start_valkey()
    env = {
        "MONGODB_URI": database.url,
        "REDIS_URL": valkey.url,
        "MONGODB_NAME": DB_NAME,
        "DJANGO_SETTINGS_MODULE": "chat_project.settings",
        "FAST_PASSWORD_HASHER": "1",
        # The bound a client waits for a stalled database, and how soon a hole is old
        # enough to fill: short, to keep the suite short.
        "MONGODB_TIMEOUT_MS": "2000",
        "CHAT_HOLE_SETTLE_SECONDS": "0.5",
        "WS_RATE_PER_SECOND": "2000",
        "WS_RATE_BURST": "4000",
        "USER_BUDGET_PER_SECOND": "2000",
        "USER_BUDGET_BURST": "4000",
    }
    server = None
    try:
        _run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], env)
        seeded = root / "seed.json"
        _run(
            [
                sys.executable,
                "bench/seed.py",
                "chat",
                "--tag",
                "f",
                "--customers",
                "4",
                "--per-agent",
                "5",
                "--out",
                str(seeded),
            ],
            env,
        )
        seed = json.loads(seeded.read_text())
        server = DaphneServer("faults", DB_NAME, env).start()
        yield Stack(database, valkey, server, seed["users"], seed["rooms"])
    finally:
        if server is not None:
            if os.environ.get("FAULT_KEEP_LOG"):
                Path(os.environ["FAULT_KEEP_LOG"]).write_text(server.log())
            server.stop()
        database.stop()
        os.killpg(valkey.process.pid, signal.SIGCONT)
        valkey.stop()
