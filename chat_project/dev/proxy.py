"""The production proxy on this machine: HAProxy from Debian (``./test.sh`` installs it)
with ``deploy/haproxy.cfg``, the file the compose ``proxy`` service runs, in front of
local gateway processes. Only what cannot be the same here changes: the
``server-template`` line (Docker's DNS) becomes one ``server`` line per local process,
the ``resolvers`` section goes, and it listens on a free 127.0.0.1 port.

Used by the end-to-end and fault tests (``tests/e2e/test_proxy.py``,
``tests/faults/test_drain.py``) and the benchmark (``bench/run.py --scenario proxy``).
"""

from __future__ import annotations

import contextlib
import ctypes
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "deploy" / "haproxy.cfg"


def haproxy_binary() -> str | None:
    return shutil.which("haproxy") or next(
        (p for p in ("/usr/sbin/haproxy",) if Path(p).exists()), None
    )


def local_config(ports: list[int], *, listen_port: int) -> str:
    """``deploy/haproxy.cfg`` for processes on 127.0.0.1 ``ports``."""
    lines: list[str] = []
    skipping = False
    for line in CONFIG.read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("resolvers "):
            skipping = True  # the section runs to the end of the file
        if skipping:
            continue
        if stripped.startswith("server-template "):
            lines += [f"    server app{i} 127.0.0.1:{port}" for i, port in enumerate(ports, 1)]
        elif stripped.startswith("bind "):
            lines.append(f"    bind 127.0.0.1:{listen_port}")
        elif stripped.startswith("maxconn ") and line.startswith("    maxconn"):
            # Two descriptors a connection: within this machine's open-file limit.
            hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
            allowed = (hard - 200) // 2 if hard != resource.RLIM_INFINITY else 20000
            lines.append(f"    maxconn {min(int(stripped.split()[1]), allowed)}")
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Proxy:
    """One HAProxy process in front of ``ports``."""

    def __init__(self, ports: list[int]) -> None:
        binary = haproxy_binary()
        if binary is None:
            raise RuntimeError(
                "HAProxy is missing: ./test.sh installs it as root (apt-get install -y haproxy)"
            )
        self.binary = binary
        self.port = _free_port()
        folder = Path(tempfile.mkdtemp(prefix="haproxy-"))
        self.config_path = folder / "haproxy.cfg"
        self.config_path.write_text(local_config(ports, listen_port=self.port))
        self.log_path = folder / "haproxy.log"
        self.process: subprocess.Popen | None = None

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/chat/"

    def start(self) -> Proxy:
        log = open(self.log_path, "ab")  # noqa: SIM115 (kept by the child)
        self.process = subprocess.Popen(
            [self.binary, "-db", "-f", str(self.config_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"haproxy exited:\n{self.log()}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 1),
            ):
                return self
            time.sleep(0.05)
        raise RuntimeError(f"haproxy did not listen:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.config_path.parent, ignore_errors=True)
