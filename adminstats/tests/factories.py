"""Rooms with known timestamps, written the way chat.services and chat.assignment
write them (room fields and timeline events), for the statistics tests.

Every document's ObjectId carries its own time (``oid_at``), as an id made at insert
time does: the statistics find a window's documents by ``_id`` first.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime

from bson import ObjectId

from accounts.models import User
from chat.models import EventKind, Room, RoomEvent, RoomStatus


def oid_at(moment: datetime) -> ObjectId:
    """A unique ObjectId whose timestamp is ``moment`` (to the second)."""
    return ObjectId(int(moment.timestamp()).to_bytes(4, "big") + os.urandom(8))


@dataclass
class RoomStory:
    """A room's life, step by step. ``queued`` collects the intervals it waited in the
    queue ([start, end), end None while still queued), for checking derived series."""

    customer: User
    created_at: datetime
    room: Room | None = None
    agent: User | None = None
    seq: int = 0
    queued: list[list[datetime | None]] = field(default_factory=list)
    fields: dict = field(default_factory=dict)
    team_id: ObjectId | None = None
    created_offline: bool = False

    def __post_init__(self):
        self.room = Room.objects.create(
            pk=oid_at(self.created_at),
            customer=self.customer,
            status=RoomStatus.QUEUED,
            created_at=self.created_at,
            queued_at=self.created_at,
            team_id=self.team_id,
            team_at=self.created_at,
            created_offline=self.created_offline,
        )
        self.queued.append([self.created_at, None])

    def _event(self, kind: str, at: datetime, actor: User | None, **kwargs) -> RoomEvent:
        self.seq += 1
        return RoomEvent.objects.create(
            pk=oid_at(at),
            room=self.room,
            seq=self.seq,
            kind=kind,
            created_at=at,
            actor=actor,
            **kwargs,
        )

    def _save(self, **changes) -> None:
        self.fields.update(changes)
        Room.objects.filter(pk=self.room.pk).update(last_seq=self.seq, **changes)

    def assign(self, agent: User, at: datetime) -> RoomStory:
        self._event(EventKind.ASSIGNED, at, None, data={"agent": {"id": str(agent.pk)}})
        self.agent = agent
        self.queued[-1][1] = at
        self._save(status=RoomStatus.ACTIVE, agent=agent, assigned_at=at)
        return self

    def transfer(self, to_agent: User, at: datetime) -> RoomStory:
        self._event(EventKind.TRANSFERRED, at, None, data={"to_agent": {"id": str(to_agent.pk)}})
        self.agent = to_agent
        self._save(agent=to_agent, assigned_at=at)
        return self

    def requeue(self, at: datetime) -> RoomStory:
        data = {"from_agent": {"id": str(self.agent.pk)}, "reason": "test"}
        self._event(EventKind.SYSTEM, at, None, text="Back in the queue: test.", data=data)
        self.agent = None
        self.queued.append([at, None])
        self._save(status=RoomStatus.QUEUED, agent=None, queued_at=at)
        return self

    def overflow(self, to_team_id: ObjectId, at: datetime) -> RoomStory:
        """What ``chat.assignment.overflow`` writes: a system event, the room's new team."""
        data = {
            "kind": "overflow",
            "from_team": {"id": str(self.team_id), "name": "from"},
            "to_team": {"id": str(to_team_id), "name": "to"},
        }
        self._event(EventKind.SYSTEM, at, None, text="moved", data=data)
        self.team_id = to_team_id
        self._save(team_id=to_team_id, team_at=at)
        return self

    def message(self, sender: User, at: datetime, text: str = "hi") -> RoomStory:
        self._event(EventKind.MESSAGE, at, sender, text=text)
        if (
            self.agent is not None
            and sender.pk == self.agent.pk
            and "first_agent_reply_at" not in self.fields
        ):
            self._save(first_agent_reply_at=at)
        else:
            self._save()
        return self

    def close(self, actor: User, at: datetime) -> RoomStory:
        if self.queued[-1][1] is None:
            self.queued[-1][1] = at
        self._save(status=RoomStatus.CLOSED, closed_at=at)
        self._event(EventKind.CLOSED, at, actor, data={"closed_by": str(actor.pk)})
        self._save()
        return self

    def tag(self, *tags: str) -> RoomStory:
        """Tags as the tag service leaves them on the room (events are not read)."""
        self._save(tags=[*self.fields.get("tags", []), *tags])
        return self

    def rate(self, score: int, at: datetime, comment: str = "") -> RoomStory:
        self._event(EventKind.RATED, at, self.customer, data={"score": score, "comment": comment})
        self._save(rating=score, rating_comment=comment, rated_at=at)
        return self

    def queued_at_instant(self, moment: datetime) -> bool:
        """Waiting in the queue just before ``moment``."""
        return any(start < moment and (end is None or end >= moment) for start, end in self.queued)
