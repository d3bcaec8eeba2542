"""One HTTP attempt to an endpoint: POST the signed body with a bounded timeout (connect and
every read), never following a redirect (a 3xx is a failure), never through an
environment proxy, keeping at most a short excerpt of the answer.

Each worker thread keeps one keep-alive connection per endpoint origin (``http.client``,
the standard library), so a busy endpoint costs one TCP handshake, not one per delivery;
a connection that fails is dropped and the next attempt opens a new one."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from integrations import addresses, signing

EXCERPT_CHARS = 200
# An answer longer than this is not read to its end: the connection is closed instead.
MAX_DRAIN_BYTES = 64 * 1024

_local = threading.local()


@dataclass(frozen=True)
class Attempt:
    ok: bool
    status_code: int | None
    error: str


class _CheckedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address ``integrations.addresses`` checked."""

    def connect(self) -> None:
        address = addresses.checked_address(self.host, self.port)
        self.sock = socket.create_connection((address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _CheckedHTTPSConnection(http.client.HTTPSConnection):
    """The same, with TLS for the URL's host name (its certificate and SNI)."""

    def connect(self) -> None:
        address = addresses.checked_address(self.host, self.port)
        sock = socket.create_connection((address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _connection(scheme: str, netloc: str, timeout: float) -> http.client.HTTPConnection:
    pool: dict[tuple[str, str], http.client.HTTPConnection] = _local.__dict__.setdefault(
        "connections", {}
    )
    key = (scheme, netloc)
    found = pool.get(key)
    if found is None:
        cls = _CheckedHTTPSConnection if scheme == "https" else _CheckedHTTPConnection
        found = pool[key] = cls(netloc, timeout=timeout)
    found.timeout = timeout
    return found


def _drop(scheme: str, netloc: str) -> None:
    found = _local.__dict__.get("connections", {}).pop((scheme, netloc), None)
    if found is not None:
        found.close()


def attempt_send(
    *, url: str, secret: str, delivery_id: str, kind: str, payload: dict[str, Any], timeout: float
) -> Attempt:
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    body = signing.body_bytes(payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "support-chat-webhooks/1",
        signing.ID_HEADER: delivery_id,
        signing.KIND_HEADER: kind,
        signing.SIGNATURE_HEADER: signing.signature(
            secret=secret, timestamp=int(time.time()), body=body
        ),
    }
    for reused in (True, False):
        connection = _connection(parts.scheme, parts.netloc, timeout)
        fresh = connection.sock is None
        try:
            connection.request("POST", target, body=body, headers=headers)
            response = connection.getresponse()
            excerpt = response.read(EXCERPT_CHARS)
            if response.length and response.length > MAX_DRAIN_BYTES:
                _drop(parts.scheme, parts.netloc)
            else:
                response.read()  # to its end: the connection can carry the next one
            if response.will_close:
                _drop(parts.scheme, parts.netloc)
        except TimeoutError:
            _drop(parts.scheme, parts.netloc)
            return Attempt(ok=False, status_code=None, error=f"timed out after {timeout:g} s")
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
            _drop(parts.scheme, parts.netloc)
            if reused and not fresh:
                continue  # the endpoint closed an idle keep-alive connection: once more
            return Attempt(ok=False, status_code=None, error=str(exc)[:EXCERPT_CHARS])
        except (OSError, http.client.HTTPException, ValueError) as exc:
            _drop(parts.scheme, parts.netloc)
            return Attempt(ok=False, status_code=None, error=str(exc)[:EXCERPT_CHARS])
        status = response.status
        if 200 <= status < 300:
            return Attempt(ok=True, status_code=status, error="")
        text = excerpt.decode("utf-8", "replace")
        return Attempt(ok=False, status_code=status, error=f"HTTP {status}: {text}")
    return Attempt(ok=False, status_code=None, error="connection lost")
