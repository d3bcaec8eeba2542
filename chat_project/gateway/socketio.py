"""Socket.IO at ``/socket.io/``: the same gateway, framed as Engine.IO 4 / Socket.IO 5 over
the WebSocket transport (issue 14).

:class:`SocketIOTransport` is a mixin over a :class:`~chat_project.gateway.consumer.EventConsumer`
(``chat.gateway.socketio.SocketIOChatConsumer`` puts it in front of ``ChatConsumer``).
It changes the framing and nothing else: origin check, session auth, per-frame
authorisation, validation, rate limits, frame limits, presence, ``sync`` and the error
codes are those of ``/ws/chat/``, because every event packet goes through the base
consumer's ``receive`` (size cap, token bucket, validation, dispatch) by way of the
``decode_frame`` / ``send_frame`` hooks. The packets are encoded and decoded by the
packet classes of ``python-engineio`` and ``python-socketio``.

The mapping (the README's "Socket.IO clients" has the client's view):

- the upgrade: the Engine.IO ``open`` packet (no upgrades: WebSocket is the only
  transport), then the client's Socket.IO ``CONNECT`` to ``/`` is answered with
  ``CONNECT`` (``{sid}``). The ``auth`` payload is ignored: the session cookie decides.
  A socket the consumer refuses (no session 4401, too many sockets 4409) answers that
  ``CONNECT`` with ``CONNECT_ERROR`` ``{message: <reason>, data: {close_code, reason}}``
  and closes with the same code; another namespace gets ``CONNECT_ERROR``
  ``Invalid namespace`` (the wording of the reference server);
- ``emit(event, data)`` is the frame ``{event, data}``; ``emit(event, data, callback)``
  is the frame with an ack: the callback gets the ack's data, or ``{"error": {code,
  message, event, details?}}`` (the REST error body), never both and exactly once;
- an error for a frame without a callback is the ``error`` event (``socket.on("error")``),
  as on ``/ws/chat/``; every other server event is a Socket.IO event of the same name
  and data;
- a binary event (``BINARY_EVENT``) is refused with ``bad_json`` (as a binary frame on
  ``/ws/chat/``) and its attachments are dropped;
- a close keeps our code (4401 after logout, 4413, 4429, 4503): the client's
  ``disconnect`` reason is ``"transport close"`` with ``details.context.code``, and the
  client reconnects by itself (after a logout, that attempt gets ``CONNECT_ERROR``
  4401 and the client stops). A handshake refused for overload (4013,
  ``ws_handshake``) closes before the Engine.IO ``open``: the client retries later;
- the origin check refuses the upgrade itself (HTTP 403): the client's
  ``connect_error`` is ``"websocket error"``;
- heartbeat: Engine.IO's server ping every ``SOCKETIO_PING_INTERVAL_SECONDS``, which the
  client answers with a pong (``chat_project.gateway.heartbeats``: one task per process, no
  store read).

HTTP long-polling is refused (:func:`polling_refused`): a session would live in one
process and every poll would have to reach it, i.e. sticky sessions or a second,
shared session store. One WebSocket per client needs neither.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from engineio import json as engineio_json
from engineio import packet as eio
from socketio import packet as sio

from chat_project.errors import NotFound
from chat_project.gateway.consumer import (
    CLOSE_TOO_SLOW,
    BadJson,
    ContractEncoder,  # the same JSON as /ws/chat/
    EventConsumer,
)
from chat_project.gateway.heartbeats import heartbeats

logger = logging.getLogger(__name__)

NAMESPACE = "/"  # the gateway's own: the contract's events, signed in by the cookie

# Namespaces beside "/" that an app plugs in (``register_namespace``): each makes, for a
# socket that connects to it, a *wire*: ``connect(auth) -> (code, reason) | None`` signs
# the socket in from the CONNECT's auth payload, ``connected()`` runs once it is
# answered, ``events`` are its client events, ``outgoing(frame)`` turns a server frame of
# the contract into the namespace's frames, ``frame_cost(frame)`` prices a client frame.
_namespaces: dict[str, tuple[Callable[[Any], Any], Callable[[], bool]]] = {}


def register_namespace(
    name: str, wire_factory: Callable[[Any], Any], *, enabled: Callable[[], bool]
) -> None:
    """Offer namespace ``name`` while ``enabled()`` (read at each CONNECT)."""
    _namespaces[name] = (wire_factory, enabled)


def namespaces() -> list[str]:
    return [NAMESPACE, *(name for name, (_f, enabled) in _namespaces.items() if enabled())]


CLOSE_NORMAL = 1000


# --- Codec: the contract's frames <-> Engine.IO text -----------------------------------------


class _ContractJson:
    """The JSON module the packet classes use: ``/ws/chat/``'s encoder (ObjectId, dates,
    ASCII output) and engineio's guarded decoder (integers of at most 100 digits)."""

    @staticmethod
    def dumps(obj: Any, **kwargs: Any) -> str:
        return json.dumps(obj, cls=ContractEncoder, **kwargs)

    loads = staticmethod(engineio_json.loads)


