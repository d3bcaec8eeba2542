"""Who holds a room: claim by an agent, transfer between agents, back to the queue.

Each change is ONE conditional single-document update of the room that also takes
the room's next seq (``timeline.reserve_seq_if``), then one insert of the timeline
event. The condition is what makes concurrent routers and transfers safe without
transactions: only one claim of a queued room, and only one transfer from a given
agent, can match. Capacity (the agent's counter) is routing's business
(``agents.services``): it reserves before calling in here and releases when a call
returns None.

Crash points: after the room update and before the event insert the room has its
new agent and a hole at that seq (replay tolerates holes; the agent still learns of
the room from its room list). Publishing follows the insert.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from django.utils import timezone

from accounts.models import User
from chat import dtos, events, timeline
from chat.models import EventKind, Room, RoomEvent, RoomStatus
from chat.selectors import object_id

QUEUED = RoomStatus.QUEUED.value
ACTIVE = RoomStatus.ACTIVE.value


def _brief(user: User | None) -> dict[str, Any] | None:
    return dtos.user_brief(user) if user is not None else None


def _room_data(room_id, known: list[User]) -> dict[str, Any]:
    return dtos.room_dto_one(timeline.room_by_id(room_id), known=known)


def _claimed_room_data(queued: Room, *, known: list[User], assigned_at, seq: int) -> dict[str, Any]:
    """The dto of ``queued`` (read by the caller while it waited) once claimed: a
    queued room changes nothing else of its dto (subject and times are fixed while it
    waits, closing it would have failed the claim), so no re-read is needed."""
    agent = known[0]
    claimed = copy.copy(queued)
    claimed.status, claimed.agent_id = ACTIVE, agent.pk
    claimed.assigned_at, claimed.last_seq = assigned_at, seq
    return dtos.room_dto_one(claimed, known=known)


def room_assign(
    *,
    room_id: object,
    agent: User,
    reason: str,
    actor: User | None = None,
    queued: Room | None = None,
    known: Iterable[User] = (),
) -> dict[str, Any] | None:
    """Give a queued, unassigned room to ``agent``. None if it is no longer queued
    (claimed by another router, or closed). Publishes ``room-assigned`` to the room
    and to every socket of the agent. ``queued``: the room as the caller read it in
    the queue, which saves re-reading it for the payload (the routing drain);
    ``known``: users already in hand (its customer), which saves reading them."""
    oid = object_id(room_id)
    now = timezone.now()
    seq = timeline.reserve_seq_if(
        oid,
        require={"status": QUEUED, "agent_id": None},
        also_set={"status": ACTIVE, "agent_id": agent.pk, "assigned_at": now},
        last_seq=queued.last_seq if queued is not None and queued.pk == oid else None,
    )
    if seq is None:
        return None
    data = {"agent": _brief(agent), "reason": reason}
    timeline.insert_event(
        RoomEvent(room_id=oid, seq=seq, kind=EventKind.ASSIGNED, actor=actor, data=data)
    )
    room = (
        _claimed_room_data(queued, known=[agent, *known], assigned_at=now, seq=seq)
        if queued is not None and queued.pk == oid
        else _room_data(oid, [agent, *known])
    )
    payload = {"room_id": str(oid), "seq": seq, **data, "room": room}
    events.room_event(room_id=oid, seq=seq, event=events.ROOM_ASSIGNED, data=payload)
    events.user_event(user_id=agent.pk, event=events.ROOM_ASSIGNED, data=payload)
    return payload


def room_transfer(
    *,
    room_id: object,
    from_agent: User,
    to_agent: User,
    actor: User,
    note: str = "",
    forced: bool = False,
) -> dict[str, Any] | None:
    """Move an active room from ``from_agent`` to ``to_agent``. None if the room is
    not (any more) active with ``from_agent``: a concurrent transfer or close won.
    The old agent loses access at once (``room.access``)."""
    oid = object_id(room_id)
    seq = timeline.reserve_seq_if(
        oid,
        require={"status": ACTIVE, "agent_id": from_agent.pk},
        also_set={"agent_id": to_agent.pk, "assigned_at": timezone.now()},
    )
    if seq is None:
        return None
    data = {
        "from_agent": _brief(from_agent),
        "to_agent": _brief(to_agent),
        "note": note,
        "forced": forced,
        "by": _brief(actor),
    }
    RoomEvent.objects.create(
        room_id=oid, seq=seq, kind=EventKind.TRANSFERRED, actor=actor, text=note, data=data
    )
    payload = {"room_id": str(oid), "seq": seq, **data, "room": _room_data(oid, [to_agent])}
    events.room_event(room_id=oid, seq=seq, event=events.ROOM_TRANSFERRED, data=payload)
    for agent in (from_agent, to_agent):
        events.user_event(user_id=agent.pk, event=events.ROOM_TRANSFERRED, data=payload)
    events.room_access_revoked(room_id=oid, user_ids=[from_agent.pk])
    return payload


def room_requeue(
    *, room_id: object, from_agent: User, queued_at, reason: str, actor: User | None = None
) -> dict[str, Any] | None:
    """Take an active room away from ``from_agent`` and put it back in the queue at
    ``queued_at`` (routing passes a time ahead of every waiting room: the head).
    None if the room is no longer active with that agent."""
    oid = object_id(room_id)
    seq = timeline.reserve_seq_if(
        oid,
        require={"status": ACTIVE, "agent_id": from_agent.pk},
        also_set={"status": QUEUED, "agent_id": None, "queued_at": queued_at},
    )
    if seq is None:
        return None
    text = f"Back in the queue: {reason}."
    data = {"from_agent": _brief(from_agent), "reason": reason}
    RoomEvent.objects.create(
        room_id=oid, seq=seq, kind=EventKind.SYSTEM, actor=actor, text=text, data=data
    )
    payload = {"room_id": str(oid), "seq": seq, **data, "text": text}
    events.room_event(room_id=oid, seq=seq, event=events.SYSTEM_MESSAGE, data=payload)
    events.room_access_revoked(room_id=oid, user_ids=[from_agent.pk])
    return payload
