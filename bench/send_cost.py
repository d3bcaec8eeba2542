"""Time ``chat.services.message_send`` in-process against fresh embedded servers: what
one send costs (the ORM, the seq update and the insert with its index entries), for
texts of a few shapes. A before/after check for changes to the send's write, e.g. the
search terms (chat/search_index.py):

    .venv/bin/python -m chat_project.dev.servers exec --memory -- \\
        .venv/bin/python bench/send_cost.py [--sends 400]

Prints per shape the median and p90 of a send in ms, wall clock on this process (the
embedded database is another process on the same machine: print ``uptime`` with it),
then the socket's send and receipt through the timeline writer (chat/writer.py).
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chat_project.settings")
# In-process only (no server reads what it signs): DEBUG off needs a strong key.
os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench/send_cost.py")
    parser.add_argument("--sends", type=int, default=400)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)

    from accounts.models import User
    from bench.seed import WORDS
    from chat import services
    from chat.models import Room, RoomStatus

    tag = uuid.uuid4().hex[:6]
    customer = User.objects.create(username=f"sc{tag}", role="user")
    agent = User.objects.create(username=f"sa{tag}", role="agent")
    rng = random.Random(1)
    shapes = {
        "bench chat (5 words)": lambda n: f"bench message {n} from 3",
        "4-14 vocabulary words": lambda n: " ".join(rng.choices(WORDS, k=rng.randint(4, 14))),
        "60 distinct words": lambda n: " ".join(f"{w}{n % 7}x{i}" for i, w in enumerate(WORDS * 2)),
    }
    for name, text_for in shapes.items():
        room, _created = services.room_create(customer=customer, subject="cost")
        Room.objects.filter(pk=room["id"]).update(agent=agent, status=RoomStatus.ACTIVE)
        timings = []
        for n in range(args.sends):
            text = text_for(n)
            started = time.perf_counter()
            services.message_send(
                room_id=room["id"], sender=customer, client_msg_id=uuid.uuid4().hex, text=text
            )
            timings.append((time.perf_counter() - started) * 1000)
        timings = timings[args.sends // 10 :]  # warm-up
        timings.sort()
        p90 = timings[int(len(timings) * 0.9)]
        print(f"{name}: median {statistics.median(timings):.2f} ms, p90 {p90:.2f} ms", flush=True)
        # Each shape gets its own customer: one open room per customer.
        customer = User.objects.create(username=f"sc{tag}{len(name)}", role="user")
        insert_alone(room["id"], text_for, args.sends)
    hot_path(customer, agent, args.sends)


def insert_alone(room_id: str, text_for, sends: int) -> None:
    """The message insert alone (raw ``insert_one`` into the events collection, all
    its indexes), without and with the search terms a send now writes."""
    try:
        from chat import search_index
    except ImportError:  # a tree from before search terms
        return
    from bson import ObjectId

    from chat import timeline

    collection = timeline.events_collection()
    timings: dict[bool, list[float]] = {False: [], True: []}
    for n in range(sends):
        text = text_for(n)
        for with_terms in (False, True):  # interleaved: both see the same machine noise
            seq = 10_000_000 + 2 * n + with_terms
            doc = {"room_id": ObjectId(room_id), "seq": seq, "kind": "message", "text": text}
            started = time.perf_counter()
            if with_terms:
                doc["search_terms"] = search_index.search_terms(text, seq=seq)
            collection.insert_one(doc)
            timings[with_terms].append((time.perf_counter() - started) * 1000)
    without, with_ = (statistics.median(timings[k][sends // 10 :]) for k in (False, True))
    print(f"    insert alone: {without:.2f} ms without search_terms, {with_:.2f} ms with")


def hot_path(customer, agent, sends: int) -> None:
    """A send and a receipt through the timeline writer (one caller at a time: a round
    per change), for a socket that knows the room's seq and for a REST call in a process
    that has not seen the room (one read first), with publishing off (the server hands
    it to its event loop; here it would be a thread round trip per call): wall and this
    process's CPU (the writer's thread included)."""
    from bson import ObjectId

    from chat import services, writer
    from chat.models import Room, RoomStatus
    from chat_project import fanout

    fanout.publish = lambda *args, **kwargs: None
    room, _created = services.room_create(customer=customer, subject="hot path")
    Room.objects.filter(pk=room["id"]).update(agent=agent, status=RoomStatus.ACTIVE)

    def timed(label: str, call) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        for n in range(sends):
            call(n)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(f"{label}: {wall / sends * 1000:.2f} ms wall, {cpu / sends * 1000:.2f} ms CPU")

    last = {"seq": 0}

    def send(n: int, known: bool) -> None:
        if not known:
            writer.timeline_writer().rooms.forget([ObjectId(room["id"])])
        message = services.message_send(
            room_id=room["id"],
            sender=customer,
            client_msg_id=uuid.uuid4().hex,
            text=f"bench message {n}",
            known_seq=last["seq"] if known else None,
        )
        last["seq"] = message["seq"]

    def receipt(n: int) -> None:
        up_to_seq = min(n + 1, last["seq"])
        services.receipt_marks_advance(
            room_id=room["id"],
            user=agent,
            delivered=up_to_seq,
            read=up_to_seq if n % 2 else None,
        )

    timed("send, room unknown to the process (read + round)", lambda n: send(n, False))
    timed("send, known seq (socket: one round)", lambda n: send(n, True))
    timed("receipt (one round)", receipt)


if __name__ == "__main__":
    main()
