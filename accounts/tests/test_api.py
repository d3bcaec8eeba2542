"""The /api/auth/ endpoints over HTTP with CSRF, against the embedded servers."""

import re

import pytest

from accounts.models import User

pytestmark = pytest.mark.django_db(transaction=True)

STRONG = "correct-horse-battery-7"


def error_code(response) -> str:
    return response.json()["error"]["code"]


def test_register_login_profile_status_logout(api):
    # given a new visitor with a CSRF token
    csrf = api.get("/api/auth/csrf")
    assert csrf.status_code == 200
    assert csrf.json()["csrfToken"]

    # when they register, sign in, read their profile, set a status and sign out
    registered = api.post(
        "/api/auth/register",
        {
            "username": "carol",
            "email": "carol@example.com",
            "password": STRONG,
            "display_name": "Carol",
        },
    )
    assert registered.status_code == 201, registered.content
    assert registered.json()["role"] == "user"
    assert "password" not in registered.json()

    token_before = api.client.cookies["csrftoken"].value
    logged_in = api.post("/api/auth/login", {"username": "carol", "password": STRONG})
    assert logged_in.status_code == 200
    assert logged_in.json()["username"] == "carol"
    session_key = api.client.cookies["sessionid"].value
    # login rotates the CSRF token
    assert api.client.cookies["csrftoken"].value != token_before

    profile = api.get("/api/auth/profile")
    assert profile.status_code == 200
    assert profile.json()["display_name"] == "Carol"

    status = api.put("/api/auth/status", {"status": "away"})
    assert status.status_code == 200
    assert status.json()["status"] == "away"
    assert User.objects.get(username="carol").status == "away"

    logged_out = api.post("/api/auth/logout")
    assert logged_out.status_code == 204

    # then the old session no longer authenticates
    assert api.get("/api/auth/profile").status_code == 401
    from rest_framework.test import APIClient

    replay = APIClient()
    replay.cookies["sessionid"] = session_key
    assert replay.get("/api/auth/profile").status_code == 401


def test_login_rotates_session_key(api, customer):
    api.client.cookies["sessionid"] = "attacker-fixed-session-key-000000"
    api.login("alice")
    assert api.client.cookies["sessionid"].value != "attacker-fixed-session-key-000000"


def test_login_without_csrf_token_is_403(api, customer):
    response = api.post(
        "/api/auth/login", {"username": "alice", "password": "chat-demo-2026"}, csrf=False
    )
    assert response.status_code == 403
    assert error_code(response) == "csrf_failed"


def test_register_without_csrf_token_is_403(api):
    response = api.post(
        "/api/auth/register",
        {"username": "dave", "email": "d@example.com", "password": STRONG},
        csrf=False,
    )
    assert response.status_code == 403
    assert not User.objects.filter(username="dave").exists()


def test_wrong_password_is_401_invalid_credentials(api, customer):
    response = api.post("/api/auth/login", {"username": "alice", "password": "nope-nope-nope"})
    assert response.status_code == 401
    assert error_code(response) == "invalid_credentials"


def test_unknown_user_is_the_same_401(api):
    response = api.post("/api/auth/login", {"username": "ghost", "password": "whatever-123"})
    assert response.status_code == 401
    assert error_code(response) == "invalid_credentials"


def test_weak_password_is_rejected_by_validators(api):
    response = api.post(
        "/api/auth/register", {"username": "erin", "email": "e@example.com", "password": "123"}
    )
    assert response.status_code == 400
    assert error_code(response) == "validation_error"
    assert "password" in response.json()["error"]["details"]["fields"]


def test_duplicate_username_is_400(api, customer):
    response = api.post(
        "/api/auth/register", {"username": "alice", "email": "a2@example.com", "password": STRONG}
    )
    assert response.status_code == 400
    assert error_code(response) == "validation_error"


def test_self_registration_cannot_create_agents(api):
    response = api.post(
        "/api/auth/register",
        {"username": "sneaky", "email": "s@example.com", "password": STRONG, "role": "agent"},
    )
    assert response.status_code == 403
    assert error_code(response) == "permission_denied"
    assert not User.objects.filter(username="sneaky").exists()


def test_customer_session_cannot_create_agents(api, customer):
    api.login("alice")
    response = api.post(
        "/api/auth/register",
        {"username": "sneaky", "email": "s@example.com", "password": STRONG, "role": "admin"},
    )
    assert response.status_code == 403
    assert not User.objects.filter(username="sneaky").exists()


def test_admin_creates_agent(api, support_admin):
    api.login("admin")
    response = api.post(
        "/api/auth/register",
        {
            "username": "agent7",
            "email": "a7@example.com",
            "password": STRONG,
            "role": "agent",
            "max_chats": 3,
        },
    )
    assert response.status_code == 201
    assert response.json()["role"] == "agent"
    assert response.json()["max_chats"] == 3


def test_admin_role_implies_staff(make_user):
    manager = make_user(username="boss", role="admin")
    assert manager.is_staff
    assert manager.is_superuser


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        (None, 401),
        ("alice", 403),
        ("agent1", 403),
        ("admin", 200),
    ],
)
def test_agents_all_is_admin_only(api, customer, agent, support_admin, who, expected):
    if who:
        api.login(who)
    response = api.get("/api/auth/agents/all")
    assert response.status_code == expected
    if expected == 200:
        names = [a["username"] for a in response.json()["results"]]
        assert names == ["agent1"]
        assert response.json()["results"][0]["max_chats"] == 5


