"""The base WebSocket consumer: parse, rate-limit, validate, dispatch, answer.

Every socket consumer of the project subclasses :class:`EventConsumer`. It turns the
contract's client frames (``{"event", "data", "ack"}``, see the README / protocol.md)
into calls of the handlers listed in the subclass's ``events`` dict, and every failure
into the contract's ``error`` frame, keeping the socket open:

- a frame above ``WS_MAX_FRAME_BYTES``: ``frame_too_large``, then close 4413 (the
  transport cuts anything above ``WS_TRANSPORT_MAX_BYTES`` with 1009 before buffering it
  whole);
- over the per-connection token bucket: ``rate_limited``; ``WS_RATE_STRIKES`` of those in
  a row close the socket (4429);
- binary frames and text that is not JSON: ``bad_json``; JSON that is not an object,
  a missing or wrongly typed field: ``validation_error``; an unknown event:
  ``unknown_event``;
- a :class:`~chat_project.errors.DomainError` raised by a handler: its own code;
- anything else: ``server_error``, logged with its traceback.

The wire format is two hooks, :meth:`EventConsumer.decode_frame` (a client text frame to
``(frame, ack)``) and :meth:`EventConsumer.send_frame` (every server frame), so that a
transport adapter (``chat_project.gateway.socketio``: Socket.IO at ``/socket.io/``)
changes the framing and nothing else: limits, validation and handlers stay shared.

Dispatch goes through explicit dicts (client events: ``events``; channel-layer and ASGI
messages: ``message_handlers``), never ``getattr`` on a name from the wire.

Messages come in through ``chat_project.patches.channels_consumer`` (the consumer reads its layer
inbox directly, without a task per message).

Channels 4.2+ runs ``aclose_old_connections()`` (a hop onto the single thread-sensitive
executor) before every handler; :meth:`EventConsumer.dispatch` skips it, which doubled
throughput in measurements (docs/benchmarks.md). That is safe only because handlers never
touch the ORM themselves: every database use crosses a ``database_sync_to_async``
boundary in ``<app>/async_services.py``, which closes stale connections on its own.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from bson import ObjectId
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder

from chat_project import deadlines, drain, logs, metrics
from chat_project.errors import DomainError, RateLimited, ServiceUnavailable, ValidationFailed
from chat_project.gateway.frames import (
    BadJson,
    Field,
    FrameTooLarge,
    ServerError,
    TokenBucket,
    UnknownEvent,
    clean_data,
)
from chat_project.gateway.parts import ChunkedSending
from chat_project.patches.channels_consumer import InboxReceiving
from chat_project.patches.daphne_transport import SEND_AFTER_CLOSE

logger = logging.getLogger(__name__)

# Close codes (4000-4999 are the application's; RFC 6455 §7.4.2).
CLOSE_NOT_AUTHENTICATED = 4401  # no session at the handshake, or the session ended
CLOSE_FORBIDDEN = 4403
CLOSE_TOO_MANY_SOCKETS = 4409  # the user already has WS_MAX_SOCKETS_PER_USER sockets
CLOSE_RATE_LIMITED = 4429  # WS_RATE_STRIKES rate_limited answers in a row
CLOSE_TOO_SLOW = 4503  # more than WS_MAX_BACKLOG server events waiting: reconnect and sync
# A frame above WS_MAX_FRAME_BYTES. (RFC 6455's 1009 is what the transport sends for a
# frame above WS_TRANSPORT_MAX_BYTES; Autobahn lets an application close only with 1000
# or 3000-4999.)
CLOSE_FRAME_TOO_LARGE = 4413

MAX_ACK_LENGTH = 128
_NOT_JSON = object()


# --- The consumer --------------------------------------------------------------------------

Handler = Callable[[Any, dict[str, Any]], Awaitable[dict[str, Any] | None]]
MessageHandler = Callable[[Any, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class EventSpec:
    """A client event: its handler (an async function of the consumer and the cleaned
    ``data``, returning the ``ack`` data), the fields of its ``data``, and what it costs
    of its user's request budget (``cost``: a number, or a function of the cleaned data;
    0: nothing, the work a frame does alone: typing, a coalesced receipt)."""

    handler: Handler
    fields: Mapping[str, Field] = field(default_factory=dict)
    cost: float | Callable[[dict[str, Any]], float] = 0

    def cost_of(self, data: dict[str, Any]) -> float:
        return self.cost(data) if callable(self.cost) else self.cost


class AckLater:
    """What a handler returns when its answer comes after the socket has moved on to
    the next frame (e.g. coalesced receipts): ``future`` resolves to the ack data, or
    fails with a DomainError that becomes the ``error`` frame."""

    def __init__(self, future: asyncio.Future) -> None:
        self.future = future


class ContractEncoder(DjangoJSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, ObjectId):
            return str(o)
        return super().default(o)


class EventConsumer(InboxReceiving, ChunkedSending, AsyncJsonWebsocketConsumer):
    """Subclasses fill ``events`` (client event name -> :class:`EventSpec`) and extend
    ``message_handlers`` (channel-layer ``type`` -> async function of the consumer and
    the message), and implement :meth:`connect` / :meth:`disconnect`."""

    events: ClassVar[Mapping[str, EventSpec]] = {}
    message_handlers: ClassVar[Mapping[str, MessageHandler]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bucket = TokenBucket(settings.WS_RATE_PER_SECOND, settings.WS_RATE_BURST)
        self.strikes = 0
        self.closing = False
        self._inbox: Any = None  # the layer's queue for this socket (PubSub layer only)
        self.pending_acks: set[asyncio.Task] | None = None  # see _ack_when_done
        self.taking_frames = True  # False once the process drains (chat_project.drain)
        self.handling = 0  # a frame's handler is running

    # -- ASGI / channel-layer messages

    async def dispatch(self, message: dict[str, Any]) -> None:
        # No aclose_old_connections() here: see the module docstring.
        kind = message.get("type", "")
        if not kind.startswith("websocket.") and self._backlog() > settings.WS_MAX_BACKLOG:
            # The PubSub layer queues without bound: a socket this far behind is closed
            # (the client reconnects and syncs) rather than growing the process's memory.
            await self.close_socket(CLOSE_TOO_SLOW, "too slow")
            return
        if "published_at" in message:
            metrics.fanout_delivered(message)
        handler = self.message_handlers.get(kind)
        if handler is None:
            logger.warning("no handler for message type %r", message.get("type"))
            return
        try:
            await handler(self, message)
        except StopConsumer:
            raise
        except Exception:  # one bad message must not take the socket down
            if message.get("type") in ("websocket.connect", "websocket.disconnect"):
                raise
            logger.exception("handling %r failed", message.get("type"))

    def _backlog(self) -> int:
        if self._inbox is None:
            # The project's layer (chat_project.patches.channel_layer) tells; another layer
            # bounds its own queues.
            inbox = getattr(self.channel_layer, "inbox", None)
            self._inbox = (inbox(self.channel_name) if inbox else None) or False
        return self._inbox.qsize() if self._inbox else 0

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        drain.sockets.add(self)
        metrics.connections.inc()
        logs.socket_id.set(getattr(self, "conn_id", None))  # this socket's task and hops
        await self.connect()

    async def websocket_receive(self, message: dict[str, Any]) -> None:
        if self.closing:
            return
        text = message.get("text")
        # Due within the bound of its own arrival, whatever was queued before it.
        with deadlines.until(deadlines.of(message.get("arrived"))):
            await self.receive(text_data=text, bytes_data=None if text is not None else b"")

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        self.closing = True
        try:
            await self.disconnect(message.get("code", 1005))
        finally:
            drain.sockets.discard(self)
            metrics.connections.dec()
            raise StopConsumer()

    message_handlers = {
        "websocket.connect": websocket_connect,
        "websocket.receive": websocket_receive,
        "websocket.disconnect": websocket_disconnect,
    }

    async def reject(self, code: int, reason: str = "") -> None:
        """Refuse after the upgrade, so that a browser sees the close code (a refusal
        before ``accept`` is an HTTP 403 that scripts cannot read)."""
        await self.accept()
        await self.close_socket(code, reason)

    async def close_socket(self, code: int, reason: str = "") -> None:
        if not self.closing:
            self.closing = True
            await self.close(code=code, reason=reason or None)

    # -- a graceful drain (chat_project.drain)

    def stop_taking_frames(self) -> None:
        self.taking_frames = False

    def in_flight(self) -> int:
        """Frames being handled and acks still to send (a drain waits for them)."""
        return self.handling + len(self.pending_acks or ())

    async def finish_pending(self) -> None:
        """Start now what would otherwise wait for a timer (a subclass's coalesced
        writes); their acks are counted as in flight until answered."""

    async def close_for_restart(self) -> None:
        await self.close_socket(drain.CLOSE_SERVICE_RESTART, "service restart")

    # -- client frames

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None):
        if text_data is None:
            await self.send_error(None, None, BadJson("Binary frames are not accepted."))
            return
        if self._too_large(text_data):
            await self.send_error(
                None,
                None,
                FrameTooLarge(details={"max_bytes": settings.WS_MAX_FRAME_BYTES}),
            )
            await self.close_socket(CLOSE_FRAME_TOO_LARGE, "frame too large")
            return
        frame, ack = self.decode_frame(text_data)
        allowed = self.bucket.take(self.frame_cost(frame))
        ack_ok = ack is None or (isinstance(ack, str) and len(ack) <= MAX_ACK_LENGTH)
        if not ack_ok:
            ack = None  # not echoed: the client gets validation_error without it
        if not allowed:
            await self._rate_limited(ack, _event_name(frame))
            return
        self.strikes = 0
        if frame is _NOT_JSON:
            await self.send_error(None, None, BadJson())
        elif isinstance(frame, DomainError):  # a transport's own refusal (decode_frame)
            await self.send_error(ack, None, frame)
        elif not ack_ok:
            problem = f"A string of at most {MAX_ACK_LENGTH} characters."
            await self.send_error(
                None, _event_name(frame), ValidationFailed(details={"fields": {"ack": [problem]}})
            )
        elif not self.taking_frames:
            # Draining: not run; the client sends it again after reconnecting.
            await self.send_error(
                ack,
                _event_name(frame),
                ServiceUnavailable("The server is restarting: reconnect and send it again."),
            )
        else:
            self.handling += 1
            try:
                await self.receive_frame(frame, ack)
            finally:
                self.handling -= 1

    async def receive_frame(self, frame: Any, ack: str | None) -> None:
        started = time.monotonic()
        if not isinstance(frame, dict):
            metrics.frames_in.labels("invalid").inc()
            await self.send_error(ack, None, ValidationFailed("A frame is a JSON object."))
            return
        event = frame.get("event")
        if not isinstance(event, str):
            metrics.frames_in.labels("invalid").inc()
            await self.send_error(
                ack, None, ValidationFailed(details={"fields": {"event": ["Must be a string."]}})
            )
            return
        spec = self.events.get(event)
        metrics.frames_in.labels(event if spec is not None else "unknown").inc()
        if spec is None:
            await self.send_error(ack, event[:64], UnknownEvent(f"Unknown event {event[:64]!r}."))
            return
        data = frame.get("data")
        if data is None:
            data = {}
        try:
            if not isinstance(data, dict):
                raise ValidationFailed(details={"fields": {"data": ["Must be an object."]}})
            data = clean_data(spec.fields, data)
        except DomainError as exc:  # raised while checking the frame's data
            await self.send_error(ack, event, exc)
            return
        cost = spec.cost_of(data)
        if cost:
            try:
                await self.charge(cost)
            except DomainError as exc:  # over the user's budget: rate_limited
                await self.send_error(ack, event, exc)
                return
        outcome = spec.handler(self, data)
        result = await self._answer(ack, event, outcome, started)
        if isinstance(result, AckLater):
            self._ack_when_done(ack, event, result.future, started)

    async def _answer(
        self, ack: str | None, event: str, outcome: Awaitable[Any], started: float
    ) -> Any:
        """Await a handler's ``outcome`` and answer it: its ``ack`` frame, or the
        ``error`` frame of a DomainError (a bug is ``server_error``, logged). An
        ``AckLater`` is returned unanswered, for :meth:`_ack_when_done`."""
        try:
            deadline = deadlines.current()
            if deadline is None:
                result = await outcome
            else:
                # A backstop: the writer and the hops answer by the deadline themselves;
                # this answers whatever else waits (a read on a stalled database).
                async with asyncio.timeout_at(deadline + deadlines.MARGIN):
                    result = await outcome
        except TimeoutError:
            await self.send_error(ack, event, deadlines.expired())
            return None
        except DomainError as exc:
            await self.send_error(ack, event, exc)
            return None
        except Exception:
            logger.exception("event %s failed", event)
            await self.send_error(ack, event, ServerError())
            return None
        if not isinstance(result, AckLater) and ack is not None and not self.closing:
            await self.send_ack(ack, event, result, started)
        return result

    async def send_ack(self, ack: str, event: str, result: Any, started: float) -> None:
        await self.send_frame({"event": "ack", "ack": ack, "data": result or {}})
        metrics.frames_out.labels("ack").inc()
        metrics.ack_sent(event, started)

    def _ack_when_done(
        self, ack: str | None, event: str, future: asyncio.Future, started: float
    ) -> None:
        async def answer() -> None:
            await self._answer(ack, event, future, started)

        task = asyncio.get_running_loop().create_task(answer())
        if self.pending_acks is None:
            self.pending_acks = set()
        self.pending_acks.add(task)  # a strong reference until it is done
        task.add_done_callback(self.pending_acks.discard)

    def _too_large(self, text: str) -> bool:
        limit = settings.WS_MAX_FRAME_BYTES
        if len(text) * 4 <= limit:  # UTF-8 is at most 4 bytes a character
            return False
        return len(text) > limit or len(text.encode("utf-8", "surrogatepass")) > limit

    async def _rate_limited(self, ack: str | None, event: str | None) -> None:
        self.strikes += 1
        await self.send_error(
            ack,
            event,
            RateLimited(retry_after=math.ceil(self.bucket.retry_after()) or 1),
        )
        if self.strikes >= settings.WS_RATE_STRIKES:
            await self.close_socket(CLOSE_RATE_LIMITED, "rate limited")

    async def charge(self, cost: float) -> None:
        """Spend ``cost`` of the socket's user's request budget, shared with their other
        sockets and REST (a subclass with a user charges it; ``rate_limited`` when it is
        spent)."""

    def frame_cost(self, frame: Any) -> int:
        """What a client frame costs of the socket's token bucket: one, unless a subclass
        knows the frame adds no work (a receipt merged with one already waiting)."""
        return 1

    # -- the wire format: hooks a transport adapter overrides (chat_project.gateway.socketio)

    def decode_frame(self, text: str) -> tuple[Any, Any]:
        """A client text frame as ``(frame, ack)``: the contract's ``{"event", "data"}``
        object (``_NOT_JSON`` when it does not parse, or a DomainError to answer instead)
        and the client's ack token, ``None`` when it asked for none. Everything after
        this (rate limit, validation, dispatch) is the same whatever the framing."""
        try:
            frame = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested too deep
            return _NOT_JSON, None
        return frame, (frame.get("ack") if isinstance(frame, dict) else None)

    async def send_frame(self, frame: dict[str, Any]) -> None:
        """Every server frame goes out through here, in the contract's shape: an event
        ``{"event", "data"}``, an ``ack`` or an ``error`` (both with ``"ack"``)."""
        await self.send_json(frame)

    # -- server frames

    async def send_json(self, content: Any, close: bool = False) -> None:
        # Every frame of the server goes through here.
        try:
            await super().send_json(content, close=close)
        except SEND_AFTER_CLOSE:
            # The transport closed the socket (a frame over its cap: 1009) while answers
            # to frames read before were on their way; the disconnect follows. Found by
            # the closing-frames fuzz (issue 18): each such answer logged a traceback.
            self.closing = True

    async def send_event(self, event: str, data: dict[str, Any]) -> None:
        if not self.closing:
            await self.send_frame({"event": event, "data": data})
            metrics.frames_out.labels(event).inc()

    async def send_error(self, ack: str | None, event: str | None, exc: DomainError) -> None:
        if self.closing:
            return
        data: dict[str, Any] = {"code": str(exc.code), "message": exc.message, "event": event}
        if exc.details:
            data["details"] = exc.details
        await self.send_frame({"event": "error", "ack": ack, "data": data})
        metrics.frames_out.labels("error").inc()
        metrics.errors.labels(data["code"], "ws").inc()

    @classmethod
    async def encode_json(cls, content: Any) -> str:
        # ASCII output: a lone surrogate echoed back could not be encoded as UTF-8.
        return json.dumps(content, cls=ContractEncoder, separators=(",", ":"))


def _event_name(frame: Any) -> str | None:
    event = frame.get("event") if isinstance(frame, dict) else None
    return event[:64] if isinstance(event, str) else None
