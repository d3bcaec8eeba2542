"""What a frame costs (issue 28, item 5): a ``sync`` is as much work as the rooms it
names; a user's sends share one budget across their sockets and REST; rooms a ``sync``
names that the user may not see cost one read for all of them."""

from __future__ import annotations

import pytest
from bson import ObjectId

from chat import selectors
from chat.tests import test_consumers

connect, room, rid = test_consumers.connect, test_consumers.room, test_consumers.rid

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_sync_of_many_rooms_costs_what_it_replays(connect, customer, settings):
    """Regression: one ``sync`` could name 200 rooms at the cost of one frame."""
    settings.WS_RATE_PER_SECOND, settings.WS_RATE_BURST = 1, 20
    alice = await connect(customer)
    unknown = {str(ObjectId()): 0 for _ in range(200)}
    first = await alice.reply("sync", {"rooms": unknown})
    assert first["event"] == "ack"
    assert len(first["data"]["failed"]) == 200
    second = await alice.reply("sync", {"rooms": unknown})
    assert (second["event"], second["data"]["code"]) == ("error", "rate_limited")


async def test_a_users_sends_share_one_budget_across_sockets(connect, room, customer, settings):
    """Regression: four sockets of one customer at 9 frames/s each were four budgets."""
    settings.USER_BUDGET_PER_SECOND, settings.USER_BUDGET_BURST = 1, 6
    tabs = [await connect(customer) for _ in range(3)]
    for tab in tabs:
        await tab.request("join-room", {"room_id": rid(room)})
    answers = []
    for n in range(9):
        tab = tabs[n % 3]
        answers.append(
            await tab.reply(
                "send-message", {"room_id": rid(room), "client_msg_id": f"s{n}", "text": "hi"}
            )
        )
    refused = [a for a in answers if a["event"] == "error"]
    assert refused, answers
    assert {a["data"]["code"] for a in refused} == {"rate_limited"}
    assert len([a for a in answers if a["event"] == "ack"]) <= 6 - 3 + 1  # joins cost too


def test_unknown_rooms_in_a_sync_cost_one_read(customer, django_assert_max_num_queries):
    cursors = {str(ObjectId()): 0 for _ in range(50)}
    with django_assert_max_num_queries(2):
        results = selectors.rooms_replay(user=customer, cursors=cursors, max_events=100)
    assert {type(r).__name__ for r in results.values()} == {"NotFound"}