class Packet(sio.Packet):
    json = _ContractJson


def _message(sio_packet: Packet) -> str:
    """A Socket.IO packet inside an Engine.IO ``message`` packet."""
    return eio.Packet(eio.MESSAGE, data=sio_packet.encode()).encode()


PING = eio.Packet(eio.PING).encode()  # "2"
PONG = eio.Packet(eio.PONG).encode()  # "3"
_EVENT = str(eio.MESSAGE) + str(sio.EVENT)  # "42"
_BINARY_EVENT = str(eio.MESSAGE) + str(sio.BINARY_EVENT)  # "45"
_CONNECT = str(eio.MESSAGE) + str(sio.CONNECT)  # "40"
_DISCONNECT = str(eio.MESSAGE) + str(sio.DISCONNECT)  # "41"
_CLOSE = str(eio.CLOSE)  # "1"


def open_packet(*, ping_interval: float, ping_timeout: float, max_payload: int) -> str:
    """Engine.IO's handshake. No ``upgrades``: the socket is already a WebSocket."""
    data = {
        "sid": secrets.token_urlsafe(15),  # kept by nobody: there are no polling requests
        "upgrades": [],
        "pingInterval": round(ping_interval * 1000),
        "pingTimeout": round(ping_timeout * 1000),
        "maxPayload": max_payload,
    }
    return eio.Packet(eio.OPEN, data=data).encode()


def connect_packet(namespace: str = NAMESPACE) -> str:
    sid = secrets.token_urlsafe(15)
    return _message(Packet(sio.CONNECT, data={"sid": sid}, namespace=namespace, binary=False))


def connect_error_packet(namespace: str, message: str, data: dict[str, Any]) -> str:
    payload = {"message": message, "data": data}
    return _message(Packet(sio.CONNECT_ERROR, data=payload, namespace=namespace, binary=False))


def encode_frame(frame: dict[str, Any], namespace: str = NAMESPACE) -> str:
    """One server frame of the contract as Engine.IO text:

    - ``{"event": "ack", "ack", "data"}`` -> ``ACK`` with the data;
    - ``{"event": "error", "ack": <id>, "data"}`` -> ``ACK`` with ``{"error": data}``;
    - any other event (``error`` without an ack included) -> ``EVENT [event, data]``.

    ``binary=False``: our data is JSON, so the codec need not walk it looking for bytes."""
    event, ack = frame["event"], frame.get("ack")
    space = {"namespace": namespace} if namespace != NAMESPACE else {}
    if event == "ack":
        packet = Packet(sio.ACK, data=[frame["data"]], id=int(ack), binary=False, **space)
    elif event == "error" and ack is not None:
        data = [{"error": frame["data"]}]
        packet = Packet(sio.ACK, data=data, id=int(ack), binary=False, **space)
    else:
        packet = Packet(sio.EVENT, data=[event, frame["data"]], binary=False, **space)
    return _message(packet)


