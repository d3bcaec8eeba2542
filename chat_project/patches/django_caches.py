"""Django's cache handler: one client per thread for a use outside any request.

``django.core.cache.caches`` keeps its clients in a context variable, and
``sync_to_async`` copies what a function leaves in context variables back into the
calling task: a socket handshake that touched the cache kept a client of its own
(~17 KB each; issue 8, scenario 1). The handshake runs in a throwaway context instead
(``accounts.async_services``) and installs this thread's client there
(``caches.create_connection`` and item assignment on ``caches``: internals of
``django.utils.connection.BaseConnectionHandler``, pinned with Django exactly;
``chat_project/tests/test_patches.py`` checks them).
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.cache import caches

_thread_caches = threading.local()


def use_thread_cache(alias: str) -> Any:
    """Make this thread's own client of cache ``alias`` the one ``caches[alias]`` gives in
    the current context, creating it once per thread."""
    cache = getattr(_thread_caches, alias, None)
    if cache is None:
        cache = caches.create_connection(alias)
        setattr(_thread_caches, alias, cache)
    caches[alias] = cache
    return cache
