"""Every request is answered within its bound, counted from its own arrival (issue 28,
item 1): a socket frame, a REST request, a handshake.

The bound is ``MONGODB_TIMEOUT_MS``: what a caller may wait for a stalled database. A
request's deadline (``arrived + bound``, on the monotonic clock) rides in a context
variable, so it follows the request across a thread hop (``sync_to_async`` copies the
context) into the writer:

- the edge that received the request stops waiting at the deadline and answers
  ``service_unavailable`` (``asyncio.timeout_at`` around the frame's handler, the REST
  handler's wait for its thread);
- work that had not started by then is not started (:func:`check`, at a hop's start and
  before a change is handed to the timeline writer), and a change the writer had not
  started is dropped when its caller gives up (``chat.writer``), so nothing refused is
  stored later; a change already on its way is the writer's usual unknown outcome (a
  send's retry finds it by its key).

Queued requests (a socket's frames are handled one at a time, REST requests wait for one
of ``HTTP_THREADS``) are answered at their own deadline, not at the end of what is queued
before them.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar

from django.conf import settings

from chat_project.errors import ServiceUnavailable

_deadline: ContextVar[float | None] = ContextVar("deadline", default=None)

# How long past its deadline an edge still waits for an answer that is on its way (the
# writer's and the hops' own refusals, timed to the deadline) before it answers itself.
MARGIN = 0.25


def bound() -> float:
    return settings.MONGODB_TIMEOUT_MS / 1000


def now() -> float:
    return time.monotonic()


def of(arrived: float | None = None) -> float:
    """The deadline of a request that arrived at ``arrived`` (default: now)."""
    return (now() if arrived is None else arrived) + bound()


def current() -> float | None:
    return _deadline.get()


@contextlib.contextmanager
def until(deadline: float) -> Iterator[None]:
    """Run the block as a request due by ``deadline``."""
    token = _deadline.set(deadline)
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining(default: float) -> float:
    """Seconds the caller may still wait: ``default``, or less before the deadline."""
    deadline = _deadline.get()
    if deadline is None:
        return default
    return max(0.0, min(default, deadline - now()))


def expired() -> ServiceUnavailable:
    return ServiceUnavailable("The database did not answer in time; try again.")


def check() -> None:
    """Refuse to start work for a request already past its deadline."""
    deadline = _deadline.get()
    if deadline is not None and now() >= deadline:
        raise expired()
