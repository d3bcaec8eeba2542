"""Socket.IO framing (chat_project.gateway.socketio): the packet mapping as functions,
then the transport through the whole ASGI app (origin check, session auth, routing) with
Channels' WebsocketCommunicator, speaking raw Engine.IO text as a client library would.
The real socket.io-client against a real daphne is in tests/e2e/test_socketio.py."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from bson import ObjectId
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from chat_project.asgi import application
from chat_project.errors import ErrorCode
from chat_project.gateway.consumer import EventConsumer
from chat_project.gateway.socketio import (
    POLLING_REFUSED,
    connect_error_packet,
    decode_event,
    encode_frame,
    open_packet,
)

# --- the mapping, as functions --------------------------------------------------------------


def test_server_events_are_socketio_events_with_the_same_name_and_data():
    frame = {"event": "new-message", "data": {"room_id": "r1", "seq": 1}}
    assert encode_frame(frame) == '42["new-message",{"room_id":"r1","seq":1}]'


async def test_event_data_is_encoded_as_on_ws_chat():
    # ObjectIds as hex, non-ASCII escaped (a lone surrogate echoed back stays encodable).
    data = {"id": ObjectId("0123456789abcdef01234567"), "text": "é\ud800"}
    plain = await EventConsumer.encode_json(data)
    assert encode_frame({"event": "x", "data": data}) == f'42["x",{plain}]'


def test_acks_and_errors_answer_the_callback():
    ack = {"event": "ack", "ack": "7", "data": {"room_id": "r1", "last_seq": 0}}
    assert encode_frame(ack) == '437[{"room_id":"r1","last_seq":0}]'
    error = {"code": "not_found", "message": "No such room.", "event": "join-room"}
    answered = {"event": "error", "ack": "7", "data": error}
    assert encode_frame(answered) == "437" + json.dumps([{"error": error}], separators=(",", ":"))
    # Without a callback (no ack id) the error is the `error` event, as on /ws/chat/.
    unanswered = {"event": "error", "ack": None, "data": error}
    assert encode_frame(unanswered) == "42" + json.dumps(["error", error], separators=(",", ":"))


@pytest.mark.parametrize(
    ("text", "frame", "ack"),
    [
        (
            '42["send-message",{"room_id":"r1"}]',
            {"event": "send-message", "data": {"room_id": "r1"}},
            None,
        ),
        ('4212["join-room",{}]', {"event": "join-room", "data": {}}, "12"),
        ('42["get-online-users"]', {"event": "get-online-users", "data": None}, None),  # no data
        ('42["typing",1,2]', {"event": "typing", "data": [1, 2]}, None),  # refused: not an object
        ('42/,["typing",{}]', {"event": "typing", "data": {}}, None),  # "/" named explicitly
        ("42", {"event": None, "data": None}, None),  # refused: no event name
        ('425{"a":1}', {"event": None, "data": None}, "5"),
        ("42[7,{}]", {"event": 7, "data": {}}, None),  # refused: the name is not a string
    ],
)
def test_client_events_become_frames(text, frame, ack):
    assert decode_event(text) == (frame, ack, 0)


def test_binary_events_are_refused_with_their_attachment_count():
    refused, ack, attachments = decode_event('452-3["send-message",{"_placeholder":true,"num":0}]')
    assert (refused.code, ack, attachments) == (ErrorCode.BAD_JSON, "3", 2)
    assert "Binary data is not accepted" in refused.message


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ('42/admin,1["x",{}]', ErrorCode.NOT_FOUND),  # a namespace that is not connected
        ('42["x",', ErrorCode.BAD_JSON),
        ("4x", ErrorCode.BAD_JSON),
        ("42" + "[" * 100_000, ErrorCode.BAD_JSON),  # nested too deep for the parser
        ('42["x",' + "9" * 101 + "]", ErrorCode.BAD_JSON),  # engineio's integer guard
    ],
)
def test_malformed_events_are_refused(text, code):
    refused, _, attachments = decode_event(text)
    assert (refused.code, attachments) == (code, 0)


def test_open_packet_offers_no_upgrade_and_our_limits():
    text = open_packet(ping_interval=25, ping_timeout=20, max_payload=65536)
    assert text[0] == "0"
    handshake = json.loads(text[1:])
    assert handshake.pop("sid")
    assert handshake == {
        "upgrades": [],
        "pingInterval": 25000,
        "pingTimeout": 20000,
        "maxPayload": 65536,
    }


def test_connect_error_packet():
    text = connect_error_packet("/admin", "Invalid namespace", {"code": "not_found"})
    assert text == '44/admin,{"message":"Invalid namespace","data":{"code":"not_found"}}'


# --- through the ASGI app ---------------------------------------------------------------------

PATH = "/socket.io/?EIO=4&transport=websocket"
ORIGIN = (b"origin", b"http://testserver")


def _cookie(user) -> bytes:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


class Raw:
    """A WebsocketCommunicator speaking raw Engine.IO text."""

    def __init__(self, comm: WebsocketCommunicator) -> None:
        self.comm = comm
        self.close_code: int | None = None

    async def send(self, text: str | None = None, data: bytes | None = None) -> None:
        await self.comm.send_to(text_data=text, bytes_data=data)

    async def next(self, within: float = 3.0) -> str:
        output = await self.comm.receive_output(within)
        if output["type"] == "websocket.close":
            self.close_code = output.get("code")
            raise ConnectionError(f"closed with {self.close_code}")
        return output["text"]

    async def handshake(self) -> None:
        """Engine.IO's open, then the Socket.IO CONNECT to "/" and its answer."""
        assert (await self.next())[0] == "0"
        await self.send("40")
        answer = await self.next()
        assert answer.startswith("40{")
        assert json.loads(answer[2:])["sid"]

    async def closed(self, within: float = 3.0) -> int | None:
        with contextlib.suppress(ConnectionError):
            async with asyncio.timeout(within):
                while True:
                    await self.next(within)
        return self.close_code

    async def silent(self, within: float = 0.3) -> None:
        assert await self.comm.receive_nothing(within)


