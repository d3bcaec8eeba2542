"""Who holds a room: claim by an agent, transfer between agents, back to the queue, and
(issue 15) moves between team queues: overflow to a fallback team, transfer to a team.

Each change is ONE change of the timeline writer (``chat.writer``): the room's
compare-and-set takes its next seq only while the room still is as the change expects
(queued and unassigned for a claim, with the old agent for a transfer or requeue) and
sets the new holder in the same single-document update; the event goes in at that seq
in the same round. The condition is what makes concurrent routers and transfers safe
without transactions: only one claim of a queued room, and only one transfer from a
given agent, can match. Capacity (the agent's counter) is routing's business
(``agents.services``): it reserves before calling in here and releases when a call
returns None.

Crash points: as every change of the writer (a database crash between the
compare-and-set and the event leaves the room with its new agent and a hole at that
seq, which ``chat.holes`` fills; the agent still learns of the room from its room
list). Publishing follows the durable write, in seq order.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.utils import timezone

from accounts.models import User
from chat import dtos, events, render, timeline
from chat.models import EventKind, Room, RoomEvent, RoomStatus
from chat.selectors import object_id
from chat.services import outcomes
from chat.services.notes import transfer_note_add
from chat.services.rooms import room_scene
from chat.writer import Append
from chat_project.errors import DomainError

QUEUED = RoomStatus.QUEUED.value
ACTIVE = RoomStatus.ACTIVE.value


def _brief(user: User | None) -> dict[str, Any] | None:
    return dtos.user_brief(user) if user is not None else None


def _room_as(room: Room, **changes: Any) -> Room:
    """``room`` as the change leaves it: its rendering needs no read after the write
    (nothing else of a room moves while it waits or is held, and a close in between
    would have failed the change)."""
    changed = copy.copy(room)
    for name, value in changes.items():
        setattr(changed, name, value)
    return changed


def _append(
    room: Room,
    *,
    kind: str,
    actor: User | None,
    require: dict[str, Any],
    set_fields: dict[str, Any],
    data: dict[str, Any],
    notice: events.Notice,
    text: str = "",
    add_to_set: dict[str, list[Any]] | None = None,
) -> RoomEvent | None:
    """Write the change; its stored row, or None when the room was no longer as the
    change requires (another router, transfer or close won: routing decides)."""
    data = {**data, "room": render.room_snapshot(notice.scene.room)}
    event = RoomEvent(room_id=room.pk, kind=kind, actor=actor, text=text, data=data)
    op = Append(
        room_id=room.pk,
        event=event,
        require=require,
        set_fields=set_fields,
        known_seq=room.last_seq,
        notice=notice,
        add_to_set=add_to_set or {},
    )
    try:
        return outcomes.written(op)
    except DomainError:
        return None


def _answer(row: RoomEvent, notice: events.Notice, viewer: User | None) -> dict[str, Any]:
    """What the change's caller is answered: its event as the acting staff member (or,
    for routing's own changes, an admin) sees it."""
    audience = render.audience_of(viewer) if viewer is not None else render.Audience.ADMIN
    rendered = render.event(row, notice.scene, audience)
    assert rendered is not None
    return rendered[1]


def _handover_marks(room: Room, agent: User) -> dict[str, Any]:
    """The incoming agent's watermarks at the hand-over: what came before is theirs to
    read as history, not as unread messages, and the customer's ticks never move back
    because a new reader joined (issue 31)."""
    seq = room.last_seq + 1
    return {f"watermarks.{agent.pk}": {"delivered": seq, "read": seq}}


