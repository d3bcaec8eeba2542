"""A minimal SMTP receiver on 127.0.0.1 for tests (issue 30): enough of RFC 5321 for
Django's SMTP backend (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; AUTH PLAIN and
LOGIN accepted and recorded), each message kept as ``{"from", "to", "data", "auth"}``.
No dependency: the standard library's ``smtpd`` is gone from Python 3.12."""

from __future__ import annotations

import base64
import socketserver
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Received:
    messages: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(socketserver.StreamRequestHandler):
    timeout = 10

    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        received: Received = self.server.received  # type: ignore[attr-defined]
        envelope: dict[str, Any] = {"from": None, "to": [], "auth": None}
        self.reply("220 localhost test SMTP")
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb = line.split(" ", 1)[0].upper()
            if verb == "EHLO":
                self.wfile.write(b"250-localhost\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n")
            elif verb == "HELO":
                self.reply("250 localhost")
            elif verb == "AUTH":
                parts = line.split(" ")
                if parts[1].upper() == "PLAIN":
                    token = parts[2] if len(parts) > 2 else ""
                    if not token:
                        self.reply("334 ")
                        token = self.rfile.readline().decode().strip()
                    _zid, user, password = base64.b64decode(token).decode().split("\0")
                else:  # LOGIN
                    self.reply("334 VXNlcm5hbWU6")
                    user = base64.b64decode(self.rfile.readline().strip()).decode()
                    self.reply("334 UGFzc3dvcmQ6")
                    password = base64.b64decode(self.rfile.readline().strip()).decode()
                envelope["auth"] = (user, password)
                self.reply("235 OK")
            elif verb == "MAIL":
                envelope["from"] = line.split(":", 1)[1].strip()
                self.reply("250 OK")
            elif verb == "RCPT":
                envelope["to"].append(line.split(":", 1)[1].strip())
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                lines = []
                while True:
                    data = self.rfile.readline()
                    if not data or data in (b".\r\n", b".\n"):
                        break
                    lines.append(data[1:] if data.startswith(b"..") else data)
                with received.lock:
                    received.messages.append({**envelope, "data": b"".join(lines).decode()})
                envelope = {"from": None, "to": [], "auth": envelope["auth"]}
                self.reply("250 OK queued")
            elif verb in ("RSET", "NOOP"):
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 Bye")
                return
            else:
                self.reply("502 Not implemented")


class SmtpReceiver:
    """``with SmtpReceiver() as smtp:`` -> ``smtp.port``, ``smtp.messages``."""

    def __init__(self) -> None:
        self.received = Received()
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.received = self.received  # type: ignore[attr-defined]
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def messages(self) -> list[dict[str, Any]]:
        with self.received.lock:
            return list(self.received.messages)

    def __enter__(self) -> SmtpReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
