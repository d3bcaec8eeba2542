"""The production topology on this machine (issue 17): HAProxy from Debian with
``deploy/haproxy.cfg`` (``chat_project.dev.proxy``) in front of three daphne processes,
no sticky sessions. Everything goes through the proxy: REST and WebSockets; customers
and agents land on different processes and chat, get routed, transferred and see each
other's presence as they do on one process. Also: the client address reaches the login
throttle through the proxy (``NUM_PROXIES=1``), and ``/metrics`` is served by each
process on its metrics port (``METRICS_PORT``) to its token only, never through the
proxy, however the path is spelled."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from chat_project.dev.proxy import Proxy
from tests.e2e.conftest import FAST, _free_port
from tests.e2e.wsclient import WsClient

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TOKEN = "metrics-test-token"
BEHIND_PROXY = {
    **FAST,
    "NUM_PROXIES": "1",
    "METRICS_TOKEN": TOKEN,
    "LOGIN_MAX_ACCOUNTS_PER_ADDRESS": "3",
}


@pytest.fixture
def gateways(_servers):
    # Each process has a metrics port of its own, which the proxy never routes to.
    return [
        _servers(f"proxied-{i}", **BEHIND_PROXY, METRICS_PORT=str(_free_port())) for i in (1, 2, 3)
    ]


def metrics_url(gateway) -> str:
    return f"http://127.0.0.1:{gateway.env['METRICS_PORT']}/metrics"


@pytest.fixture(scope="session")
def _proxies():
    started: dict[tuple[int, ...], Proxy] = {}

    def get(ports: list[int]) -> Proxy:
        key = tuple(ports)
        if key not in started:
            started[key] = Proxy(list(ports)).start()
        return started[key]

    yield get
    for proxy in started.values():
        proxy.stop()


@pytest.fixture
def proxy(_proxies, gateways) -> Proxy:
    return _proxies([g.port for g in gateways])


def sockets_per_process(gateways) -> list[int]:
    counts = []
    for gateway in gateways:
        text = scrape(gateway)
        counts.append(int(float(re.search(r"^chat_ws_connections (\S+)$", text, re.M)[1])))
    return counts


def scrape(gateway) -> str:
    reply = httpx.get(metrics_url(gateway), headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    assert reply.status_code == 200, reply.text[:200]
    return reply.text


@contextlib.asynccontextmanager
async def rest(proxy: Proxy, cookie: str) -> AsyncIterator[httpx.AsyncClient]:
    """A signed-in REST client through the proxy, with the CSRF token in hand."""
    async with httpx.AsyncClient(base_url=proxy.http_url, timeout=10) as client:
        client.headers["Cookie"] = cookie
        token = (await client.get("/api/auth/csrf")).json()["csrfToken"]
        client.headers["X-CSRFToken"] = token
        client.headers["Cookie"] = f"{cookie}; csrftoken={token}"
        yield client


@pytest.fixture
def people(make_user):
    """Users made before the async test runs (the ORM is sync)."""
    made = {name: make_user(username=name, role="user") for name in ("alice", "bob")}
    made["metered"] = make_user(username="metered", role="user")
    for name in ("agent1", "agent2", "meter-agent"):
        made[name] = make_user(username=name, role="agent", max_chats=2)
    for n in range(4):
        made[f"target{n}"] = make_user(username=f"target{n}", role="user")
    return made


async def room_assigned(client: WsClient, room_id: str) -> dict:
    return await client.expect("room-assigned", where=lambda f: f["data"]["room_id"] == room_id)


async def first_of(waits: dict) -> tuple:
    """The key of the first wait to finish, with its result; the others are cancelled."""
    tasks = {asyncio.ensure_future(wait): key for key, wait in waits.items()}
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    task = done.pop()
    return tasks[task], task.result()


def about(user):
    return lambda f: f["data"].get("user_id") == str(user.pk)


async def test_customers_and_agents_on_three_processes_behind_the_proxy(
    proxy, gateways, login, people
):
    alice, bob, agent1, agent2 = (people[n] for n in ("alice", "bob", "agent1", "agent2"))
    opened: list[WsClient] = []

    async def connect(user) -> WsClient:
        client = await WsClient.open(proxy.ws_url, cookie=await login(user), name=user.username)
        opened.append(client)
        return client

    try:
        # Four sockets, opened one after another: least-connections spreads them.
        alice_ws = await connect(alice)
        agent1_ws = await connect(agent1)
        agent2_ws = await connect(agent2)
        bob_ws = await connect(bob)
        counts = sockets_per_process(gateways)
        assert sum(counts) == 4, counts
        assert min(counts) >= 1, counts

        # Presence across processes: the agents came online after alice connected.
        for agent in (agent1, agent2):
            online = await alice_ws.expect("user-status-changed", where=about(agent))
            assert online["data"]["online"] is True
        await bob_ws.call("get-online-agents")
        agents = (await bob_ws.expect("online-agents"))["data"]["agents"]
        assert sorted(a["username"] for a in agents) == ["agent1", "agent2"]

        # Routing: a room opened over REST goes to an agent on whatever process holds them.
        async with rest(proxy, await login(alice)) as alice_http:
            created = await alice_http.post("/api/chat/rooms", json={"subject": "Refund"})
        assert created.status_code == 201, created.text
        room_id = created.json()["id"]
        # Active at once, or queued for a moment when another process's drainer held
        # the queue's lock: either way one agent's socket hears room-assigned.
        first_ws, assigned = await first_of(
            {
                agent1_ws: room_assigned(agent1_ws, room_id),
                agent2_ws: room_assigned(agent2_ws, room_id),
            }
        )
        first, second = (agent1, agent2) if first_ws is agent1_ws else (agent2, agent1)
        second_ws = agent2_ws if first_ws is agent1_ws else agent1_ws
        assert assigned["data"]["agent"]["id"] == str(first.pk)

        # Chat both ways.
        for client in (alice_ws, first_ws):
            await client.call("join-room", {"room_id": room_id})
        await alice_ws.call(
            "send-message", {"room_id": room_id, "client_msg_id": "q", "text": "Hi"}
        )
        question = await first_ws.expect("new-message")
        assert question["data"]["message"]["text"] == "Hi"
        await first_ws.call(
            "send-message", {"room_id": room_id, "client_msg_id": "a", "text": "Hello"}
        )
        answer = await alice_ws.expect(
            "new-message", where=lambda f: f["data"]["message"]["text"] == "Hello"
        )
        assert answer["data"]["message"]["sender"]["username"] == first.username

        # Transfer to the other agent, over REST through the proxy.
        async with rest(proxy, await login(first)) as agent_http:
            moved = await agent_http.post(
                "/api/chat/transfer", json={"room_id": room_id, "to_agent_id": str(second.pk)}
            )
        assert moved.status_code == 200, moved.text
        transferred = await alice_ws.expect("room-transferred")
        assert transferred["data"]["to_agent"]["id"] == str(second.pk)
        await second_ws.expect("room-transferred")
        await second_ws.call("join-room", {"room_id": room_id})
        await second_ws.call(
            "send-message", {"room_id": room_id, "client_msg_id": "b", "text": "Taking over"}
        )
        await alice_ws.expect(
            "new-message", where=lambda f: f["data"]["message"]["text"] == "Taking over"
        )

        # An agent going away is seen from every process.
        await first_ws.close()
        offline = await bob_ws.expect(
            "user-status-changed",
            where=lambda f: about(first)(f) and f["data"]["online"] is False,
            within=6,
        )
        assert offline["data"]["status"] == "offline"
    finally:
        for client in opened:
            await client.close()
    for gateway in gateways:
        assert gateway.tracebacks() == [], gateway.name


async def test_the_login_throttle_sees_the_client_address_through_the_proxy(proxy, people):
    """NUM_PROXIES=1: the address HAProxy appended to X-Forwarded-For, not one a client
    put there, and not the proxy's own."""

    async def failed_login(source: str, username: str, spoofed: str | None = None) -> int:
        transport = httpx.AsyncHTTPTransport(local_address=source)
        async with httpx.AsyncClient(
            base_url=proxy.http_url, transport=transport, timeout=10
        ) as client:
            token = (await client.get("/api/auth/csrf")).json()["csrfToken"]
            headers = {"X-CSRFToken": token, **({"X-Forwarded-For": spoofed} if spoofed else {})}
            reply = await client.post(
                "/api/auth/login",
                json={"username": username, "password": "wrong-password"},
                headers=headers,
            )
            return reply.status_code

    # LOGIN_MAX_ACCOUNTS_PER_ADDRESS=3: three accounts tried from 127.0.0.2, then it is refused
    assert [await failed_login("127.0.0.2", f"target{n}") for n in range(3)] == [401] * 3
    assert await failed_login("127.0.0.2", "target3") == 429
    assert await failed_login("127.0.0.2", "target3", spoofed="203.0.113.9") == 429
    # ... while another client address is not
    assert await failed_login("127.0.0.3", "target3") == 401


