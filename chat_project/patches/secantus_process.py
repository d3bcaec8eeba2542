"""The embedded SecantusDB's process: no stop-the-world collections of its whole heap, and
short hand-offs between its connection threads.

mongod is C++: no garbage collector stops it, and each connection's operation runs on
its own thread, in parallel with the others ("mongod uses one thread per connection").
SecantusDB 0.7.0b3 runs each connection on a Python thread of one interpreter. Two
consequences, measured under the webhook worker's load (docs/benchmarks.md, "Webhooks:
the embedded server's pauses"):

- **Full collections.** Its heap grows with the data it has served (132 to 240 MB in a
  20 s run), and CPython's automatic collector walked all of it every second or two:
  30 to 100 ms each, every thread stopped, and never a cycle found (``collected=0`` in
  every one). A chat's journaled write that arrived meanwhile waited for it.
  ``gc.freeze()`` leaves what the process loaded at start out of every collection, and
  full collections come after ``FULL_COLLECTION_EVERY`` middle-generation ones instead
  of 10: young-generation collections (a few ms, and where short-lived cycles die) go
  on as before.
- **Hand-offs.** A thread that waits for the interpreter lock (a short write whose
  socket read or journal flush let go of it) waits up to the switch interval (5 ms by
  default) for each busy thread, at every hand-off. ``SWITCH_INTERVAL_SECONDS`` makes
  a long command (the outbox's 25-document insert) give way sooner.

Used only in the embedded server's process (``chat_project.patches.secantus``);
``chat_project/tests/test_secantus_process.py`` states the behaviour.
"""

from __future__ import annotations

import gc
import sys

SWITCH_INTERVAL_SECONDS = 0.0005
FULL_COLLECTION_EVERY = 10_000


def install() -> None:
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
