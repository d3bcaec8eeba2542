"""Every place the project relies on a library's internals, in one package.

Each module here names the internal it relies on and why; each has a contract test that
fails when that internal changes (``chat_project/tests/test_patches.py`` and the tests
named in the module), and each library is pinned exactly in ``pyproject.toml``.

- ``asgi_http``: Django's ``ASGIHandler`` with the sync middleware chain and one pooled
  thread per request (asgiref's ``ThreadSensitiveContext(executor=)``).
- ``asgiref_loop``: the loop a ``sync_to_async`` thread was called from (fan-out).
- ``django_caches``: one cache client per thread for socket handshakes.
- ``channel_layer``: channels_redis' PubSub layer with one-reader inboxes and batched
  publishing (``group_send_many``), and a public ``inbox()`` for the gateway's backlog.
- ``daphne_transport``: close frames for transport failures; no body parsing by Twisted.
- ``channels_consumer``: a consumer that reads its layer inbox directly instead of
  Channels' ``AsyncConsumer.__call__`` (a task and an ``asyncio.wait`` per message).
- ``secantus`` (``secantus_add_fields``, ``secantus_indexes``, ``secantus_bulk_write``,
  ``secantus_planner``):
  the embedded SecantusDB brought in line with mongod, in its own process only.

Also relied on, outside this package: ``chat_project.gateway.consumer.EventConsumer``'s
``dispatch`` leaves out the ``aclose_old_connections()`` that Channels' own ``dispatch``
runs before every handler (the module explains why that is safe); the contract test
checks Channels' ``dispatch`` still is what it replaces.
"""
