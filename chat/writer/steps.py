"""One service body for both kinds of caller: a thread that may block, and a socket's
event loop that must not.

A write service that goes through the writer is written as a generator, its *steps*: it
yields each change for the writer (an ``Append``, ``Place`` or ``Receipt``) and gets the
change's outcome back; before anything that blocks (an ORM read, a sleep) it yields
:data:`IN_THREAD`; its return value is the service's answer. The body is the same for
every path, so nothing in the timeline can differ by path (issue 12).

- :func:`run` (REST views, commands, routing): every step on the calling thread, each
  change through :meth:`TimelineWriter.submit`.
- :func:`arun` (the gateway): the steps run on the loop and each change is awaited on
  it (:meth:`TimelineWriter.submit_async`), so a plain send or receipt costs no thread
  hop at all; at the first ``IN_THREAD`` (attachments, a retry's replay, a refusal
  that needs the room) the rest of the body continues on a database thread
  (``chat_project.hops``) as :func:`run` would run it.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, TypeVar

from chat.writer import timeline_writer
from chat.writer.ops import Append, Outcome, Place, Receipt
from chat_project.hops import database_hop

T = TypeVar("T")

IN_THREAD = object()

Step = Append | Place | Receipt | object
Steps = Generator[Step, Outcome | None, T]


def run(steps: Steps[T], outcome: Outcome | None = None) -> T:
    """Drive ``steps`` on this thread (``outcome``: the answer to the step it is
    stopped at, when another driver started it)."""
    writer = timeline_writer()
    while True:
        try:
            step = steps.send(outcome)
        except StopIteration as done:
            return done.value
        outcome = None if step is IN_THREAD else writer.submit(step)  # type: ignore[arg-type]


async def arun(steps: Steps[T]) -> T:
    """Drive ``steps`` from the event loop, handing them to a database thread at the
    first ``IN_THREAD``."""
    writer = timeline_writer()
    outcome: Any = None
    while True:
        try:
            step = steps.send(outcome)
        except StopIteration as done:
            return done.value
        if step is IN_THREAD:
            return await _run_in_thread(steps)
        outcome = await writer.submit_async(step)  # type: ignore[arg-type]


_run_in_thread = database_hop(run)
