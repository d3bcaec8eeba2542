"""pytest plugin (loaded with ``-p`` from pyproject): start the embedded SecantusDB
(in memory) and Valkey before Django's settings are read, stop them at the end.

Unless MONGODB_URI / REDIS_URL are set, in which case those servers are used. The
servers die with the test process even if it is killed (see devservers).
"""

from __future__ import annotations

import multiprocessing
import os
import secrets

import pytest

from chat_project.dev import servers as devservers

_servers: devservers.Servers | None = None


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    global _servers
    # Forked daphne misbehaves after an async test, and PyMongo is not fork-safe.
    multiprocessing.set_start_method("spawn", force=True)
    os.environ.setdefault("FAST_PASSWORD_HASHER", "1")
    # DEBUG is off in tests, so the key must be strong (chat_project/settings_guards.py):
    # one per run, shared with the servers the tests start (they read the test's sessions).
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
    # Channels' WebsocketCommunicator sends no Host header, so a socket made with it has
    # no served origin (chat_project.origins): its tests present Django's test origin.
    os.environ.setdefault("WS_ALLOWED_ORIGINS", "http://testserver")
    if early_config.getoption("help", default=False) or early_config.getoption(
        "collectonly", default=False
    ):
        return
    _servers = devservers.start_servers(data_dir=None)
    os.environ.update(_servers.environ())


def pytest_unconfigure(config):
    if _servers is not None:
        _servers.stop()
