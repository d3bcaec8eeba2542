"""Issue 28, item 2: a session does not outlive the account's rights. Deactivation and a
role change in the Django admin, and a password change on the admin's password page,
close every socket of the user with 4401 on every process within a second; what the
old session cookie opens afterwards follows the new rights."""

from __future__ import annotations

import asyncio
import time

import pytest
from asgiref.sync import sync_to_async

from tests.e2e.wsclient import WsClient

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def admin_post(admin, path: str, data: dict) -> int:
    """The admin's form, posted as a support manager in the Django admin (this process:
    the services publish through the test run's Redis, as a gateway's thread would)."""
    from django.test import Client

    client = Client()
    client.force_login(admin)
    return client.post(path, data).status_code


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


@pytest.fixture
def people(make_user):
    return {
        "admin": make_user(username="boss", role="admin"),
        "leaver": make_user(username="leaver", role="user"),
        "demoted": make_user(username="demoted", role="agent"),
        "rekeyed": make_user(username="rekeyed", role="user"),
        "bystander": make_user(username="bystander", role="user"),
    }


async def open_on_both(server, server_b, cookie: str, name: str) -> list[WsClient]:
    return [
        await WsClient.open(target.ws_url, cookie=cookie, name=f"{name}@{target.name}")
        for target in (server, server_b)
    ]


async def closed_within_a_second(sockets: list[WsClient]) -> list[int | None]:
    started = time.monotonic()
    codes = await asyncio.gather(*(s.wait_closed(within=1) for s in sockets))
    assert time.monotonic() - started < 1
    return list(codes)


async def refused(server, cookie: str) -> int | None:
    client = await WsClient.open(server.ws_url, cookie=cookie, name="again")
    try:
        return await client.wait_closed(within=5)
    finally:
        await client.close()


async def test_rights_taken_away_close_the_users_sockets_on_every_process(
    server, server_b, login, people
):
    """Issue 28: deactivating a user in the admin left their open sockets working (a
    send was acked and stored), and a demoted agent's socket kept its staff role."""
    admin = people["admin"]
    opened: list[WsClient] = []
    try:
        bystander = await WsClient.open(
            server.ws_url, cookie=await login(people["bystander"]), name="bystander"
        )
        opened.append(bystander)

        # Deactivation: every socket closes; the old cookie opens nothing afterwards.
        leaver = people["leaver"]
        leaver_cookie = await login(leaver)
        sockets = await open_on_both(server, server_b, leaver_cookie, "leaver")
        opened += sockets
        status = await sync_to_async(admin_post)(
            admin, f"/admin/accounts/user/{leaver.pk}/change/", change_form(leaver, is_active=None)
        )
        assert status == 302
        assert await closed_within_a_second(sockets) == [4401, 4401]
        assert await refused(server_b, leaver_cookie) == 4401

        # A role change: closed too; the same cookie reconnects with the new role.
        demoted = people["demoted"]
        demoted_cookie = await login(demoted)
        sockets = await open_on_both(server, server_b, demoted_cookie, "demoted")
        opened += sockets
        status = await sync_to_async(admin_post)(
            admin, f"/admin/accounts/user/{demoted.pk}/change/", change_form(demoted, role="user")
        )
        assert status == 302
        assert await closed_within_a_second(sockets) == [4401, 4401]
        again = await WsClient.open(server_b.ws_url, cookie=demoted_cookie, name="demoted-again")
        opened.append(again)
        # agents only: the socket is a customer's now
        reply = await again.request("agent-status-update", {"status": "busy"})
        assert reply["data"]["code"] == "permission_denied"

        # A new password on the admin's password page: closed, and the old session ends.
        rekeyed = people["rekeyed"]
        rekeyed_cookie = await login(rekeyed)
        sockets = await open_on_both(server, server_b, rekeyed_cookie, "rekeyed")
        opened += sockets
        status = await sync_to_async(admin_post)(
            admin,
            f"/admin/accounts/user/{rekeyed.pk}/password/",
            {
                "password1": "another-long-pass-77",
                "password2": "another-long-pass-77",
                "usable_password": "true",
            },
        )
        assert status == 302
        assert await closed_within_a_second(sockets) == [4401, 4401]
        assert await refused(server, rekeyed_cookie) == 4401

        # Nobody else's socket was touched.
        await bystander.call("get-online-agents")
    finally:
        for client in opened:
            await client.close()
    for target in (server, server_b):
        assert target.tracebacks() == [], target.name
