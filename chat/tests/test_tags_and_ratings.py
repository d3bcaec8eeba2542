"""Tags on rooms and the customer's satisfaction rating (issue 16), and the two things
the timeline writer learnt for them: array changes of a room field in the seq's
compare-and-set ($addToSet / $pull), and ``allow_closed``, the one change a closed room
still takes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from chat import selectors, services, writer
from chat.exceptions import AlreadyRated, RatingUnavailable, RoomClosed
from chat.models import EventKind, Room, RoomEvent
from chat.tests.factories import room_with_agent, send
from chat.writer import Append, Appended, Refused
from chat.writer.rounds import RoundPlan, _Segment, _segments
from chat_project.errors import NotFound, PermissionDenied, ValidationFailed

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def room(customer, agent):
    return room_with_agent(customer, agent)


def closed(room, actor) -> Room:
    services.room_close(room_id=str(room.pk), actor=actor)
    return Room.objects.get(pk=room.pk)


def kinds(room) -> list[str]:
    return list(RoomEvent.objects.filter(room=room).order_by("seq").values_list("kind", flat=True))


# --- the writer ------------------------------------------------------------------------------


def test_a_closed_room_takes_a_rating_and_still_refuses_everything_else(room, customer, agent):
    room = closed(room, agent)
    with pytest.raises(RoomClosed):
        send(room, customer, "one more thing")
    with pytest.raises(RoomClosed):
        services.note_add(room_id=str(room.pk), author=agent, text="after")
    with pytest.raises(RoomClosed):
        services.room_tag(room_id=str(room.pk), actor=agent, tag="late")
    rated = services.room_rate(room_id=str(room.pk), customer=customer, score=4)
    assert rated["seq"] == room.last_seq + 1
    # An ordinary change written by the writer itself (no service's check first).
    plain = writer.timeline_writer().submit(
        Append(
            room_id=room.pk,
            event=RoomEvent(room_id=room.pk, kind=EventKind.SYSTEM, text="sneaky"),
        )
    )
    assert isinstance(plain, Refused)
    with pytest.raises(RoomClosed):
        send(room, customer, "and again")
    assert kinds(room) == ["closed", "rated"]


def test_a_rating_and_a_message_in_one_round_keep_their_own_conditions(room, customer, agent):
    """The rating's compare-and-set has no ``status != closed``: nothing shares it."""
    room = closed(room, agent)
    rating = Append(
        room_id=room.pk,
        event=RoomEvent(room_id=room.pk, kind=EventKind.RATED, data={"score": 5}),
        require={"status": "closed", "rated_at": None},
        allow_closed=True,
    )

    def message():
        return Append(
            room_id=room.pk,
            event=RoomEvent(room_id=room.pk, kind=EventKind.MESSAGE, text="hi", actor=customer),
            require={"customer_id": customer.pk},
        )

    def submit(op):
        try:
            return writer.timeline_writer().submit(op)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(submit, [message(), rating, message()]))
    assert isinstance(outcomes[1], Appended)
    assert isinstance(outcomes[0], Refused)
    assert isinstance(outcomes[2], Refused)
    assert kinds(room) == ["closed", "rated"]


def test_allow_closed_and_array_changes_take_a_compare_and_set_of_their_own(room):
    def item(**kwargs):
        op = Append(room_id=room.pk, event=RoomEvent(room_id=room.pk, kind="system"), **kwargs)
        return writer.rounds.Item(op=op)

    plain = [item(), item()]
    rating = item(allow_closed=True)
    tag = item(add_to_set={"tags": ["vip"]})
    segments = _segments([*plain, rating, plain[0], tag, plain[1]])
    assert [len(s) for s in segments] == [2, 1, 1, 1, 1]
    plan = RoundPlan(writer.timeline_writer(), None, "db")
    only_rating = plan._cas_model(_Segment(room.pk, 5, [rating]), None, 4)
    assert "status" not in only_rating._filter
    with_tag = plan._cas_model(_Segment(room.pk, 5, [tag]), None, 4)
    assert with_tag._filter["status"] == {"$ne": "closed"}
    assert with_tag._doc["$addToSet"] == {"tags": {"$each": ["vip"]}}
    # Issue 30: a first reply (set once) and a change that requires no first reply yet
    # (ring-no-answer) never share a compare-and-set, even without an array change.
    reply = item(set_once={"first_agent_reply_at": 1}, require={"agent_id": 1})
    unanswered = item(require={"agent_id": 1, "first_agent_reply_at": None})
    assert [len(s) for s in _segments([reply, unanswered])] == [1, 1]
    assert [len(s) for s in _segments([unanswered, reply])] == [2]


# --- tags ------------------------------------------------------------------------------------


def test_tags_are_timeline_events_and_room_fields(room, agent, support_admin, published):
    rid = str(room.pk)
    added = services.room_tag(room_id=rid, actor=agent, tag="  Billing ")
    assert (added["seq"], added["tag"], added["tags"]) == (1, "billing", ["billing"])
    again = services.room_tag(room_id=rid, actor=support_admin, tag="BILLING")
    assert (again["seq"], again["tags"]) == (None, ["billing"])  # nothing written
    services.room_tag(room_id=rid, actor=support_admin, tag="vip")
    removed = services.room_untag(room_id=rid, actor=agent, tag="billing")
    assert (removed["seq"], removed["tags"]) == (3, ["vip"])
    assert Room.objects.get(pk=room.pk).tags == ["vip"]
    assert kinds(room) == ["tagged", "tagged", "untagged"]
    staff = ["admin", "agent"]
    events = [(m["event"], m["data"]["tag"], m.get("audiences")) for _g, m in published]
    assert events == [
        ("room-tagged", "billing", staff),
        ("room-tagged", "vip", staff),
        ("room-untagged", "billing", staff),
    ]