def claim(
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
    the queue, which saves reading it again; ``known``: users already in hand (its
    customer), which saves reading them."""
    oid = object_id(room_id)
    room = queued if queued is not None and queued.pk == oid else timeline.room_by_id(oid)
    if room is None:
        return None
    now = timezone.now()
    claimed = _room_as(room, status=ACTIVE, agent_id=agent.pk, assigned_at=now)
    notice = events.Notice(
        scene=room_scene(claimed, known=[agent, *known]),
        tell_users=((agent.pk, render.audience_of(agent)),),
    )
    written = _append(
        room,
        kind=EventKind.ASSIGNED,
        actor=actor,
        require={"status": QUEUED, "agent_id": None},
        set_fields={"status": ACTIVE, "agent_id": agent.pk, "assigned_at": now},
        data={"agent": _brief(agent), "reason": reason},
        notice=notice,
    )
    return _answer(written, notice, actor) if written is not None else None


def hand_over(
    *,
    room: Room,
    from_agent: User,
    to_agent: User,
    actor: User,
    note: str = "",
    forced: bool = False,
    to_team: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """Move an active room from ``from_agent`` to ``to_agent``. None if the room is
    not (any more) active with ``from_agent``: a concurrent transfer or close won.
    The old agent loses access at once (``room.access``). ``to_team`` (``{id, name}``,
    a transfer to a team): the room joins that team too.

    ``note`` becomes a private note right after the ``transferred`` event
    (``chat.services.notes``): the event, which the customer receives, never carries
    it. The answer (to the staff member who transferred) echoes it."""
    now = timezone.now()
    data = {
        "from_agent": _brief(from_agent),
        "to_agent": _brief(to_agent),
        "forced": forced,
        "by": _brief(actor),
    }
    team_fields: dict[str, Any] = {}
    if to_team is not None:
        data["to_team"] = to_team
        team_fields = {"team_id": object_id(to_team["id"]), "team_at": now}
    moved = _room_as(room, agent_id=to_agent.pk, assigned_at=now, **team_fields)
    notice = events.Notice(
        scene=room_scene(moved, known=[to_agent, from_agent, actor]),
        tell_users=tuple((agent.pk, render.audience_of(agent)) for agent in (from_agent, to_agent)),
        revoke=(from_agent.pk,),
    )
    written = _append(
        room,
        kind=EventKind.TRANSFERRED,
        actor=actor,
        require={"status": ACTIVE, "agent_id": from_agent.pk},
        set_fields={
            "agent_id": to_agent.pk,
            "assigned_at": now,
            **team_fields,
            **_handover_marks(room, to_agent),
        },
        data=data,
        notice=notice,
    )
    if written is None:
        return None
    transfer_note_add(
        room_id=room.pk,
        author=actor,
        text=note,
        transfer={"from_agent": data["from_agent"], "to_agent": data["to_agent"]},
        known_seq=written.seq,
    )
    return {**_answer(written, notice, actor), "note": note}


def back_to_queue(
    *,
    room: Room,
    from_agent: User,
    queued_at: datetime,
    reason: str,
    actor: User | None = None,
    to_general: bool = False,
    skip: bool = False,
) -> dict[str, Any] | None:
    """Take an active room away from ``from_agent`` and put it back in its team's queue at
    ``queued_at`` (routing passes a time ahead of every waiting room: the head).
    ``to_general``: in the general queue instead (its team is gone). ``skip``: routing
    never gives it back to ``from_agent`` (an admin removed them). None if the room is
    no longer active with that agent."""
    now = timezone.now()
    fields = {
        "status": QUEUED,
        "agent_id": None,
        "queued_at": queued_at,
        "team_at": now,
        **({"team_id": None} if to_general else {}),
    }
    notice = events.Notice(
        scene=room_scene(_room_as(room, **fields), known=[from_agent]),
        revoke=(from_agent.pk,),
    )
    written = _append(
        room,
        kind=EventKind.SYSTEM,
        actor=actor,
        require={"status": ACTIVE, "agent_id": from_agent.pk},
        set_fields=fields,
        data={"from_agent": _brief(from_agent), "reason": reason},
        text=f"Back in the queue: {reason}.",
        notice=notice,
        add_to_set={"skip_agents": [str(from_agent.pk)]} if skip else None,
    )
    return _answer(written, notice, actor) if written is not None else None


def overflow(
    *, room: Room, to_team: dict[str, Any] | None, from_team: dict[str, Any], text: str
) -> dict[str, Any] | None:
    """Move a waiting room from its team's queue to ``to_team``'s (``{id, name}``; None:
    the general queue), keeping its place in time (``queued_at``), with a system message
    the customer reads. None if the room no longer waits in ``from_team``'s queue
    (claimed, closed, moved meanwhile)."""
    fields = {"team_id": object_id(to_team["id"]) if to_team else None, "team_at": timezone.now()}
    notice = events.Notice(scene=room_scene(_room_as(room, **fields)))
    written = _append(
        room,
        kind=EventKind.SYSTEM,
        actor=None,
        require={"status": QUEUED, "agent_id": None, "team_id": object_id(from_team["id"])},
        set_fields=fields,
        data={"kind": "overflow", "from_team": from_team, "to_team": to_team},
        text=text,
        notice=notice,
    )
    return _answer(written, notice, None) if written is not None else None


def to_team_queue(
    *,
    room: Room,
    to_team: dict[str, Any],
    queued_at: datetime,
    text: str,
    actor: User | None,
    from_agent: User | None = None,
    note: str = "",
) -> dict[str, Any] | None:
    """Put ``room`` in ``to_team``'s queue at ``queued_at`` (routing passes a time ahead
    of every waiting room of that team: the head): an active room is taken from
    ``from_agent``, a waiting one leaves its own queue. None if the room is no longer
    as read (another change won).

    ``note`` becomes a private note right after the move, as a transfer's does: the
    ``system`` event, which the customer reads, never carries it (issue 26: it did)."""
    data: dict[str, Any] = {"kind": "to_team", "to_team": to_team}
    if from_agent is not None:
        data["from_agent"] = _brief(from_agent)
        require = {"status": ACTIVE, "agent_id": from_agent.pk}
    else:
        require = {"status": QUEUED, "agent_id": None, "team_id": room.team_id}
    fields = {
        "status": QUEUED,
        "agent_id": None,
        "queued_at": queued_at,
        "team_id": object_id(to_team["id"]),
        "team_at": timezone.now(),
    }
    notice = events.Notice(
        scene=room_scene(_room_as(room, **fields), known=[from_agent] if from_agent else []),
        revoke=(from_agent.pk,) if from_agent is not None else (),
    )
    written = _append(
        room,
        kind=EventKind.SYSTEM,
        actor=actor,
        require=require,
        set_fields=fields,
        data=data,
        text=text,
        notice=notice,
    )
    if written is None:
        return None
    if actor is not None:
        transfer_note_add(
            room_id=room.pk,
            author=actor,
            text=note,
            transfer={"from_agent": data.get("from_agent"), "to_agent": None, "to_team": to_team},
            known_seq=written.seq,
        )
    return {**_answer(written, notice, actor), "note": note}


# What the customer reads when their chat leaves an agent who did not answer (issue 30).
PASSED_ON = "Your chat was passed to another agent."


def pass_on_unanswered(
    *, room: Room, from_agent: User, to_agent: User | None, queued_at: datetime
) -> dict[str, Any] | None:
    """Ring-no-answer (issue 30): take an active room from ``from_agent``, who has not
    answered, and give it to ``to_agent`` (a ``transferred`` row by nobody), or with
    None put it at the head of its queue (``queued_at``; a ``system`` row). Either way
    the room will not go back to ``from_agent`` (``skip_agents``).

    None if the room is no longer active with ``from_agent`` or has its first agent
    reply: the requirement ``first_agent_reply_at: null`` is checked in the same
    compare-and-set that a send's ``set_once`` of that field passes through, so a reply
    and the re-route are ordered by the room document and exactly one of them wins (a
    reply that loses is refused, as any send to a room its sender no longer holds: the
    agent is told, nothing is stored half)."""
    now = timezone.now()
    require = {"status": ACTIVE, "agent_id": from_agent.pk, "first_agent_reply_at": None}
    skip = {"skip_agents": [str(from_agent.pk)]}
    if to_agent is not None:
        moved = _room_as(room, agent_id=to_agent.pk, assigned_at=now)
        notice = events.Notice(
            scene=room_scene(moved, known=[to_agent, from_agent]),
            tell_users=tuple((a.pk, render.audience_of(a)) for a in (from_agent, to_agent)),
            revoke=(from_agent.pk,),
        )
        written = _append(
            room,
            kind=EventKind.TRANSFERRED,
            actor=None,
            require=require,
            set_fields={
                "agent_id": to_agent.pk,
                "assigned_at": now,
                **_handover_marks(room, to_agent),
            },
            data={
                "from_agent": _brief(from_agent),
                "to_agent": _brief(to_agent),
                "forced": False,
                "by": None,
                "reason": "ring_no_answer",
                "text": PASSED_ON,
            },
            notice=notice,
            add_to_set=skip,
        )
    else:
        fields = {
            "status": QUEUED,
            "agent_id": None,
            "queued_at": queued_at,
            "team_at": now,
        }
        notice = events.Notice(
            scene=room_scene(_room_as(room, **fields), known=[from_agent]),
            tell_users=((from_agent.pk, render.audience_of(from_agent)),),
            revoke=(from_agent.pk,),
        )
        written = _append(
            room,
            kind=EventKind.SYSTEM,
            actor=None,
            require=require,
            set_fields=fields,
            data={"kind": "ring_no_answer", "from_agent": _brief(from_agent)},
            text=f"{PASSED_ON[:-1]} as soon as one is free.",
            notice=notice,
            add_to_set=skip,
        )
    return _answer(written, notice, None) if written is not None else None