async def test_metrics_per_process_to_the_token_only(proxy, gateways, login, people):
    customer, agent = people["metered"], people["meter-agent"]
    agent_ws = await WsClient.open(proxy.ws_url, cookie=await login(agent), name="agent")
    client = await WsClient.open(proxy.ws_url, cookie=await login(customer), name="metered")
    try:
        async with rest(proxy, await login(customer)) as http:
            room = (await http.post("/api/chat/rooms", json={})).json()
            assert (await http.get("/api/chat/rooms/000000000000000000000000")).status_code == 404
        await room_assigned(agent_ws, room["id"])  # at once, or after another drainer's turn
        await client.call("join-room", {"room_id": room["id"]})
        await agent_ws.call("join-room", {"room_id": room["id"]})
        await client.call(
            "send-message", {"room_id": room["id"], "client_msg_id": "m", "text": "x"}
        )
        await agent_ws.expect("new-message")
        await client.request("no-such-event")
    finally:
        await client.close()
        await agent_ws.close()

    # Never through the proxy, token or not; never on a process's own port; on its
    # metrics port only with the token.
    async with httpx.AsyncClient(timeout=5) as http:
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        assert (await http.get(f"{proxy.http_url}/metrics", headers=bearer)).status_code == 404
        own_port = f"{gateways[0].http_url}/metrics"
        assert (await http.get(own_port, headers=bearer)).status_code == 404
        direct = metrics_url(gateways[0])
        assert (await http.get(direct)).status_code == 404
        assert (await http.get(direct, headers={"Authorization": "Bearer no"})).status_code == 404

    text = "".join(scrape(gateway) for gateway in gateways)
    for series in (
        'chat_ws_frames_in_total{event="send-message"}',
        'chat_ws_frames_out_total{event="ack"}',
        'chat_ws_acks_total{event="send-message"}',
        'chat_ws_ack_seconds_bucket{event="send-message"',
        "chat_fanout_seconds_count",
        "chat_writer_round_changes_bucket",
        'chat_queue_length{queue="timeline_writer"}',
        'chat_queue_length{queue="fanout"}',
        'chat_routing_decisions_total{decision="assigned"}',
        'chat_errors_total{code="unknown_event",transport="ws"}',
        'chat_errors_total{code="not_found",transport="http"}',
        'chat_db_command_seconds_bucket{command="bulkWrite"',
        'chat_redis_seconds_bucket{le="0.001",operation="presence_open"}',
        "process_cpu_seconds_total",
    ):
        assert series in text, series