def decode_event(text: str, namespace: str = NAMESPACE) -> tuple[Any, str | None, int]:
    """An Engine.IO ``message`` holding a Socket.IO ``EVENT`` or ``BINARY_EVENT``, as
    ``(frame, ack, attachments)``: ``frame`` the contract's ``{"event", "data"}`` or the
    DomainError that answers it, ``ack`` the packet's id as text (``None``: no callback),
    ``attachments`` the binary frames announced to follow.

    ``emit(event)`` has no data (``{}``, as a frame without ``data``) and
    ``emit(event, data)`` one; more arguments are a list, which validation refuses."""
    try:
        packet = Packet(encoded_packet=text[1:])
    except (ValueError, RecursionError):  # not a Socket.IO packet; "[[[[..." too deep
        return BadJson("The frame is not a Socket.IO packet with JSON data."), None, 0
    ack = None if packet.id is None else str(packet.id)
    if packet.packet_type == sio.BINARY_EVENT:
        refused = BadJson(
            "Binary data is not accepted: send JSON (files go to "
            "POST /api/chat/rooms/{id}/attachments)."
        )
        return refused, ack, packet.attachment_count
    if (packet.namespace or NAMESPACE) != namespace:
        return NotFound(f"Namespace {packet.namespace[:64]!r} is not connected."), ack, 0
    args = packet.data if isinstance(packet.data, list) else [None]
    event = args[0] if args else None
    data = None if len(args) < 2 else args[1] if len(args) == 2 else args[1:]
    return {"event": event, "data": data}, ack, 0


# --- The transport ----------------------------------------------------------------------------


