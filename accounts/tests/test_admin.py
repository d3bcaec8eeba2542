"""The Django admin's user pages on the embedded MongoDB-protocol server."""

import pytest

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
