"""Routing, by area: ``eligibility`` (who may take a room, who is best), ``queue``
(draining, positions, estimates), ``transfers`` (manual assignment, transfer to an agent
or a team, requeue), ``repairs`` (recounts, vanished agents, housekeeping), ``teams``
(where a new room goes, overflow, openings, skills, messages left while closed; issue
15), ``timers`` (ring-no-answer, SLA flags) and ``mail`` (offline messages by e-mail;
issue 30), ``team_admin`` (creating teams: the admin and ``manage.py create_team``); and the
agents' own tools: ``canned`` (canned responses).

The rule (README "Routing"):
- Eligible agent: role agent, active account, ``accepting_chats``, a live presence
  lease (a connected socket), manual status ``online`` (not away/busy/offline), and
  ``active_chats < max_chats``; for a room of a team, a member of that team; for a room
  that needs skills, holding each (at its minimum level).
- Load is the agent's current active rooms. The lowest ``active_chats / max_chats``
  wins; ties go to the agent whose last assignment is oldest (never assigned counts
  as oldest), then to the lowest id.
- A new room is routed at once; if nobody is eligible it waits in its team's queue (the
  general queue without a team), FIFO by ``queued_at`` and then id
  (``chat.selectors.QUEUE_ORDER``, the one order every reader of a queue uses; a
  re-routed room goes back to the head). The queues drain on every event that frees
  capacity or brings an agent in, and a team's at its opening.

Atomic without transactions: a slot is reserved on the agent with one conditional
update (``accounts.capacity``), the room is claimed with one conditional update
(``chat.assignment``), and a lost claim gives the slot back. Crash between the two:
the counter is one too high until ``agents_reconcile`` (run by ``reconcile_agents``,
by the periodic housekeeping and by ``./run.sh`` at start) recounts it from the rooms.

One drainer at a time (a Redis lock), so the queue leaves in order; a caller that
finds it taken leaves a "drain again" flag that the holder honours before letting go.
"""

from agents.services.canned import canned_create, canned_delete, canned_update
from agents.services.eligibility import agent_fits, agent_rank, agents_eligible
from agents.services.queue import (
    ALL,
    assignments_per_second,
    assignments_per_second_by_team,
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
from agents.services.team_admin import team_create
from agents.services.teams import (
    room_extras,
    room_leave_message,
    room_skills_set,
    room_target,
    team_rooms_to_general,
    teams_overflow,
    teams_tick,
)
from agents.services.timers import (
    rooms_sla_check,
    rooms_unanswered_reroute,
    routing_timers_tick,
)
from agents.services.transfers import (
    room_assign_agent,
    room_remove_agent,
    room_requeue,
    room_transfer,
    room_transfer_to_team,
)

__all__ = [
    "ALL",
    "agent_fits",
    "agent_rank",
    "agents_eligible",
    "agents_gone_sweep",
    "agents_reconcile",
    "assignments_per_second",
    "assignments_per_second_by_team",
    "canned_create",
    "canned_delete",
    "canned_update",
    "estimate_wait_seconds",
    "queue_drain",
    "queue_notify",
    "queue_snapshot",
    "room_assign_agent",
    "room_closed_release",
    "room_extras",
    "room_leave_message",
    "room_remove_agent",
    "room_requeue",
    "room_skills_set",
    "room_target",
    "room_transfer",
    "room_transfer_to_team",
    "rooms_sla_check",
    "rooms_unanswered_reroute",
    "routing_housekeeping",
    "routing_timers_tick",
    "team_create",
    "team_rooms_to_general",
    "teams_overflow",
    "teams_tick",
]
