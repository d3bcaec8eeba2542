"""/api/chat/rooms/{id}/notes, /tags and /rating over HTTP with CSRF: who gets what."""

from __future__ import annotations

import pytest

from chat import services
from chat.tests.factories import room_with_agent

pytestmark = pytest.mark.django_db(transaction=True)

WHO = ["alice", "bob", "agent1", "agent2", "admin", None]


@pytest.fixture
def world(customer, other_customer, agent, other_agent, support_admin):
    """alice's room with agent1, a note of agent1's in it and the tag ``vip``."""
    room = room_with_agent(customer, agent)
    note = services.note_add(room_id=str(room.pk), author=agent, text="VIP, be gentle")
    services.room_tag(room_id=str(room.pk), actor=agent, tag="vip")
    users = {u.username: u for u in (customer, other_customer, agent, other_agent, support_admin)}
    return {"room": str(room.pk), "note": note["id"], "users": users}


ENDPOINTS = {
    # name: (method, path template, body, [alice, bob, agent1, agent2, admin, anonymous])
    "notes": ("get", "/api/chat/rooms/{room}/notes", None, [403, 403, 200, 404, 200, 401]),
    "note-add": (
        "post",
        "/api/chat/rooms/{room}/notes",
        {"text": "call back at 5"},
        [403, 403, 201, 404, 201, 401],
    ),
    "note-edit": (
        "patch",
        "/api/chat/rooms/{room}/notes/{note}",
        {"text": "edited"},
        [403, 403, 200, 404, 200, 401],
    ),
    "note-delete": (
        "delete",
        "/api/chat/rooms/{room}/notes/{note}",
        None,
        [403, 403, 200, 404, 200, 401],
    ),
    "note-edits": (
        "get",
        "/api/chat/rooms/{room}/notes/{note}/edits",
        None,
        [403, 403, 403, 403, 200, 401],
    ),
    "tag": (
        "post",
        "/api/chat/rooms/{room}/tags",
        {"tag": "billing"},
        [403, 403, 200, 404, 200, 401],
    ),
    "untag": ("delete", "/api/chat/rooms/{room}/tags/vip", None, [403, 403, 200, 404, 200, 401]),
    "by-tag": ("get", "/api/chat/rooms?tag=vip", None, [403, 403, 200, 200, 200, 401]),
    "rate": (  # the room is still open: its customer is told so
        "post",
        "/api/chat/rooms/{room}/rating",
        {"score": 5},
        [409, 404, 403, 403, 403, 401],
    ),
}
CODES = {401: "not_authenticated", 403: "permission_denied", 404: "not_found"}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_authorization_matrix(api_factory, world, endpoint):
    """Each identity in turn, on the same room (what one changes, e.g. a tag added,
    leaves the others' answers as they are)."""
    method, template, body, expected = ENDPOINTS[endpoint]
    path = template.format(**world)
    for who, status in zip(WHO, expected, strict=True):
        api = api_factory()
        if who:
            api.force_login(world["users"][who])
        response = api.get(path) if method == "get" else getattr(api, method)(path, body)
        assert response.status_code == status, (who, response.content)
        if status in CODES:
            assert response.json()["error"]["code"] == CODES[status]


def test_an_agent_works_a_room_over_rest(api, world, customer):
    api.force_login(world["users"]["agent1"])
    base = f"/api/chat/rooms/{world['room']}"
    note = api.post(f"{base}/notes", {"text": "second note"}).json()
    assert note["seq"] == 3
    edited = api.patch(f"{base}/notes/{note['id']}", {"text": "2nd note"}).json()
    assert (edited["seq"], edited["note"]["text"]) == (4, "2nd note")
    notes = api.get(f"{base}/notes?limit=1").json()
    assert [n["text"] for n in notes["results"]] == ["VIP, be gentle"]
    assert "after_seq=1" in notes["next"]
    assert [n["text"] for n in api.get(notes["next"]).json()["results"]] == ["2nd note"]
    tagged = api.post(f"{base}/tags", {"tag": "Refund"}).json()
    assert (tagged["tag"], sorted(tagged["tags"])) == ("refund", ["refund", "vip"])
    assert api.delete(f"{base}/tags/nothere").json()["seq"] is None
    assert api.delete(f"{base}/tags/-bad-").status_code == 400
    listed = api.get("/api/chat/rooms/agent?tag=refund&status=active").json()["results"]
    assert [r["id"] for r in listed] == [world["room"]]
    assert api.get("/api/chat/rooms?tag=").status_code == 400


def test_a_customer_rates_over_rest_after_the_close(api, world, customer):
    api.force_login(customer)
    base = f"/api/chat/rooms/{world['room']}"
    assert api.delete(base).status_code == 200
    for body in ({"score": 0}, {"score": "5"}, {"score": 5, "comment": 7}, {}):
        assert api.post(f"{base}/rating", body).status_code == 400
    rated = api.post(f"{base}/rating", {"score": 4, "comment": "Thanks"})
    assert rated.status_code == 201
    assert rated.json()["rating"]["score"] == 4
    again = api.post(f"{base}/rating", {"score": 4})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "already_rated")
    room = api.get(base).json()
    assert (room["rating"]["score"], room["rating"]["comment"]) == (4, "Thanks")
    assert "tags" not in room