ENCODED_METRICS_PATHS = [
    "/metrics",
    "/%6Detrics",
    "/%6detrics",
    "/%6D%65%74%72%69%63%73",
    "/Metrics",
    "/METRICS",
    "//metrics",
    "/./metrics",
    "/x/../metrics",
    "/metrics/",
    "/metrics?x=1",
    "/metrics%3Fx",
    "/%2Fmetrics",
    "/%252Fmetrics",
    "/metrics;x",
    "/metrics%00",
]


async def test_metrics_never_through_the_proxy_however_the_path_is_spelled(proxy, gateways):
    """Issue 28: ``GET /%6Detrics`` with the token through HAProxy with deploy/haproxy.cfg
    answered 200 with every metric: the deny rule matched the raw path, the app decoded
    it. The app's port serves no metrics now; they are on METRICS_PORT, which the proxy
    never routes to."""
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=proxy.http_url, timeout=5) as http:
        for path in ENCODED_METRICS_PATHS:
            # the raw path, as a client may send it (httpx would normalise some)
            request = http.build_request("GET", path, headers=bearer)
            request.url = httpx.URL(proxy.http_url + path)
            reply = await http.send(request)
            assert reply.status_code != 200, path
            assert "chat_ws_connections" not in reply.text, path
    for gateway in gateways:
        assert "chat_ws_connections" in scrape(gateway)  # where Prometheus reads them
