"""The Django admin's user pages on the embedded MongoDB-protocol server."""

import pytest

from accounts.models import User

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def staff_client(client, support_admin):
    client.force_login(support_admin)
    return client


def test_user_list_and_filters_render(staff_client, customer, agent):
    response = staff_client.get("/admin/accounts/user/?role__exact=agent")
    assert response.status_code == 200
    assert b"agent1" in response.content
    assert b"alice" not in response.content


def test_user_change_form_renders(staff_client, agent):
    # The permissions widget runs Permission.objects.select_related("content_type"),
    # which needs mongod's $addFields merge semantics (see devservers).
    response = staff_client.get(f"/admin/accounts/user/{agent.pk}/change/")
    assert response.status_code == 200
    assert b"max_chats" in response.content
    assert b"auth | user | Can add user" in response.content or b"Can add user" in response.content


def test_user_add_form_renders(staff_client):
    assert staff_client.get("/admin/accounts/user/add/").status_code == 200


def test_non_staff_is_sent_to_login(client, customer):
    client.force_login(customer)
    response = client.get("/admin/accounts/user/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_saving_a_user_never_writes_back_a_stale_load(staff_client, agent):
    """Regression: the change form's full-model save() restored the active_chats it had
    read, undoing a reservation routing made meanwhile."""
    page = staff_client.get(f"/admin/accounts/user/{agent.pk}/change/")
    assert page.status_code == 200
    agent.refresh_from_db()
    User.objects.filter(pk=agent.pk).update(active_chats=4)
    form = {
        "username": agent.username,
        "email": agent.email,
        "first_name": "",
        "last_name": "",
        "is_active": "on",
        "role": "agent",
        "display_name": "Ada",
        "status": "online",
        "max_chats": "6",
        "accepting_chats": "on",
        "date_joined_0": agent.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": agent.date_joined.strftime("%H:%M:%S"),
        "_save": "Save",
    }
    response = staff_client.post(f"/admin/accounts/user/{agent.pk}/change/", form)
    assert response.status_code == 302, response.content[:3000]
    saved = User.objects.get(pk=agent.pk)
    assert (saved.display_name, saved.max_chats, saved.active_chats) == ("Ada", 6, 4)


@pytest.fixture
def revoked(monkeypatch) -> list[tuple[object, str]]:
    """(user id, reason) of every ``auth.revoked`` for all of a user's sockets."""
    sent: list[tuple[object, str]] = []
    monkeypatch.setattr(
        "accounts.events.user_access_changed",
        lambda *, user_id, reason: sent.append((user_id, reason)),
    )
    return sent


def change_form(user, **changes) -> dict:
    form = {
        "username": user.username,
        "email": user.email,
        "first_name": "",
        "last_name": "",
        "is_active": "on",
        "role": user.role,
        "display_name": user.display_name,
        "status": user.status,
        "max_chats": str(user.max_chats),
        "accepting_chats": "on",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "_save": "Save",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def test_deactivating_in_the_admin_closes_the_users_sockets(staff_client, agent, revoked):
    """Issue 28: ``is_active`` switched off in the admin left the user's sockets working."""
    response = staff_client.post(
        f"/admin/accounts/user/{agent.pk}/change/", change_form(agent, is_active=None)
    )
    assert response.status_code == 302, response.content[:3000]
    assert User.objects.get(pk=agent.pk).is_active is False
    assert revoked == [(agent.pk, "deactivated")]


def test_a_role_change_in_the_admin_closes_the_users_sockets(staff_client, agent, revoked):
    """Issue 28: a demoted agent's socket kept its cached role and staff flag."""
    response = staff_client.post(
        f"/admin/accounts/user/{agent.pk}/change/", change_form(agent, role="user")
    )
    assert response.status_code == 302, response.content[:3000]
    assert User.objects.get(pk=agent.pk).role == "user"
    assert revoked == [(agent.pk, "role_changed")]


def test_other_changes_in_the_admin_close_nothing(staff_client, agent, revoked):
    response = staff_client.post(
        f"/admin/accounts/user/{agent.pk}/change/", change_form(agent, display_name="Ada")
    )
    assert response.status_code == 302, response.content[:3000]
    assert revoked == []


def test_password_page_writes_the_password_alone(staff_client, agent, revoked):
    User.objects.filter(pk=agent.pk).update(active_chats=2)  # routing, meanwhile
    form = {"password1": "a-new-long-pass-42", "password2": "a-new-long-pass-42"}
    form["usable_password"] = "true"
    response = staff_client.post(f"/admin/accounts/user/{agent.pk}/password/", form)
    assert response.status_code == 302, response.content[:3000]
    saved = User.objects.get(pk=agent.pk)
    assert saved.check_password("a-new-long-pass-42")
    assert saved.active_chats == 2
    assert revoked == [(agent.pk, "password_changed")]


def test_deleting_a_user_in_the_admin_closes_the_users_sockets(
    staff_client, agent, customer, revoked
):
    response = staff_client.post(f"/admin/accounts/user/{agent.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302, response.content[:3000]
    assert not User.objects.filter(pk=agent.pk).exists()
    assert revoked == [(agent.pk, "deleted")]
    revoked.clear()
    bulk = {"action": "delete_selected", "_selected_action": [str(customer.pk)], "post": "yes"}
    response = staff_client.post("/admin/accounts/user/", bulk)
    assert response.status_code == 302, response.content[:3000]
    assert not User.objects.filter(pk=customer.pk).exists()
    assert revoked == [(customer.pk, "deleted")]
