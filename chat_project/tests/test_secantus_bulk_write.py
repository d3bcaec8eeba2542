"""``chat_project.patches.secantus_bulk_write``: the embedded server's ``bulkWrite`` honours
``writeConcern.j`` as mongod does, so an acknowledged timeline round survives a crash of
the database process.

mongod's documented behaviour (docs/manual/reference/write-concern, "j Option"): with
``j: true`` a write is acknowledged only after it is in the on-disk journal, and the
``bulkWrite`` command takes a write concern like every write command. Unpatched, SecantusDB
0.7.0b3 dropped it there: in a trial of this test's loop, 659 of 1,000 acknowledged
documents were gone after a kill -9 (0 with the patch)."""

from __future__ import annotations

import logging
import os
import re
import signal
import time

import pymongo
import pytest
from pymongo import MongoClient, WriteConcern

from chat_project.dev import servers as devservers
from chat_project.patches import secantus_bulk_write

ROUNDS, PER_ROUND = 40, 5


def _killed(server: devservers.EmbeddedProcess) -> None:
    os.killpg(server.process.pid, signal.SIGKILL)  # the server runs in its own session
    server.process.wait()


@pytest.mark.parametrize("run", range(3))
def test_a_journaled_bulk_write_survives_kill_9_of_the_database(tmp_path, run):
    storage = str(tmp_path / "db")
    server = devservers.start_mongo(storage)
    try:
        client = MongoClient(server.url)
        for number in range(ROUNDS):
            client.bulk_write(
                [
                    pymongo.InsertOne({"round": number, "k": k}, namespace="crash.acked")
                    for k in range(PER_ROUND)
                ],
                write_concern=WriteConcern(w=1, j=True),
            )
        client.close()
    finally:
        _killed(server)
    restarted = devservers.start_mongo(storage)
    try:
        found = MongoClient(restarted.url).crash.acked.count_documents({})
    finally:
        restarted.stop()
    assert found == ROUNDS * PER_ROUND


def test_the_patch_flushes_the_log_once_per_journaled_command():
    flushed: list[str] = []

    class Session:
        def log_flush(self, config: str) -> None:
            flushed.append(config)

    class Storage:
        in_memory = False
        _durable = True

        def _session(self) -> Session:
            return Session()

    class Context:
        storage = Storage()

    def bulk_write(doc, ctx):
        return {"ok": 1.0, "nInserted": 2, "nModified": 0}

    def wants_journal(doc):
        return bool((doc.get("writeConcern") or {}).get("j"))

    patched = secantus_bulk_write.journaled(bulk_write, wants_journal)
    patched({"writeConcern": {"j": True}}, Context())
    patched({"writeConcern": {"w": 1}}, Context())  # not asked for
    patched(
        {"writeConcern": {"j": True}},
        type("C", (), {"storage": type("S", (), {"in_memory": True})()})(),
    )
    assert flushed == ["sync=on"]


def test_the_patched_handler_is_the_one_secantus_dispatches():
    # A contract on SecantusDB's internals (pinned exactly in pyproject.toml): the
    # command table and the journal helper the patch relies on exist as used.
    from secantus import commands

    assert callable(commands._HANDLERS["bulkWrite"])
    assert commands._wants_journal({"writeConcern": {"j": True}}) is True
    assert commands._wants_journal({"writeConcern": {"w": 1}}) is False


def test_a_slow_journal_flush_is_logged_with_its_duration(caplog):
    # The benchmarks read these lines to tell a disk stall from a busy server.
    class Session:
        def log_flush(self, config: str) -> None:
            time.sleep(secantus_bulk_write.SLOW_FLUSH_SECONDS + 0.02)

    storage = type("Storage", (), {"in_memory": False, "_session": lambda self: Session()})()
    context = type("Context", (), {"storage": storage})()
    patched = secantus_bulk_write.journaled(
        lambda doc, ctx: {"ok": 1.0, "nInserted": 1}, lambda doc: True
    )
    with caplog.at_level(logging.WARNING, logger=secantus_bulk_write.__name__):
        patched({"writeConcern": {"j": True}}, context)
    [record] = caplog.records
    assert re.fullmatch(r"journal flush took \d+ ms", record.getMessage())
    assert int(record.getMessage().split()[3]) >= secantus_bulk_write.SLOW_FLUSH_SECONDS * 1000
