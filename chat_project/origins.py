"""The WebSocket origin check: scheme, host and port, as REST's CSRF check does.

Issue 28, item 3: Channels' ``OriginValidator`` with the allowed *hosts* accepted
``Origin: http://127.0.0.1:9999`` and ``https://127.0.0.1:<port>`` with a valid session
cookie on ``/ws/chat/`` and ``/socket.io/``, while REST refused foreign origins. A
socket's ``Origin`` must now be one of:

- **the served origin**: the scheme and ``Host`` the socket arrived with (``https`` when it
  arrived over TLS, or through a proxy that says so in ``SECURE_PROXY_SSL_HEADER``), the
  host being one of ``ALLOWED_HOSTS``: what Django's CSRF check calls the good origin;
- an entry of **the allowed list** given to :class:`OriginCheck`: full origins
  (``https://chat.example.com``, ``http://localhost:3001``), or ``scheme://*.domain``
  for the domain and its subdomains on that scheme and port, as ``CSRF_TRUSTED_ORIGINS``
  writes them (and Django's CSRF check reads them); ``*`` allows any origin and a
  missing ``Origin`` (tools, tests).

The list is ``WS_ALLOWED_ORIGINS`` and ``CSRF_TRUSTED_ORIGINS``
(:func:`configured_origins`); another allow-list (the CORS origins of a compatibility
edge) is added to it by whoever builds the stack. An entry without a scheme (a bare host,
which used to match that host on any scheme and port) is refused at start
(``ImproperlyConfigured``). A refused socket gets HTTP 403 at the upgrade, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str
    port: int


def parse_origin(value: str) -> Origin | None:
    """``scheme://host[:port]`` (http or https, nothing after the authority), or None."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname or parts.path not in ("", "/"):
        return None
    if parts.query or parts.fragment or parts.username is not None:
        return None
    return Origin(scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme])


@dataclass(frozen=True)
class _Pattern:
    scheme: str
    domain: str  # "example.com" for "*.example.com": it and its subdomains, as Django's
    port: int

    def matches(self, origin: Origin) -> bool:
        same_domain = origin.host == self.domain or origin.host.endswith("." + self.domain)
        return (origin.scheme, origin.port) == (self.scheme, self.port) and same_domain


class AllowedOrigins:
    """Exact origins, ``scheme://*.domain[:port]`` patterns and ``*``."""

    def __init__(self, entries: Iterable[str]) -> None:
        self.any = False
        self.exact: set[Origin] = set()
        self.patterns: list[_Pattern] = []
        for entry in entries:
            self._add(entry.strip())

    def _add(self, entry: str) -> None:
        if entry == "*":
            self.any = True
            return
        wildcard = "://*." in entry
        origin = parse_origin(entry.replace("://*.", "://", 1) if wildcard else entry)
        if origin is None:
            raise ImproperlyConfigured(
                f"Allowed origin {entry!r} is not an origin: write scheme://host[:port] "
                "(e.g. https://chat.example.com), scheme://*.domain for subdomains, or *. "
                "A bare host no longer matches any scheme and port."
            )
        if wildcard:
            self.patterns.append(_Pattern(origin.scheme, origin.host, origin.port))
        else:
            self.exact.add(origin)

    def allows(self, origin: Origin) -> bool:
        return self.any or origin in self.exact or any(p.matches(origin) for p in self.patterns)


def configured_origins() -> list[str]:
    """The allowed list from the settings: ``WS_ALLOWED_ORIGINS`` + ``CSRF_TRUSTED_ORIGINS``."""
    return [*settings.WS_ALLOWED_ORIGINS, *settings.CSRF_TRUSTED_ORIGINS]


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key == name:
            return value.decode("latin1")
    return None


def _is_secure(scope: dict[str, Any]) -> bool:
    """As ``HttpRequest.is_secure``: the proxy's header when one is configured and sent."""
    proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy:
        name, secure_value = proxy
        header = name.removeprefix("HTTP_").lower().replace("_", "-").encode()
        value = _header(scope, header)
        if value is not None:
            return value.split(",", 1)[0].strip() == secure_value
    return scope.get("scheme") in ("wss", "https")


def _allowed_hosts() -> list[str]:
    hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not hosts:  # as HttpRequest.get_host
        hosts = [".localhost", "127.0.0.1", "[::1]"]
    return hosts


def served_origin(scope: dict[str, Any]) -> Origin | None:
    """The origin the socket was served on: its scheme and a ``Host`` of ``ALLOWED_HOSTS``."""
    host = _header(scope, b"host")
    if not host:
        return None
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, _allowed_hosts()):
        return None
    return parse_origin(f"{'https' if _is_secure(scope) else 'http'}://{host}")


def origin_allowed(scope: dict[str, Any], allowed: AllowedOrigins) -> bool:
    value = _header(scope, b"origin")
    if value is None:
        return allowed.any
    origin = parse_origin(value)
    if origin is None:
        return allowed.any
    return origin == served_origin(scope) or allowed.allows(origin)


class OriginCheck:
    """ASGI middleware for WebSocket scopes: a socket whose ``Origin`` is neither the
    served origin nor in ``allowed`` is closed before it is accepted (HTTP 403).

    ``cookieless()``: origins whose sockets are let in without their cookie (the scope's
    ``cookieless`` is set and the handshake reads no session cookie): pages served
    elsewhere that sign their socket in by a session id they hold (the compatibility
    edge's namespace), which a cookie the browser adds by itself must never do for
    them. Read at each socket, so a setting changed at run time applies."""

    def __init__(
        self,
        inner: Any,
        allowed: Iterable[str],
        *,
        cookieless: Callable[[], Iterable[str]] = tuple,
    ) -> None:
        self.inner = inner
        self.allowed = AllowedOrigins(allowed)
        self.cookieless = cookieless
        self._cookieless_parsed: tuple[tuple[str, ...], AllowedOrigins] | None = None

    def _cookieless_allows(self, scope: dict[str, Any]) -> bool:
        entries = tuple(self.cookieless())
        if not entries:
            return False
        if self._cookieless_parsed is None or self._cookieless_parsed[0] != entries:
            self._cookieless_parsed = (entries, AllowedOrigins(entries))
        value = _header(scope, b"origin")
        origin = parse_origin(value) if value is not None else None
        return origin is not None and self._cookieless_parsed[1].allows(origin)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] != "websocket" or origin_allowed(scope, self.allowed):
            return await self.inner(scope, receive, send)
        if self._cookieless_allows(scope):
            scope["cookieless"] = True
            return await self.inner(scope, receive, send)
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.close"})  # before the accept: daphne's 403
        return None