@pytest.fixture
async def raw():
    opened: list[Raw] = []

    async def open_socket(user=None, *, path: str = PATH) -> Raw:
        headers = [ORIGIN]
        if user is not None:
            headers.append((b"cookie", await sync_to_async(_cookie)(user)))
        comm = WebsocketCommunicator(application, path, headers=headers)
        connected, _ = await comm.connect()
        assert connected
        sock = Raw(comm)
        opened.append(sock)
        return sock

    yield open_socket
    for sock in opened:
        with contextlib.suppress(Exception):
            await sock.comm.disconnect()


db_socket = pytest.mark.django_db(transaction=True)


@db_socket
async def test_emit_with_a_callback_is_a_frame_with_an_ack(raw, customer):
    sock = await raw(customer)
    await sock.handshake()
    await sock.send('421["get-online-agents",{}]')
    assert await sock.next() == '42["online-agents",{"agents":[]}]'
    assert await sock.next() == '431[{"count":0}]'
    await sock.send('42["get-online-agents"]')  # no callback: the event only
    assert await sock.next() == '42["online-agents",{"agents":[]}]'
    await sock.silent()


@db_socket
async def test_a_refused_socket_answers_the_connect_then_closes_with_the_code(raw):
    sock = await raw(None)  # no session
    assert (await sock.next())[0] == "0"
    await sock.send("40")
    refusal = await sock.next()
    assert refusal == (
        '44{"message":"not authenticated","data":{"close_code":4401,"reason":"not authenticated"}}'
    )
    assert await sock.closed() == 4401


@db_socket
async def test_another_namespace_gets_connect_error_and_the_socket_stays(raw, customer):
    sock = await raw(customer)
    assert (await sock.next())[0] == "0"
    await sock.send("40/admin,")
    refusal = await sock.next()
    assert refusal.startswith('44/admin,{"message":"Invalid namespace"')
    await sock.send("40")
    assert (await sock.next()).startswith("40{")
    await sock.send('427["get-online-agents",{}]')
    await sock.next()  # the online-agents event
    assert await sock.next() == '437[{"count":0}]'


@db_socket
async def test_server_events_before_the_connect_wait_for_it(raw, customer):
    sock = await raw(customer)
    assert (await sock.next())[0] == "0"
    notice = {"type": "user.event", "event": "queue-updated", "data": {"room_id": "r1"}}
    await get_channel_layer().group_send(f"user.{customer.pk}", notice)
    await sock.send('421["get-online-agents",{}]')  # a client event before its CONNECT
    await sock.silent()
    await sock.send("40")
    assert (await sock.next()).startswith("40{")
    assert await sock.next() == '42["queue-updated",{"room_id":"r1"}]'
    await sock.silent()  # the early client event was dropped, as a Socket.IO server does


