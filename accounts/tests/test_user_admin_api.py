"""Admins list every user and set another user's status (issue 27, item 7): ``GET
/api/auth/users`` and ``PUT /api/auth/users/{id}/status``, with their 401, 403, 404 and
400 cases."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from accounts.models import User

pytestmark = pytest.mark.django_db(transaction=True)

MISSING = "0" * 24


def error_code(response) -> str:
    return response.json()["error"]["code"]


@pytest.fixture
def admin_api(api, support_admin):
    api.force_login(support_admin)
    return api


@pytest.fixture
def people(make_user, customer, other_customer, agent, other_agent, support_admin):
    away = make_user(username="carol", role="user")
    User.objects.filter(pk=away.pk).update(status="away")
    return {"alice": customer, "bob": other_customer, "agent1": agent, "carol": away}


# --- GET /api/auth/users ----------------------------------------------------------------


def test_anonymous_is_401_and_non_admins_are_403(api, people):
    assert api.get("/api/auth/users").status_code == 401
    for user in (people["alice"], people["agent1"]):
        api.force_login(user)
        response = api.get("/api/auth/users")
        assert response.status_code == 403
        assert error_code(response) == "permission_denied"


def test_an_admin_pages_through_every_user_by_username(admin_api, people):
    seen, path = [], "/api/auth/users?limit=2"
    while path:
        page = admin_api.get(path)
        assert page.status_code == 200, page.content
        body = page.json()
        assert len(body["results"]) <= 2
        seen += [row["username"] for row in body["results"]]
        path = body["next"]
        if path:
            assert parse_qs(urlsplit(path).query)["limit"] == ["2"]
    assert seen == ["admin", "agent1", "agent2", "alice", "bob", "carol"]


def test_rows_are_the_products_user_shape_for_an_admin(admin_api, people):
    rows = {r["username"]: r for r in admin_api.get("/api/auth/users").json()["results"]}
    alice = rows["alice"]
    assert alice["email"] == "alice@example.com"  # account fields: the viewer is an admin
    assert {"id", "username", "display_name", "role", "status", "online", "date_joined"} <= set(
        alice
    )
    assert "max_chats" not in alice and "max_chats" in rows["agent1"]  # noqa: PT018
    assert alice["online"] is False


def test_filters_by_role_and_status(admin_api, people):
    agents = admin_api.get("/api/auth/users?role=agent").json()["results"]
    assert [r["username"] for r in agents] == ["agent1", "agent2"]
    away = admin_api.get("/api/auth/users?status=away&role=user").json()["results"]
    assert [r["username"] for r in away] == ["carol"]


@pytest.mark.parametrize(
    "query", ["role=boss", "status=asleep", "limit=0", "limit=101", "role=", "cursor="]
)
def test_a_bad_query_is_400(admin_api, people, query):
    response = admin_api.get(f"/api/auth/users?{query}")
    assert response.status_code == 400
    assert error_code(response) == "validation_error"


# --- PUT /api/auth/users/{id}/status ----------------------------------------------------


def test_an_admin_sets_another_users_status(admin_api, people, monkeypatch):
    published = []
    monkeypatch.setattr("chat_project.fanout.publish", lambda g, m: published.append((g, m)))
    agent = people["agent1"]
    response = admin_api.put(
        f"/api/auth/users/{agent.pk}/status", {"status": "busy", "accepting_chats": False}
    )
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["accepting_chats"]) == ("busy", False)
    stored = User.objects.get(pk=agent.pk)
    assert (stored.status, stored.accepting_chats) == ("busy", False)
    # clients hear it as they hear the agent's own change
    assert any(m["type"] == "presence.changed" and m["status"] == "busy" for _, m in published)


def test_status_of_a_customer(admin_api, people):
    alice = people["alice"]
    response = admin_api.put(f"/api/auth/users/{alice.pk}/status", {"status": "offline"})
    assert response.status_code == 200
    assert User.objects.get(pk=alice.pk).status == "offline"
    refused = admin_api.put(
        f"/api/auth/users/{alice.pk}/status", {"status": "online", "accepting_chats": True}
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["details"]["fields"] == {"accepting_chats": ["Agents only."]}


def test_set_status_401_403_404_400(api, people):
    alice, bob = people["alice"], people["bob"]
    path = f"/api/auth/users/{bob.pk}/status"
    assert api.put(path, {"status": "away"}).status_code == 401
    api.force_login(alice)
    denied = api.put(path, {"status": "away"})
    assert (denied.status_code, error_code(denied)) == (403, "permission_denied")
    api.force_login(people["agent1"])
    assert api.put(path, {"status": "away"}).status_code == 403
    assert User.objects.get(pk=bob.pk).status == "online"


def test_set_status_404_and_400_for_an_admin(admin_api, people):
    bob = people["bob"]
    missing = admin_api.put(f"/api/auth/users/{MISSING}/status", {"status": "away"})
    assert (missing.status_code, error_code(missing)) == (404, "not_found")
    assert admin_api.put("/api/auth/users/not-an-id/status", {"status": "away"}).status_code == 404
    bad = admin_api.put(f"/api/auth/users/{bob.pk}/status", {"status": "asleep"})
    assert (bad.status_code, error_code(bad)) == (400, "validation_error")
    no_csrf = admin_api.put(f"/api/auth/users/{bob.pk}/status", {"status": "away"}, csrf=False)
    assert (no_csrf.status_code, error_code(no_csrf)) == (403, "csrf_failed")
