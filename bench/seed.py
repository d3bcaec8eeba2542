"""Seed benchmark data directly in the database (no HTTP, no login): users with ready
session cookies, 1:1 rooms, and large message histories.

Run with the project's settings and the servers' URLs in the environment (bench/run.py
does this); each command writes one JSON document to --out:

    python bench/seed.py chat --tag T --customers N --per-agent 5 --out F
        N customers, ceil(N/5) agents, N active rooms (customer i with agent i//5)
    python bench/seed.py users --tag T --count N --out F
        N customers (idle-socket scenario)
    python bench/seed.py routing --tag T --agents A --customers N [--teams K] --out F
        A agents with free capacity, N customers; with --teams, K teams (agent i in team
        i % K, every other one also in the next) and each customer's team (round-robin)
    python bench/seed.py history --tag T --rooms R --messages K --out F
        one customer and one agent, R rooms of K messages each (raw insert_many in
        batches into the product's own collection, with the field names of its model
        and the search terms a send writes)

Sessions are written the way ``login()`` leaves them (database row + cache entry), so
the server authenticates the cookie without a password check: the run is not a login
benchmark. Users get an unusable password (nothing is hashed). The sessions are signed
with the server's key: run it with the server's environment (bench/run.py and the drain
test do), ``DJANGO_SECRET_KEY`` included.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chat_project.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.contrib.sessions.backends.cached_db import KEY_PREFIX, SessionStore  # noqa: E402
from django.contrib.sessions.models import Session  # noqa: E402
from django.core.cache import caches  # noqa: E402
from django.utils import timezone  # noqa: E402
from django.utils.crypto import get_random_string  # noqa: E402

from accounts.models import User  # noqa: E402

BATCH = 1000
_VOCABULARY = """order refund shipping invoice account password delivery payment card address
return exchange warranty discount coupon subscription cancel upgrade login email tracking
package damaged missing late broken charge receipt billing plan support"""
WORDS = _VOCABULARY.split()


def make_users(tag: str, role: str, count: int, **extra) -> list[User]:
    users = [
        User(
            username=f"b{tag}{role[0]}{i}",
            email=f"b{tag}{role[0]}{i}@bench.invalid",
            role=role,
            display_name=f"{role} {i}",
            **extra,
        )
        for i in range(count)
    ]
    for user in users:
        user.set_unusable_password()
        user.is_staff = user.is_superuser = False
    for start in range(0, len(users), BATCH):
        User.objects.bulk_create(users[start : start + BATCH])
    if any(u.pk is None for u in users):  # a backend that does not return ids
        by_name = {u.username: u for u in User.objects.filter(username__startswith=f"b{tag}")}
        users = [by_name[u.username] for u in users]
    return users


def make_sessions(users: list[User]) -> list[str]:
    """One session per user, as ``login()`` stores it: the row and the cache entry."""
    store = SessionStore()
    cache = caches[settings.SESSION_CACHE_ALIAS]
    expire = timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE)
    rows, cached, keys = [], {}, []
    for user in users:
        key = get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789")
        data = {
            SESSION_KEY: user._meta.pk.value_to_string(user),
            BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
            HASH_SESSION_KEY: user.get_session_auth_hash(),
        }
        rows.append(Session(session_key=key, session_data=store.encode(data), expire_date=expire))
        cached[KEY_PREFIX + key] = data
        keys.append(key)
    for start in range(0, len(rows), BATCH):
        Session.objects.bulk_create(rows[start : start + BATCH])
    items = list(cached.items())
    for start in range(0, len(items), BATCH):
        cache.set_many(dict(items[start : start + BATCH]), settings.SESSION_COOKIE_AGE)
    return keys


def cookie(key: str) -> str:
    return f"{settings.SESSION_COOKIE_NAME}={key}"


def user_json(user: User, key: str) -> dict:
    return {"id": str(user.pk), "username": user.username, "role": user.role, "cookie": cookie(key)}


def make_rooms(pairs: list[tuple[User, User]]) -> list:
    from chat.models import Room, RoomStatus

    now = timezone.now()
    rooms = [
        Room(
            customer=c,
            agent=a,
            status=RoomStatus.ACTIVE,
            created_at=now,
            queued_at=now,
            assigned_at=now,
            # Conversations already under way: ring-no-answer (issue 30) must not move
            # them to other agents in the middle of a run.
            first_agent_reply_at=now,
            subject="bench",
        )
        for c, a in pairs
    ]
    for start in range(0, len(rooms), BATCH):
        Room.objects.bulk_create(rooms[start : start + BATCH])
    return rooms


def seed_chat(args) -> dict:
    per_agent = args.per_agent
    n_agents = -(-args.customers // per_agent)
    agents = make_users(args.tag, "agent", n_agents, max_chats=per_agent)
    customers = make_users(args.tag, "user", args.customers)
    probe = make_users(f"{args.tag}p", "user", 1)  # in no room: the event-loop probe
    users = agents + customers + probe
    keys = make_sessions(users)
    rooms = make_rooms([(c, agents[i // per_agent]) for i, c in enumerate(customers)])
    User.objects.filter(pk__in=[a.pk for a in agents]).update(active_chats=per_agent)
    return {
        "users": [user_json(u, k) for u, k in zip(users, keys, strict=True)],
        "probe": len(users) - 1,
        "rooms": [
            {"id": str(r.pk), "agent": i // per_agent, "customer": n_agents + i}
            for i, r in enumerate(rooms)
        ],
    }


def seed_routing(args) -> dict:
    """Agents online-able with free capacity, customers without rooms; each user also
    gets a CSRF token (cookie + header) for the REST calls of the burst."""
    agents = make_users(args.tag, "agent", args.agents, max_chats=args.max_chats)
    customers = make_users(args.tag, "user", args.customers)
    users = agents + customers
    keys = make_sessions(users)
    out = []
    for user, key in zip(users, keys, strict=True):
        token = get_random_string(32)
        row = user_json(user, key)
        row["cookie"] += f"; {settings.CSRF_COOKIE_NAME}={token}"
        row["csrf"] = token
        out.append(row)
    if args.teams:
        # Issue 15: K teams whose members overlap; the customers round-robin over them.
        from agents.services import team_create

        members: list[list[str]] = [[] for _ in range(args.teams)]
        for i, agent in enumerate(agents):
            members[i % args.teams].append(agent.username)
            if i % 2 == 0:  # every other agent serves the next team too
                members[(i + 1) % args.teams].append(agent.username)
        team_ids = [
            str(team_create(name=f"{args.tag}-team{k}", members=names)[0].pk)
            for k, names in enumerate(members)
        ]
        for i, row in enumerate(out[len(agents) :]):
            row["team_id"] = team_ids[i % args.teams]
    return {"agents": out[: len(agents)], "customers": out[len(agents) :]}


def seed_users(args) -> dict:
    users = make_users(args.tag, "user", args.count)
    keys = make_sessions(users)
    return {"users": [user_json(u, k) for u, k in zip(users, keys, strict=True)]}


def seed_history(args) -> dict:
    from django.db import connections

    from chat import search_index
    from chat.models import EventKind, Room, RoomEvent

    customer = make_users(args.tag, "user", 1)[0]
    agent = make_users(args.tag, "agent", 1)[0]
    keys = make_sessions([customer, agent])
    collection = connections["default"].get_collection(RoomEvent._meta.db_table)
    rng = random.Random(args.tag)
    field = {f.name: f.column for f in RoomEvent._meta.concrete_fields}
    started = time.monotonic()
    rooms = []
    for _ in range(args.rooms):
        room = make_rooms([(customer, agent)])[0]
        base = timezone.now() - timedelta(seconds=args.messages)
        batch = []
        for seq in range(1, args.messages + 1):
            sender = customer if seq % 2 else agent
            words = rng.choices(WORDS, k=rng.randint(4, 14))
            if seq % 100 == 0:
                words.append("zebracorn")  # rare: 1% of messages
            text = " ".join(words)
            batch.append(
                {
                    field["room"]: room.pk,
                    field["seq"]: seq,
                    field["kind"]: EventKind.MESSAGE.value,
                    field["created_at"]: base + timedelta(seconds=seq),
                    field["actor"]: sender.pk,
                    field["client_msg_id"]: f"seed-{room.pk}-{seq}",
                    field["text"]: text,
                    field["original_text"]: None,
                    field["text_seq"]: None,
                    field["attachments"]: None,
                    field["edited_at"]: None,
                    field["deleted"]: False,
                    field["deleted_at"]: None,
                    field["deleted_seq"]: None,
                    field["target"]: None,
                    field["data"]: None,
                    # As the product writes them on a send (the one shared function).
                    field["search_terms"]: search_index.search_terms(text, seq=seq),
                }
            )
            if len(batch) >= BATCH:
                collection.insert_many(batch, ordered=False)
                batch = []
        if batch:
            collection.insert_many(batch, ordered=False)
        Room.objects.filter(pk=room.pk).update(last_seq=args.messages)
        rooms.append(str(room.pk))
    return {
        "customer": user_json(customer, keys[0]),
        "agent": user_json(agent, keys[1]),
        "rooms": rooms,
        "messages_per_room": args.messages,
        "seed_seconds": round(time.monotonic() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench/seed.py")
    sub = parser.add_subparsers(dest="command", required=True)
    chat = sub.add_parser("chat")
    chat.add_argument("--customers", type=int, required=True)
    chat.add_argument("--per-agent", type=int, default=5)
    users = sub.add_parser("users")
    users.add_argument("--count", type=int, required=True)
    history = sub.add_parser("history")
    history.add_argument("--rooms", type=int, default=1)
    history.add_argument("--messages", type=int, default=10_000)
    routing = sub.add_parser("routing")
    routing.add_argument("--agents", type=int, default=50)
    routing.add_argument("--customers", type=int, default=500)
    routing.add_argument("--max-chats", type=int, default=5)
    routing.add_argument("--teams", type=int, default=0, help="issue 15: K teams")
    for p in (chat, users, history, routing):
        p.add_argument("--tag", required=True)
        p.add_argument("--out", required=True)
    args = parser.parse_args()
    commands = {"chat": seed_chat, "users": seed_users, "history": seed_history}
    result = {**commands, "routing": seed_routing}[args.command](args)
    Path(args.out).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
