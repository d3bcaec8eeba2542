"""What a WebSocket handshake's database-thread part costs, in-process against fresh
embedded servers: ``accounts.async_services._load_socket_user`` (the session and the
user, with Django's own checks) and its parts, wall clock and CPU time per call:

    .venv/bin/python -m chat_project.dev.servers exec --memory -- \\
        .venv/bin/python bench/handshake_cost.py [--calls 1000]

The rest of a handshake (daphne's HTTP upgrade, Autobahn, the consumer's presence and
subscriptions) runs on the event loop and is not measured here (docs/benchmarks.md,
"Fifth pass").
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
import uuid
from collections.abc import Callable
from importlib import import_module
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chat_project.settings")
# In-process only (no server reads what it signs): DEBUG off needs a strong key.
os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))


def timed(label: str, calls: int, call: Callable[[], object]) -> None:
    for _ in range(min(50, calls)):
        call()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        call()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label}: wall {1000 * wall / calls:.2f} ms, CPU {1000 * cpu / calls:.2f} ms per call")


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench/handshake_cost.py")
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.core.cache import caches
    from django.core.management import call_command
    from django.test import Client

    from accounts.async_services import _load_socket_user
    from accounts.models import User
    from chat_project import mongo

    call_command("migrate", verbosity=0, interactive=False)
    password = uuid.uuid4().hex
    user = User.objects.create_user(username=f"hs{uuid.uuid4().hex[:8]}", password=password)
    client = Client()
    assert client.login(username=user.username, password=password)
    session_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert _load_socket_user(session_key) == user

    users = mongo.collection(User)
    session_cache = caches[settings.SESSION_CACHE_ALIAS]
    timed("the handshake's user lookup", args.calls, lambda: _load_socket_user(session_key))
    timed("  the user through the ORM", args.calls, lambda: User.objects.get(pk=user.pk))
    timed("  the user as one find_one", args.calls, lambda: users.find_one({"_id": user.pk}))
    session_cache_key = import_module(settings.SESSION_ENGINE).SessionStore(session_key).cache_key
    assert session_cache.get(session_cache_key) is not None
    timed("  the session from the cache", args.calls, lambda: session_cache.get(session_cache_key))


if __name__ == "__main__":
    main()
