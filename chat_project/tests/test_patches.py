"""Contracts with the library internals ``chat_project.patches`` relies on: each test
fails when the internal it names changes, so an upgrade of a pinned library cannot
break delivery silently."""

from __future__ import annotations

import asyncio
import inspect
import re
from importlib.metadata import version

import pytest
from asgiref.sync import ThreadSensitiveContext, sync_to_async

from chat_project.patches.asgiref_loop import sync_to_async_caller_loop


@pytest.mark.parametrize(
    ("library", "pinned"),
    [
        ("django", "5.2.19"),
        ("asgiref", "3.13.0"),
        ("channels", "4.3.2"),
        ("channels-redis", "4.3.0"),
        ("daphne", "4.2.3"),
        ("autobahn", "26.11.1"),
        ("secantusdb", "0.7.0b3"),
    ],
)
def test_patched_libraries_are_the_pinned_versions(library, pinned):
    assert version(library) == pinned


async def test_a_sync_to_async_thread_sees_its_callers_loop():
    loop = asyncio.get_running_loop()
    seen = await sync_to_async(sync_to_async_caller_loop, thread_sensitive=False)()
    assert seen is loop
    assert sync_to_async_caller_loop() is None  # not from a sync_to_async thread


def test_thread_sensitive_context_takes_an_executor():
    assert "executor" in inspect.signature(ThreadSensitiveContext).parameters


def test_django_cache_handler_creates_and_takes_a_client_per_alias(settings):
    from django.core.cache import caches

    from chat_project.patches.django_caches import use_thread_cache

    assert callable(caches.create_connection)
    client = use_thread_cache("default")
    assert caches["default"] is client
    assert use_thread_cache("default") is client  # one per thread


def test_channels_consumer_call_is_what_the_inbox_receiver_replaces():
    """``chat_project.patches.channels_consumer.InboxReceiving.__call__`` sets up a consumer
    as Channels' ``AsyncConsumer.__call__`` does (scope, layer, channel name, receive,
    send) and then dispatches from the layer's inbox instead of ``await_many_dispatch``:
    when Channels sets up anything more, this fails and the patch must follow."""
    from channels.consumer import AsyncConsumer

    source = inspect.getsource(AsyncConsumer.__call__)
    assigned = sorted(set(re.findall(r"self\.(\w+) = ", source)))
    assert assigned == ["base_send", "channel_layer", "channel_name", "channel_receive", "scope"]
    assert "await_many_dispatch" in source
    assert "except StopConsumer" in source
    from chat_project.patches.channels_consumer import InboxReceiving

    ours = inspect.getsource(InboxReceiving.__call__)
    for name in assigned:
        assert f"self.{name} = " in ours, name


def test_channels_dispatch_is_what_the_gateway_replaces():
    # chat_project.gateway.consumer.EventConsumer.dispatch drops this hop before every handler.
    from channels.consumer import AsyncConsumer

    source = inspect.getsource(AsyncConsumer.dispatch)
    assert "aclose_old_connections" in source
    assert "get_handler_name" in source


def test_the_pubsub_layer_internals_the_project_layer_uses():
    from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer

    from chat_project.patches.channel_layer import PubSubChannelLayer

    layer = PubSubChannelLayer(hosts=["redis://127.0.0.1:1"])
    assert {"_layers", "_args", "_kwargs"} <= set(vars(layer))
    for name in ("_subscribe_to_channel", "_get_group_channel_name", "_get_shard"):
        assert callable(getattr(RedisPubSubLoopLayer, name))
    assert "_get_layer" in vars(RedisPubSubChannelLayer)
    shard_source = inspect.getsource(RedisPubSubLoopLayer)
    assert "channels" in shard_source


async def test_a_shard_has_the_lock_and_client_group_send_many_takes():
    from chat_project.patches.channel_layer import PubSubChannelLayer

    layer = PubSubChannelLayer(hosts=["redis://127.0.0.1:1"])
    loop_layer = layer._get_layer()
    shard = loop_layer._get_shard("probe")
    assert isinstance(shard._lock, asyncio.Lock)
    assert callable(shard._ensure_redis)
    assert layer.inbox("nobody") is None
    await layer.flush()


def test_the_shard_internals_the_batched_subscriptions_use():
    # chat_project.patches.channel_layer._Shard replaces channels_redis' shards
    # (RedisPubSubLoopLayer._shards, built from each decoded host) and keeps their
    # bookkeeping: _subscribed_to, the pub/sub client made by _ensure_redis, and the
    # receive task _ensure_receiver starts.
    from channels_redis.pubsub import RedisPubSubLoopLayer, RedisSingleShardConnection

    from chat_project.patches.channel_layer import _LoopLayer, _Shard

    assert "self._shards = [" in inspect.getsource(RedisPubSubLoopLayer.__init__)
    shard_init = inspect.getsource(RedisSingleShardConnection.__init__)
    for name in ("self.host", "self._subscribed_to", "self._lock", "self._pubsub"):
        assert name in shard_init
    assert "self._pubsub = self._redis.pubsub()" in inspect.getsource(
        RedisSingleShardConnection._ensure_redis
    )
    assert callable(RedisSingleShardConnection._ensure_receiver)
    layer = _LoopLayer(hosts=["redis://127.0.0.1:1"])
    assert all(type(shard) is _Shard for shard in layer._shards)


def test_the_daphne_internals_the_drain_uses():
    # chat_project.patches.daphne_drain: the CLI builds its server from server_class,
    # each listening port reaches listen_success, connections map protocols to their
    # application futures, and serverClose goes through Autobahn's sendClose (which
    # refuses 1012) to sendCloseFrame (which sends it).
    from autobahn.websocket.protocol import WebSocketProtocol as AutobahnProtocol
    from daphne import ws_protocol
    from daphne.cli import CommandLineInterface
    from daphne.server import Server

    assert CommandLineInterface.server_class is Server
    assert "self.server_class(" in inspect.getsource(CommandLineInterface.run)
    assert "listener.addCallback(self.listen_success)" in inspect.getsource(Server.run)
    assert '"application_instance"' in inspect.getsource(Server.application_checker)
    assert "self.sendClose(code=code)" in inspect.getsource(
        ws_protocol.WebSocketProtocol.__dict__.get("_support_chat_serverClose")
        or ws_protocol.WebSocketProtocol.serverClose
    )
    assert list(inspect.signature(AutobahnProtocol.sendCloseFrame).parameters)[1:] == [
        "code",
        "reasonUtf8",
        "isReply",
    ]
    assert "invalid close code" in inspect.getsource(AutobahnProtocol.sendClose)
