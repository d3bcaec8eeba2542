"""``chat_project.patches.secantus_process``: mongod has no garbage collector to stop it, and
a short operation does not wait behind a long one on another connection. In the
embedded server's process, a heap that grows (as the server's does with the data it
serves) triggers no full collection, and threads hand the interpreter over ten times
sooner. Each case runs in a fresh interpreter: the settings are process-wide."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from chat_project.patches import secantus_process

ROOT = Path(__file__).resolve().parents[2]

# A server's heap: what it holds grows, while each request allocates and drops more.
PROBE = """
import gc, sys
from chat_project.patches import secantus_process
if sys.argv[1] == "tuned":
    secantus_process.install()
held = [{"n": i} for i in range(200_000)]
before = gc.get_stats()[2]["collections"]
for _ in range(300):
    held.extend({"n": i} for i in range(1000))
    request = [[i] for i in range(5000)]
print(gc.get_stats()[2]["collections"] - before, sys.getswitchinterval(), gc.get_freeze_count())
"""


def probe(mode: str) -> tuple[int, float, int]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.split()
    return int(out[0]), float(out[1]), int(out[2])


@pytest.mark.parametrize("mode", ["plain", "tuned"])
def test_a_growing_heap_triggers_no_full_collection_in_the_servers_process(mode):
    full_collections, switch_interval, frozen = probe(mode)
    if mode == "plain":  # CPython's defaults: the pauses the patch removes
        assert full_collections > 0
        assert switch_interval == 0.005
        return
    assert full_collections == 0
    assert switch_interval == secantus_process.SWITCH_INTERVAL_SECONDS
    assert frozen > 0  # what the process loaded at start is left out of collections