class SocketIOTransport(EventConsumer):
    """Put in front of a consumer: ``class X(SocketIOTransport, ChatConsumer)``. It
    defines no ``events`` or ``message_handlers``, so the consumer's own stay in force.

    Per-socket state is class-level defaults, set on the instance only when it changes
    (issue 8 measures memory per idle socket)."""

    sio_connected: bool = False  # the client's CONNECT was answered
    sio_opened: bool = False  # Engine.IO's open packet was sent
    sio_namespace: str = NAMESPACE  # the one the client connected to
    sio_wire: Any = None  # that namespace's wire (None: "/", the contract itself)
    sio_refusal: tuple[int, str] | None = None  # (close code, reason) to answer it with
    sio_early: list[dict[str, Any]] | None = None  # server frames before that CONNECT
    sio_unanswered: int = 0  # pings sent since the client last sent anything
    sio_skip_binary: int = 0  # attachments of a refused binary event still to drop

    # -- the handshake

    async def connect(self) -> None:
        query = parse_qs(self.scope.get("query_string", b"").decode("latin1"))
        if query.get("EIO") != ["4"]:
            # Engine.IO 3 (socket.io-client 2.x) frames differently: refused at the
            # upgrade (HTTP 403) rather than misread.
            await self.close()
            return
        await super().connect()

    async def accept(self, subprotocol: str | None = None, headers: Any = None) -> None:
        if self.sio_opened:  # a namespace refused after the upgrade was accepted
            return
        self.sio_opened = True
        await super().accept(subprotocol, headers)
        await self.send(
            text_data=open_packet(
                ping_interval=settings.SOCKETIO_PING_INTERVAL_SECONDS,
                ping_timeout=settings.SOCKETIO_PING_TIMEOUT_SECONDS,
                max_payload=settings.WS_MAX_FRAME_BYTES,
            )
        )
        heartbeats().add(self)

    async def reject(self, code: int, reason: str = "") -> None:
        # Socket.IO refuses a connection by answering the client's CONNECT with
        # CONNECT_ERROR, which needs the Engine.IO session open first; the close with
        # `code` follows that answer (or the first heartbeat, if the CONNECT never comes).
        self.sio_refusal = (code, reason)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        heartbeats().remove(self)
        await super().disconnect(code)

    async def _namespace_connect(self, text: str) -> None:
        try:
            packet = Packet(encoded_packet=text[1:])
            namespace, auth = packet.namespace or NAMESPACE, packet.data
        except (ValueError, RecursionError):
            namespace, auth = NAMESPACE, None  # a malformed auth payload: ignored on "/"
        if namespace != NAMESPACE and namespace not in namespaces():
            details = {"code": "not_found", "namespace": namespace[:64], "namespaces": namespaces()}
            await self.send(text_data=connect_error_packet(namespace, "Invalid namespace", details))
            return
        if self.sio_connected or self.closing:
            return
        if namespace != NAMESPACE:
            await self._wire_connect(namespace, auth)
            return
        if self.sio_refusal is not None:
            code, reason = self.sio_refusal
            data = {"close_code": code, "reason": reason}
            await self.send(text_data=connect_error_packet(NAMESPACE, reason, data))
            await self.close_socket(code, reason)
            return
        await self._connected()

    async def _wire_connect(self, namespace: str, auth: Any) -> None:
        """A CONNECT to a plugged-in namespace: its wire signs the socket in (whatever the
        upgrade's cookie said) and speaks for it from then on."""
        wire = _namespaces[namespace][0](self)
        refusal = await wire.connect(auth)
        if refusal is not None:
            code, reason = refusal
            data = {"close_code": code, "reason": reason}
            await self.send(text_data=connect_error_packet(namespace, reason, data))
            await self.close_socket(code, reason)
            return
        self.sio_refusal = None
        self.sio_namespace, self.sio_wire = namespace, wire
        self.events = wire.events  # this socket's client events: the namespace's
        await self._connected()
        await wire.connected()

    async def _connected(self) -> None:
        await self.send(text_data=connect_packet(self.sio_namespace))
        self.sio_connected = True
        early, self.sio_early = self.sio_early, None
        for frame in early or ():
            await self.send_frame(frame)

    # -- client packets

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None):
        if self.sio_unanswered:
            self.sio_unanswered = 0  # anything from the client shows it is alive
        if text_data is None:
            if self.sio_skip_binary:
                self.sio_skip_binary -= 1
                return
            await super().receive(text_data, bytes_data)  # bad_json, as on /ws/chat/
            return
        kind = text_data[:2]
        if kind in (_EVENT, _BINARY_EVENT):
            if self.sio_connected:  # events before the CONNECT answer are not for us yet
                await super().receive(text_data=text_data)
        elif text_data == PONG:
            pass
        elif kind == _CONNECT:
            await self._namespace_connect(text_data)
        elif kind == _DISCONNECT or text_data[:1] == _CLOSE:
            await self.close_socket(CLOSE_NORMAL, "client disconnect")
        elif text_data and text_data[0] in "23456":
            pass  # acks we never asked for, a client ping or upgrade probe, noop
        else:
            await super().receive(text_data=text_data)  # not Engine.IO: bad_json

    def decode_frame(self, text: str) -> tuple[Any, Any]:
        frame, ack, attachments = decode_event(text, self.sio_namespace)
        if attachments:
            self.sio_skip_binary = attachments  # the binary frames of a refused event
        return frame, ack

    # -- server packets

    def frame_cost(self, frame: Any) -> int:
        if self.sio_wire is not None:
            return self.sio_wire.frame_cost(frame)
        return super().frame_cost(frame)

    async def send_frame(self, frame: dict[str, Any]) -> None:
        if self.sio_connected:
            frames = [frame] if self.sio_wire is None else await self.sio_wire.outgoing(frame)
            for shown in frames:
                await self.send(text_data=encode_frame(shown, self.sio_namespace))
            return
        # A server event before the client's CONNECT (presence, say) waits for it, as a
        # Socket.IO server sends nothing to a namespace before connecting it.
        if self.sio_early is None:
            self.sio_early = []
        self.sio_early.append(frame)
        if len(self.sio_early) > settings.WS_MAX_BACKLOG:
            await self.close_socket(CLOSE_TOO_SLOW, "too slow")

    async def heartbeat(self, max_unanswered: int) -> None:
        """``chat_project.gateway.heartbeats`` calls this once per ping interval."""
        if self.closing:
            return
        if not self.sio_connected:
            code, reason = self.sio_refusal or (CLOSE_NORMAL, "no Socket.IO CONNECT")
            await self.close_socket(code, reason)
        elif self.sio_unanswered >= max_unanswered:
            await self.close_socket(CLOSE_NORMAL, "ping timeout")
        else:
            self.sio_unanswered += 1
            await self.send(text_data=PING)


# --- HTTP long-polling: refused --------------------------------------------------------------

POLLING_REFUSED = (
    "HTTP long-polling is not supported: connect with the WebSocket transport, "
    'io(url, { transports: ["websocket"] })'
)


@csrf_exempt
def polling_refused(request: HttpRequest) -> JsonResponse:
    """``/socket.io/`` over HTTP: the answer Engine.IO gives an unknown transport (HTTP
    400, ``{"code": 0, "message"}``, which is what Socket.IO clients and tools show),
    with our error body beside it."""
    body = {
        "code": 0,
        "message": POLLING_REFUSED,
        "error": {
            "code": "validation_error",
            "message": POLLING_REFUSED,
            "details": {"transport": request.GET.get("transport"), "transports": ["websocket"]},
        },
    }
    return JsonResponse(body, status=400)