@db_socket
async def test_binary_event_is_refused_and_its_attachment_dropped(raw, customer):
    sock = await raw(customer)
    await sock.handshake()
    await sock.send('451-4["send-message",{"_placeholder":true,"num":0}]')
    await sock.send(data=b"\x00\x01")
    reply = await sock.next()
    assert reply.startswith('434[{"error":{"code":"bad_json"')
    await sock.silent()  # the attachment got no error of its own
    await sock.send(data=b"\x00")  # a binary frame on its own: bad_json, as on /ws/chat/
    assert (await sock.next()).startswith('42["error",{"code":"bad_json"')


@db_socket
async def test_frame_and_rate_limits_are_the_gateways(raw, customer, settings):
    settings.WS_RATE_PER_SECOND = 0.001
    settings.WS_RATE_BURST = 2
    settings.WS_MAX_FRAME_BYTES = 100
    sock = await raw(customer)
    await sock.handshake()
    for _ in range(5):
        await sock.send("3")  # Engine.IO pongs and the like take no token
    await sock.send('421["get-online-agents",{}]')
    await sock.next()
    assert await sock.next() == '431[{"count":0}]'
    await sock.send('422["get-online-agents",{}]')
    await sock.next()
    await sock.next()
    await sock.send('423["get-online-agents",{}]')
    assert (await sock.next()).startswith('433[{"error":{"code":"rate_limited"')
    await sock.send('42["x","' + "a" * 100 + '"]')
    assert (await sock.next()).startswith('42["error",{"code":"frame_too_large"')
    assert await sock.closed() == 4413


@db_socket
async def test_heartbeat_pings_and_closes_a_silent_client_without_the_database(
    raw, customer, settings, monkeypatch
):
    from tests.mongo_commands import mongo_commands

    settings.SOCKETIO_PING_INTERVAL_SECONDS = 0.1
    settings.SOCKETIO_PING_TIMEOUT_SECONDS = 0.25  # three unanswered pings
    sock = await raw(customer)
    await sock.handshake()
    with mongo_commands(monkeypatch) as commands:
        for _ in range(3):
            assert await sock.next(within=1) == "2"
            await sock.send("3")
        for _ in range(3):  # now silent
            assert await sock.next(within=1) == "2"
        assert await sock.closed(within=1) == 1000
    assert commands == []


@db_socket
async def test_a_client_that_never_connects_is_closed_at_its_first_heartbeat(
    raw, customer, settings
):
    settings.SOCKETIO_PING_INTERVAL_SECONDS = 0.1
    sock = await raw(customer)
    assert (await sock.next())[0] == "0"
    assert await sock.closed(within=1) == 1000


class _VisitedSocket:
    """What Heartbeats needs of a socket: when it was visited."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop, self.visits = loop, []

    async def heartbeat(self, max_unanswered: int) -> None:
        self.visits.append(self.loop.time())


@pytest.mark.parametrize("interval", [0.2, 0.6])  # one slot; three slots of 0.2 s
async def test_a_sockets_first_heartbeat_is_a_whole_interval_after_its_open(interval):
    # The first visit closes a socket whose CONNECT has not come: it must never come a
    # moment after the open (a socket opened just before a tick was closed at that tick).
    from chat_project.gateway.heartbeats import Heartbeats

    loop = asyncio.get_running_loop()
    beats = Heartbeats(interval=interval, timeout=3 * interval, max_tick=0.2)
    first, later = _VisitedSocket(loop), _VisitedSocket(loop)
    first_opened = loop.time()
    beats.add(first)
    await asyncio.sleep(0.18)  # just before the next tick
    later_opened = loop.time()
    beats.add(later)
    await asyncio.sleep(interval + 0.5)
    running = beats.task
    beats.remove(first)
    beats.remove(later)
    await asyncio.wait_for(running, 2)  # the task ends with the last socket
    for sock, opened in ((first, first_opened), (later, later_opened)):
        assert sock.visits, "never visited"
        assert sock.visits[0] - opened >= interval - 0.01  # the loop's clock resolution


@db_socket
async def test_client_disconnect_closes_the_socket(raw, customer):
    sock = await raw(customer)
    await sock.handshake()
    await sock.send("41")
    assert await sock.closed() == 1000


async def test_engineio_3_is_refused_at_the_upgrade():
    comm = WebsocketCommunicator(application, "/socket.io/?EIO=3&transport=websocket")
    connected, code = await comm.connect()
    assert (connected, code) == (False, 1000)


def test_long_polling_is_refused_with_a_clear_error(client):
    response = client.get("/socket.io/", {"EIO": "4", "transport": "polling", "t": "x"})
    assert response.status_code == 400
    body: dict[str, Any] = response.json()
    assert (body["code"], body["message"]) == (0, POLLING_REFUSED)
    assert body["error"]["details"] == {"transport": "polling", "transports": ["websocket"]}
