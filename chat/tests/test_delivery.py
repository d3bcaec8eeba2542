"""``chat.gateway.delivery``: the gateway's per-room delivery rules, without a socket or a loop."""

from __future__ import annotations

from chat.gateway.delivery import (
    IN_FLIGHT_WINDOW,
    MISSING_TTL_SECONDS,
    RoomCursor,
    cursor_after_page,
    cursor_after_replay,
)


def event(seq: int) -> dict:
    return {"event": "new-message", "data": {"room_id": "r", "seq": seq}}


def test_live_events_in_order_are_sent_once():
    cursor = RoomCursor(seq=3)
    assert [cursor.take(s, now=0) for s in (4, 5, 5, 3)] == [True, True, False, False]
    assert (cursor.seq, cursor.gaps) == (5, {})


def test_a_skip_ahead_is_sent_at_once_and_its_gaps_when_they_arrive():
    # given events 5 and 6 lost (or published late) by the fan-out
    cursor = RoomCursor(seq=4)
    assert cursor.take(7, now=1.0)
    assert cursor.gaps == {5: 1.0, 6: 1.0}
    # when one of them arrives late, it is sent; a duplicate of it is not
    assert cursor.take(6, now=2.0)
    assert not cursor.take(6, now=2.0)
    assert cursor.gaps == {5: 1.0}


def test_a_repair_sends_the_gaps_the_database_has_and_what_lies_beyond():
    cursor = RoomCursor(seq=4)
    cursor.take(7, now=1.0)  # gaps 5, 6
    sent = cursor.repair([event(5), event(7), event(8)], now=2.0)
    # 5 was a gap, 7 was already sent, 8 is beyond (the live stream stopped early)
    assert [item["data"]["seq"] for item in sent] == [5, 8]
    # 6 is in no store yet (a write in flight): sent if it arrives, never read again
    assert (cursor.seq, cursor.gaps, cursor.unread) == (8, {}, {6: 1.0})
    assert cursor.take(6, now=3.0)


def test_what_never_arrives_is_forgotten_after_the_ttl():
    cursor = RoomCursor(seq=1, unread={2: 0.0}, gaps={3: 0.0})
    cursor.forget_stale(now=MISSING_TTL_SECONDS + 1)
    assert (cursor.unread, cursor.gaps) == ({}, {})


def test_gaps_are_bounded_by_the_replay_limit():
    cursor = RoomCursor(seq=0, max_gap=10)
    cursor.take(1000, now=0)
    assert sorted(cursor.gaps) == list(range(990, 1000))


def test_after_a_page_recent_seqs_it_lacks_may_still_arrive_live():
    page = {"last_seq": 5, "messages": [{"seq": 1}, {"seq": 2}, {"seq": 4}]}
    cursor = cursor_after_page(page, now=0, max_gap=100)
    assert (cursor.seq, sorted(cursor.unread), cursor.gaps) == (5, [3, 5], {})
    assert cursor.take(3, now=1)  # a write that was in flight during the read
    assert not cursor.take(4, now=1)  # it was in the page


def test_after_a_replay_the_seqs_it_lacks_are_gaps_to_repair():
    replay = {"last_seq": 6, "events": [event(4), event(6)]}
    cursor = cursor_after_replay(replay, 3, now=0, max_gap=100)
    assert (cursor.seq, sorted(cursor.gaps)) == (6, [5])


def test_only_the_newest_seqs_count_as_possibly_in_flight():
    page = {"last_seq": IN_FLIGHT_WINDOW + 50, "messages": []}
    cursor = cursor_after_page(page, now=0, max_gap=1000)
    assert min(cursor.unread) == 51
    assert len(cursor.unread) == IN_FLIGHT_WINDOW