def test_agents_online_lists_only_agents_with_a_live_lease(api, customer, agent, other_agent):
    from accounts import presence

    presence.lease_touch(user_id=str(agent.pk), conn_id="c1", ttl_seconds=30)
    presence.lease_touch(user_id=str(customer.pk), conn_id="c2", ttl_seconds=30)
    api.login("alice")
    response = api.get("/api/auth/agents/online")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [a["username"] for a in rows] == ["agent1"]
    assert rows[0]["active_chats"] == 0
    assert rows[0]["max_chats"] == 5


def test_validate_session_both_ways(api, customer):
    anonymous = api.post("/api/auth/validate-session")
    assert anonymous.status_code == 401
    assert anonymous.json() == {"valid": False}
    api.login("alice")
    signed_in = api.post("/api/auth/validate-session")
    assert signed_in.status_code == 200
    assert signed_in.json()["valid"] is True
    assert signed_in.json()["user"]["username"] == "alice"


def test_profile_requires_sign_in(api):
    response = api.get("/api/auth/profile")
    assert response.status_code == 401
    assert error_code(response) == "not_authenticated"


def test_bad_json_is_400_validation_error(api, customer):
    api.login("alice")
    response = api.client.put(
        "/api/auth/status",
        data="{not json",
        content_type="application/json",
        HTTP_X_CSRFTOKEN=api._token(),
    )
    assert response.status_code == 400
    assert error_code(response) == "validation_error"


@pytest.mark.parametrize(
    "body",
    [
        {"status": 7},
        {"status": "sleeping"},
        {"status": "away", "accepting_chats": "maybe"},
        [],
        {},
    ],
)
def test_wrong_types_are_400_validation_error(api, customer, body):
    api.login("alice")
    response = api.put("/api/auth/status", body)
    assert response.status_code == 400
    assert error_code(response) == "validation_error"
    assert User.objects.get(username="alice").status == "online"


def test_customer_has_no_accepting_switch(api, customer):
    api.login("alice")
    response = api.put("/api/auth/status", {"status": "online", "accepting_chats": False})
    assert response.status_code == 403


def test_agent_sets_accepting_chats(api, agent):
    api.login("agent1")
    response = api.put("/api/auth/status", {"status": "busy", "accepting_chats": False})
    assert response.status_code == 200
    assert response.json()["accepting_chats"] is False
    assert User.objects.get(username="agent1").accepting_chats is False


def test_unknown_api_path_is_json_404(api):
    response = api.get("/api/nope/000000000000000000000000")
    assert response.status_code == 404
    assert error_code(response) == "not_found"


def test_wrong_method_is_405_with_code(api):
    response = api.get("/api/auth/login")
    assert response.status_code == 405
    assert error_code(response) == "method_not_allowed"


def test_times_are_iso_utc_with_milliseconds(api, customer):
    api.login("alice")
    joined = api.get("/api/auth/profile").json()["date_joined"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", joined), joined


def test_openapi_schema_describes_the_session_cookie(api):
    response = api.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["components"]["securitySchemes"]["sessionCookie"] == {
        "type": "apiKey",
        "in": "cookie",
        "name": "sessionid",
    }
    assert "/api/chat/rooms" in schema["paths"]


def test_customers_do_not_read_agents_email_addresses(api, customer, agent, other_agent, make_user):
    """Issue 18: GET /api/auth/agents/online gave customers the agents' e-mail
    addresses, while the socket's online-agents left them out. Visibility is decided
    once (accounts.visibility): account fields go to the user themself and to admins."""
    from accounts import presence
    from accounts.async_services import _online_users

    make_user(username="boss", role="admin")
    for who in (agent, other_agent):
        presence.lease_touch(user_id=str(who.pk), conn_id=f"c-{who.pk}", ttl_seconds=300)
    private = {"email", "last_seen_at", "date_joined"}

    for viewer in ("alice", "agent1"):
        api.login(viewer)
        rows = api.get("/api/auth/agents/online").json()["results"]
        assert len(rows) == 2
        others = [row for row in rows if row["username"] != viewer]
        assert all(private.isdisjoint(row) for row in others), (viewer, rows)
        assert {"max_chats", "active_chats", "accepting_chats", "online"} <= set(rows[0])
    api.login("boss")
    rows = api.get("/api/auth/agents/online").json()["results"]
    assert all(private <= set(row) for row in rows)
    # The socket's presence frames follow the same rule (public fields only).
    socket_rows = _online_users(user_ids={str(agent.pk)}, agents_only=True)
    assert private.isdisjoint(socket_rows[0])
    # Oneself: every field.
    api.login("agent1")
    assert private <= set(api.get("/api/auth/profile").json())


def test_signing_in_again_as_the_same_user_rotates_the_session_key(api, customer, monkeypatch):
    """Issue 28, item 9: a second sign-in as the same user kept the session key (Django's
    ``login`` cycles it only for an anonymous session), though the README said sign-in
    rotates it. Now every sign-in gets a new key and the old one stops working; that
    session's sockets are closed like a logout's."""
    from rest_framework.test import APIClient

    ended = []
    monkeypatch.setattr(
        "accounts.events.session_ended",
        lambda *, user_id, session_key: ended.append((str(user_id), session_key)),
    )
    api.login("alice")
    first = api.client.cookies["sessionid"].value
    api.login("alice")
    second = api.client.cookies["sessionid"].value
    assert second != first
    assert api.get("/api/auth/profile").status_code == 200
    replay = APIClient()
    replay.cookies["sessionid"] = first
    assert replay.get("/api/auth/profile").status_code == 401
    assert ended == [(str(customer.pk), first)]
