"""A ledger client: one participant of a room over a real WebSocket, who records every
acknowledged message and keeps every unacknowledged one in an outbox, sent again with the
same ``client_msg_id`` until it is acknowledged (what a real client's outbox does). The
fault tests check the ledgers against the database."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from dataclasses import dataclass, field

from tests.e2e.wsclient import WsClient

_numbers = itertools.count(1)


@dataclass
class Ledger:
    name: str
    url: str
    cookie: str
    room_id: str
    user_id: str
    client: WsClient | None = None
    acked: dict[str, tuple[int, str]] = field(default_factory=dict)  # cmid -> (seq, id)
    outbox: dict[str, str] = field(default_factory=dict)  # cmid -> text
    errors: list[tuple[float, str]] = field(default_factory=list)  # (seconds taken, code)

    async def connect(self) -> None:
        if self.client is not None:
            await self.client.close()
        self.client = await WsClient.open(self.url, cookie=self.cookie, name=self.name)
        await self.client.call("join-room", {"room_id": self.room_id})

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()

    def write(self) -> str:
        """A new message into the outbox; returns its client_msg_id."""
        cmid = f"{self.name}-{next(_numbers)}"
        self.outbox[cmid] = f"message {cmid} from {self.name}"
        return cmid

    async def send(self, cmid: str, *, within: float = 15) -> dict:
        """Send one outbox message once; an ack moves it to the ledger."""
        started = time.monotonic()
        reply = await self.client.request(
            "send-message",
            {"room_id": self.room_id, "client_msg_id": cmid, "text": self.outbox[cmid]},
            within=within,
        )
        if reply["event"] == "ack":
            message = reply["data"]["message"]
            self.acked[cmid] = (message["seq"], message["id"])
            del self.outbox[cmid]
        else:
            self.errors.append((time.monotonic() - started, reply["data"]["code"]))
        return reply

    async def flush(self, *, within: float = 30) -> None:
        """Send the outbox again until every message in it is acknowledged."""
        async with asyncio.timeout(within):
            while self.outbox:
                for cmid in list(self.outbox):
                    with contextlib.suppress(TimeoutError):
                        await self.send(cmid, within=5)
                if self.outbox:
                    await asyncio.sleep(0.1)


def check_against_database(db, room_id: str, ledgers: list[Ledger]) -> None:
    """Every acknowledged message is stored exactly once, at the seq its ack gave, and
    the room's timeline has an event (or a filler) at every seq up to ``last_seq``."""
    from bson import ObjectId

    oid = ObjectId(room_id)
    events = list(db.chat_roomevent.find({"room_id": oid}, {"seq": 1, "kind": 1, "idem_key": 1}))
    by_key: dict[str, list[dict]] = {}
    for event in events:
        if event.get("idem_key"):
            by_key.setdefault(event["idem_key"], []).append(event)
    for ledger in ledgers:
        for cmid, (seq, message_id) in ledger.acked.items():
            stored = by_key.get(f"{room_id}:{ledger.user_id}:{cmid}", [])
            assert len(stored) == 1, (ledger.name, cmid, stored)
            assert (stored[0]["seq"], str(stored[0]["_id"])) == (seq, message_id), cmid
    last_seq = db.chat_room.find_one({"_id": oid})["last_seq"]
    seqs = sorted(event["seq"] for event in events)
    assert seqs == list(range(1, last_seq + 1)), f"holes: {set(range(1, last_seq + 1)) - set(seqs)}"
