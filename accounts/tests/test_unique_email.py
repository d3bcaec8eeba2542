"""E-mail addresses are unique whatever their case (issue 27, item 7): the migration that
clears duplicates, registration, the admin's forms, and signing in by address."""

from __future__ import annotations

import importlib
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection
from django.utils import timezone

from accounts import services
from accounts.exceptions import EmailTaken
from accounts.models import ClearedEmail, User
from chat_project import mongo

pytestmark = pytest.mark.django_db(transaction=True)

STRONG = "correct-horse-battery-7"
RIGHT = "chat-demo-2026"


def error(response) -> dict:
    return response.json()["error"]


# --- the migration ----------------------------------------------------------------------


def test_the_migration_keeps_each_address_on_the_oldest_account_and_clears_the_others(
    make_user, capsys
):
    """Issue 27: two registrations with one address both got 201, so existing data may
    hold duplicates; the unique index needs them gone first."""
    now = timezone.now()
    made = {
        name: make_user(username=name, email=f"{name}@example.com")
        for name in ("first", "second", "third", "alone", "blank1", "blank2")
    }
    users = mongo.collection(User)
    # As the data was before the migration: no email_key, the same address three times.
    for name, email, days_ago in [
        ("first", "Shared@Example.com", 30),
        ("second", "shared@example.com ", 20),
        ("third", "SHARED@example.com", 10),
        ("blank1", "", 5),
        ("blank2", "", 4),
    ]:
        users.update_one(
            {"_id": made[name].pk},
            {"$set": {"email": email, "date_joined": now - timedelta(days=days_ago)}},
        )
    users.update_many({}, {"$unset": {"email_key": ""}})
    migration = importlib.import_module("accounts.migrations.0003_unique_email")
    editor = SimpleNamespace(connection=connection)

    migration.backfill_and_deduplicate(apps, editor)

    stored = {u.username: u for u in User.objects.all()}
    assert (stored["first"].email, stored["first"].email_key) == (
        "Shared@Example.com",
        "shared@example.com",
    )
    for name in ("second", "third", "blank1", "blank2"):
        assert (stored[name].email, stored[name].email_key) == ("", None), name
    assert stored["alone"].email_key == "alone@example.com"
    records = {(r.user.username, r.email, r.kept_by.username) for r in ClearedEmail.objects.all()}
    assert records == {
        ("second", "shared@example.com ", "first"),
        ("third", "SHARED@example.com", "first"),
    }
    printed = capsys.readouterr().out
    assert "2 account(s) shared an e-mail address" in printed
    assert "second" in printed and "third" in printed  # noqa: PT018

    migration.backfill_and_deduplicate(apps, editor)  # a second run finds nothing to do
    assert ClearedEmail.objects.count() == 2


# --- registration and the admin ---------------------------------------------------------


def test_registering_a_taken_address_in_another_case_is_refused(api, customer):
    """Issue 27: a second registration with an address already registered got 201."""
    response = api.post(
        "/api/auth/register",
        {"username": "alice2", "email": "  ALICE@Example.COM ", "password": STRONG},
    )
    assert response.status_code == 400
    assert error(response)["code"] == "validation_error"
    assert error(response)["details"]["fields"] == {"email": ["That e-mail address is taken."]}
    assert not User.objects.filter(username="alice2").exists()


def test_the_unique_index_decides_a_race(customer, monkeypatch):
    monkeypatch.setattr(services, "email_problems", lambda **kwargs: [])  # both passed it
    with pytest.raises(EmailTaken):
        services.user_create(username="racer", email="Alice@example.com", password=STRONG)


def test_any_number_of_accounts_have_no_address(make_user):
    for n in range(3):
        services.user_create(username=f"noaddress{n}", email="", password=STRONG, role="agent")
    assert User.objects.filter(email="", email_key=None).count() == 3


def test_changing_an_address_moves_its_key(customer, other_customer):
    customer.email = "Alice.New@example.com"
    services.user_update(user=customer, fields=["email"])
    assert User.objects.get(pk=customer.pk).email_key == "alice.new@example.com"
    with pytest.raises(EmailTaken):
        services.user_create(username="carol", email="alice.new@EXAMPLE.com", password=STRONG)
    services.user_create(username="carol", email="alice@example.com", password=STRONG)


@pytest.fixture
def staff_client(client, support_admin):
    client.force_login(support_admin)
    return client


def test_the_admins_add_form_refuses_a_taken_address(staff_client, customer):
    form = {
        "username": "newbie",
        "password1": STRONG,
        "password2": STRONG,
        "usable_password": "true",
        "role": "user",
        "display_name": "",
        "email": "Alice@Example.com",
        "_save": "Save",
    }
    response = staff_client.post("/admin/accounts/user/add/", form)
    assert response.status_code == 200  # the form again, with the error
    assert b"That e-mail address is taken." in response.content
    assert not User.objects.filter(username="newbie").exists()
    form["email"] = ""
    assert staff_client.post("/admin/accounts/user/add/", form).status_code == 302


def test_the_admins_change_form_refuses_a_taken_address(staff_client, customer, other_customer):
    form = {
        "username": "bob",
        "email": "ALICE@example.com",
        "first_name": "",
        "last_name": "",
        "is_active": "on",
        "role": "user",
        "display_name": "Bob",
        "status": "online",
        "max_chats": "5",
        "date_joined_0": other_customer.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": other_customer.date_joined.strftime("%H:%M:%S"),
        "_save": "Save",
    }
    url = f"/admin/accounts/user/{other_customer.pk}/change/"
    response = staff_client.post(url, form)
    assert response.status_code == 200
    assert b"That e-mail address is taken." in response.content
    form["email"] = "Bob.Two@example.com"
    assert staff_client.post(url, form).status_code == 302
    assert User.objects.get(pk=other_customer.pk).email_key == "bob.two@example.com"
    form["email"] = "BOB.TWO@example.com"  # their own address, in another case
    assert staff_client.post(url, form).status_code == 302


# --- signing in by address --------------------------------------------------------------


def test_signing_in_by_address_in_any_case(api, customer):
    response = api.post("/api/auth/login", {"username": "Alice@EXAMPLE.com", "password": RIGHT})
    assert response.status_code == 200, response.content
    assert response.json()["username"] == "alice"
    wrong = api.post("/api/auth/login", {"username": "alice@example.com", "password": "nope-1"})
    assert error(wrong)["code"] == "invalid_credentials"


def test_a_username_with_an_at_sign_still_signs_in(api, make_user):
    make_user(username="dora@shop", email="dora@example.com")
    assert (
        api.post("/api/auth/login", {"username": "dora@shop", "password": RIGHT}).status_code == 200
    )


def test_the_throttle_counts_the_account_whichever_identifier_was_typed(
    api_factory, customer, settings
):
    limit = settings.LOGIN_MAX_FAILURES_PER_ADDRESS_ACCOUNT
    typed = ["alice", "ALICE@example.com"] * limit
    for identifier in typed[:limit]:
        response = api_factory().post(
            "/api/auth/login", {"username": identifier, "password": "wrong-pass-1"}
        )
        assert response.status_code == 401
    refused = api_factory().post(
        "/api/auth/login", {"username": "alice@example.com", "password": RIGHT}
    )
    assert refused.status_code == 429
