"""Look-alike usernames and display names (issue 18): NFKC before uniqueness, and names
confusable with an existing one or with a staff member's are refused."""

from __future__ import annotations

import uuid

import pytest

from accounts import names, services
from accounts.admin import UserAddForm, UserEditForm
from accounts.models import User
from chat_project.errors import ValidationFailed

pytestmark = pytest.mark.django_db(transaction=True)

STRONG = "correct-horse-battery-7"
FULLWIDTH_ALICE = "\uff41\uff4c\uff49\uff43\uff45"
CYRILLIC_A = "\u0430"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("alice", FULLWIDTH_ALICE),  # NFKC
        ("alice", "ALICE"),  # case
        ("alice", f"{CYRILLIC_A}lice"),  # another script's letter
        ("alice", "aIice"),  # capital I for l
        ("paypal", "paypa1"),  # digit one for l
        ("bob", "b0b"),  # zero for o
        ("bob", "B\u200bob"),  # a zero-width space
        ("Morgan (support)", "Morgan  (support) "),  # whitespace
        ("admin", "adrnin"),  # rn for m
    ],
)
def test_confusable_pairs(first, second):
    assert names.are_confusable(first, second), (first, second)


@pytest.mark.parametrize(
    ("first", "second"), [("alice", "alicia"), ("bob", "rob"), ("ann", "anne")]
)
def test_distinct_names_are_not_confusable(first, second):
    assert not names.are_confusable(first, second)


def register(api, **fields):
    # An address of its own: addresses are unique (issue 27).
    body = {"email": f"{uuid.uuid4().hex[:12]}@example.com", "password": STRONG, **fields}
    return api.post("/api/auth/register", body)


def test_fullwidth_alice_with_display_name_bob_is_refused(api, customer, other_customer):
    """The issue's reproduction: fullwidth ``alice`` registered beside ``alice``."""
    response = register(api, username=FULLWIDTH_ALICE, display_name="bob")
    assert response.status_code == 400
    fields = response.json()["error"]["details"]["fields"]
    assert set(fields) == {"username", "display_name"}
    assert User.objects.count() == 2


def test_usernames_are_stored_nfkc_and_login_accepts_either_form(api):
    response = register(api, username="\uff43\uff41\uff52\uff4f\uff4c")  # fullwidth carol
    assert response.status_code == 201, response.content
    assert response.json()["username"] == "carol"
    assert User.objects.filter(username="carol").exists()
    login = api.post(
        "/api/auth/login", {"username": "\uff43\uff41\uff52\uff4f\uff4c", "password": STRONG}
    )
    assert login.status_code == 200


@pytest.mark.parametrize("username", ["ALICE", f"{CYRILLIC_A}lice", "aIice", "a\u200blice"])
def test_usernames_confusable_with_an_existing_one_are_taken(api, customer, username):
    response = register(api, username=username)
    assert response.status_code == 400, username
    assert response.json()["error"]["details"]["fields"]["username"]


def test_display_name_may_not_pass_for_another_user(api, customer, other_customer):
    assert register(api, username="carol", display_name="B0b").status_code == 400
    # one's own name, or another customer's display name, is fine
    assert register(api, username="dave", display_name="Dave").status_code == 201
    assert register(api, username="erin", display_name="Alice").status_code == 400
    assert register(api, username="frank", display_name="Bobby").status_code == 201
    assert register(api, username="gina", display_name="Bobby").status_code == 201


def test_names_may_not_pass_for_a_staff_member(api, make_user):
    make_user(username="agent7", role="agent", display_name="Ada")
    make_user(username="henry7", role="user", display_name="Henry Ford")
    assert register(api, username="ivy", display_name="ADA").status_code == 400
    assert register(api, username="Ad\u0430").status_code == 400  # Cyrillic a
    # a customer's display name is not reserved for other customers
    assert register(api, username="jack", display_name="Henry Ford").status_code == 201


def test_staff_names_may_not_pass_for_anyone_either(make_user):
    make_user(username="kim", role="user", display_name="Help Desk")
    with pytest.raises(ValidationFailed) as raised:
        services.user_create(
            username="agent9",
            email="a9@example.com",
            password=STRONG,
            display_name="Help  desk",
            role="agent",
        )
    assert set(raised.value.details["fields"]) == {"display_name"}


def test_display_names_with_invisible_or_reordering_characters_are_refused(api):
    response = register(api, username="leo", display_name="Leo\u202egnp.exe")
    assert response.status_code == 400
    assert response.json()["error"]["details"]["fields"]["display_name"]


def test_keys_follow_a_rename_saved_alone(make_user):
    user = make_user(username="mona", display_name="Mona")
    user.display_name = "Mona Lisa"
    user.save(update_fields=["display_name"])
    stored = User.objects.get(pk=user.pk)
    assert stored.display_name_keys == names.confusable_keys("Mona Lisa")
    assert stored.username_keys == names.confusable_keys("mona")


def test_admin_forms_apply_the_same_rules(rf, customer, other_customer, support_admin):
    from django.contrib import admin

    user_admin = admin.site._registry[User]
    request = rf.post("/admin/accounts/user/add/")
    request.user = support_admin
    add_form = user_admin.get_form(request, obj=None)
    assert issubclass(add_form, UserAddForm)
    add = add_form(
        data={
            "username": f"{CYRILLIC_A}lice",
            "password1": STRONG,
            "password2": STRONG,
            "usable_password": "true",
            "role": "user",
            "display_name": "",
            "email": "",
        }
    )
    assert not add.is_valid()
    assert "username" in add.errors

    edit_form = user_admin.get_form(request, obj=other_customer)
    assert issubclass(edit_form, UserEditForm)
    initial = edit_form(instance=other_customer).initial
    data = {k: v for k, v in initial.items() if v is not None and k != "password"}
    data.update(display_name="Alice", date_joined="2026-01-01 00:00:00")
    edit = edit_form(instance=other_customer, data=data)
    assert not edit.is_valid()
    assert "display_name" in edit.errors


def test_migration_backfills_the_keys_of_existing_users(make_user):
    import importlib
    from types import SimpleNamespace

    from django.db import connection

    user = make_user(username="nora", display_name="Nora N")
    users = connection.get_collection("accounts_user")
    users.update_one({"_id": user.pk}, {"$unset": {"username_keys": "", "display_name_keys": ""}})
    migration = importlib.import_module("accounts.migrations.0002_name_keys")
    migration.backfill_name_keys(None, SimpleNamespace(connection=connection))
    stored = users.find_one({"_id": user.pk})
    assert stored["username_keys"] == names.confusable_keys("nora")
    assert stored["display_name_keys"] == names.confusable_keys("Nora N")