def test_concurrent_tags_of_one_room_all_land(room, agent):
    def tag(name):
        try:
            return services.room_tag(room_id=str(room.pk), actor=agent, tag=name)
        finally:
            connections.close_all()

    names = [f"t{n}" for n in range(8)]
    with ThreadPoolExecutor(4) as pool:
        seqs = sorted(answer["seq"] for answer in pool.map(tag, names))
    assert seqs == list(range(1, 9))
    assert sorted(Room.objects.get(pk=room.pk).tags) == names


def test_who_may_tag_and_what_a_tag_is(room, customer, other_agent, agent, settings):
    rid = str(room.pk)
    with pytest.raises(PermissionDenied):
        services.room_tag(room_id=rid, actor=customer, tag="x")
    with pytest.raises(NotFound):
        services.room_tag(room_id=rid, actor=other_agent, tag="x")
    for bad in ("", " ", "-x", "a b", "x" * 33, "<b>", "_x"):
        with pytest.raises(ValidationFailed):
            services.room_tag(room_id=rid, actor=agent, tag=bad)
    assert services.room_tag(room_id=rid, actor=agent, tag="Überfällig")["tag"] == "überfällig"
    for n in range(19):
        services.room_tag(room_id=rid, actor=agent, tag=f"t{n}")
    with pytest.raises(ValidationFailed):
        services.room_tag(room_id=rid, actor=agent, tag="one-too-many")


def test_rooms_are_listed_by_tag_for_staff_only(customer, other_customer, agent, support_admin):
    mine = room_with_agent(customer, agent)
    other = room_with_agent(other_customer, agent)
    services.room_tag(room_id=str(mine.pk), actor=agent, tag="vip")
    services.room_tag(room_id=str(other.pk), actor=agent, tag="billing")
    closed(other, agent)
    for user in (agent, support_admin):
        found = selectors.room_list(user=user, tag="VIP")["results"]
        assert [(r["id"], r["tags"]) for r in found] == [(str(mine.pk), ["vip"])]
    for status, count in (("active", 0), ("closed", 1)):
        page = selectors.room_list(user=support_admin, tag="billing", status=status)
        assert len(page["results"]) == count
    with pytest.raises(PermissionDenied):
        selectors.room_list(user=customer, tag="vip")
    assert "tags" not in selectors.room_list(user=customer)["results"][0]
    assert "tags" not in selectors.room_detail(room_id=str(mine.pk), user=customer)
    assert selectors.room_detail(room_id=str(mine.pk), user=agent)["tags"] == ["vip"]


# --- ratings ---------------------------------------------------------------------------------


def test_a_customer_rates_a_closed_room_once(room, customer, agent, published):
    rid = str(room.pk)
    with pytest.raises(RatingUnavailable):
        services.room_rate(room_id=rid, customer=customer, score=5)
    closed(room, customer)
    rated = services.room_rate(room_id=rid, customer=customer, score=5, comment="  Quick! ")
    assert (rated["rating"]["score"], rated["rating"]["comment"]) == (5, "Quick!")
    with pytest.raises(AlreadyRated):
        services.room_rate(room_id=rid, customer=customer, score=1)
    stored = Room.objects.get(pk=room.pk)
    assert (stored.rating, stored.rating_comment) == (5, "Quick!")
    assert selectors.room_detail(room_id=rid, user=agent)["rating"]["score"] == 5
    assert selectors.room_detail(room_id=rid, user=customer)["rating"]["score"] == 5
    rated_events = [m for _g, m in published if m["event"] == "room-rated"]
    assert [m.get("audiences") for m in rated_events] == [["admin", "agent"]]


def test_two_ratings_racing_for_one_room_one_wins(room, customer, agent):
    closed(room, agent)

    def rate(score):
        try:
            return services.room_rate(room_id=str(room.pk), customer=customer, score=score)
        except AlreadyRated as exc:
            return exc
        finally:
            connections.close_all()

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(rate, [1, 2, 3, 4]))
    assert sum(isinstance(o, dict) for o in outcomes) == 1
    assert sum(isinstance(o, AlreadyRated) for o in outcomes) == 3
    assert kinds(room).count("rated") == 1


def test_who_may_rate_what_and_until_when(
    room, customer, other_customer, agent, support_admin, settings
):
    rid = str(room.pk)
    closed(room, agent)
    for user, error in ((agent, PermissionDenied), (support_admin, PermissionDenied)):
        with pytest.raises(error):
            services.room_rate(room_id=rid, customer=user, score=5)
    with pytest.raises(NotFound):
        services.room_rate(room_id=rid, customer=other_customer, score=5)
    for score in (0, 6, True, "5", 4.0):
        with pytest.raises(ValidationFailed):
            services.room_rate(room_id=rid, customer=customer, score=score)
    with pytest.raises(ValidationFailed):
        services.room_rate(room_id=rid, customer=customer, score=5, comment="x" * 1001)
    Room.objects.filter(pk=room.pk).update(
        closed_at=timezone.now() - timedelta(seconds=settings.CHAT_CSAT_WINDOW_SECONDS + 1)
    )
    with pytest.raises(RatingUnavailable):
        services.room_rate(room_id=rid, customer=customer, score=5)
