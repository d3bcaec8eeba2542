"""Routing, by area: ``eligibility`` (who may take a room, who is best), ``queue``
(draining, positions, estimates), ``transfers`` (manual assignment, transfer, requeue),
``repairs`` (recounts, vanished agents, housekeeping); and the agents' own tools:
``canned`` (canned responses).

The rule (README "Routing"):
- Eligible agent: role agent, active account, ``accepting_chats``, a live presence
  lease (a connected socket), manual status ``online`` (not away/busy/offline), and
  ``active_chats < max_chats``.
- Load is the agent's current active rooms. The lowest ``active_chats / max_chats``
  wins; ties go to the agent whose last assignment is oldest (never assigned counts
  as oldest), then to the lowest id.
- A new room is routed at once; if nobody is eligible it waits in the queue, FIFO by
  ``queued_at`` and then id (``chat.selectors.QUEUE_ORDER``, the one order every reader
  of the queue uses; a re-routed room goes back to the head). The queue drains on every
  event that frees capacity or brings an agent in.

Atomic without transactions: a slot is reserved on the agent with one conditional
update (``accounts.capacity``), the room is claimed with one conditional update
(``chat.assignment``), and a lost claim gives the slot back. Crash between the two:
the counter is one too high until ``agents_reconcile`` (run by ``reconcile_agents``,
by the periodic housekeeping and by ``./run.sh`` at start) recounts it from the rooms.

One drainer at a time (a Redis lock), so the queue leaves in order; a caller that
finds it taken leaves a "drain again" flag that the holder honours before letting go.
"""

from agents.services.canned import canned_create, canned_delete, canned_update
from agents.services.eligibility import agent_rank, agents_eligible
from agents.services.queue import (
    assignments_per_second,
    estimate_wait_seconds,
    queue_drain,
    queue_notify,
    queue_snapshot,
)
from agents.services.repairs import (
    agents_gone_sweep,
    agents_reconcile,
    room_closed_release,
    routing_housekeeping,
)
from agents.services.transfers import room_assign_agent, room_requeue, room_transfer

__all__ = [
    "agent_rank",
    "agents_eligible",
    "agents_gone_sweep",
    "agents_reconcile",
    "assignments_per_second",
    "canned_create",
    "canned_delete",
    "canned_update",
    "estimate_wait_seconds",
    "queue_drain",
    "queue_notify",
    "queue_snapshot",
    "room_assign_agent",
    "room_closed_release",
    "room_requeue",
    "room_transfer",
    "routing_housekeeping",
]
