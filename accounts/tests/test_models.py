import pytest

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def staff_client(client, support_admin):
    client.force_login(support_admin)
    return client


def test_password_change_in_the_admin_revokes_the_users_sockets(
    staff_client, customer, monkeypatch
):
    revoked = []
    monkeypatch.setattr("accounts.events.user_credentials_changed", revoked.append)
    response = staff_client.post(
        f"/admin/accounts/user/{customer.pk}/password/",
        {
            "password1": "another-long-pass-77",
            "password2": "another-long-pass-77",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302, response.content[:500]
    assert revoked == [customer.pk]
