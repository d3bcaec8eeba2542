"""The ceiling: a pure-asyncio ``websockets`` room broadcaster speaking the product's frames
(join-room, send-message with ack after an in-memory "store" with a per-room seq,
new-message fan-out, typing, receipts). bench/run.py measures it with the same load
generator right before the product. Usage: python bench/reference_server.py PORT"""

import asyncio
import itertools
import json
import sys
import time
from collections import defaultdict

from websockets.asyncio.server import broadcast, serve
from websockets.exceptions import ConnectionClosed

rooms: dict[str, set] = defaultdict(set)
seqs: dict[str, int] = defaultdict(int)
ids = itertools.count(1)


async def handler(ws):
    cookie = ws.request.headers.get("Cookie", "")
    user = cookie.partition("sessionid=")[2].split(";")[0] or f"anon{id(ws)}"
    joined: set[str] = set()
    try:
        async for raw in ws:
            frame = json.loads(raw)
            event, data, ack = frame.get("event"), frame.get("data") or {}, frame.get("ack")
            room = str(data.get("room_id", ""))
            out, reply = None, {}
            if event == "join-room":
                rooms[room].add(ws), joined.add(room)
                await ws.send(
                    json.dumps({"event": "chat-history", "data": {"room_id": room, "messages": []}})
                )
            elif event == "send-message":
                seqs[room] += 1
                msg = {
                    "id": str(next(ids)),
                    "room_id": room,
                    "seq": seqs[room],
                    "sender": {"id": user},
                    "client_msg_id": data.get("client_msg_id"),
                    "text": data.get("text"),
                    "created_at": time.time(),
                }
                reply, out = (
                    {"message": msg},
                    ("new-message", {"room_id": room, "seq": msg["seq"], "message": msg}, None),
                )
            elif event == "typing":
                out = (
                    "user-typing",
                    {"room_id": room, "user_id": user, "is_typing": data.get("is_typing")},
                    ws,
                )
            elif event in ("message-delivered", "message-read"):
                out = (
                    "message-status-updated",
                    {
                        "room_id": room,
                        "user_id": user,
                        "up_to_seq": data.get("up_to_seq"),
                        "status": event.split("-")[1],
                    },
                    None,
                )
            else:
                await ws.send(
                    json.dumps(
                        {
                            "event": "error",
                            "ack": ack,
                            "data": {"code": "unknown_event", "event": event},
                        }
                    )
                )
                continue
            if ack is not None:
                await ws.send(json.dumps({"event": "ack", "ack": ack, "data": reply}))
            if out:
                broadcast(
                    [c for c in rooms[room] if c is not out[2]],
                    json.dumps({"event": out[0], "data": out[1]}),
                )
    except ConnectionClosed:
        pass
    finally:
        for room in joined:
            rooms[room].discard(ws)


async def main(port: int) -> None:
    async with serve(handler, "127.0.0.1", port, compression=None, max_queue=None):
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
