"""Issue 28, item 5: registrations had no limit. Self-registrations are throttled per
client address (accounts.registration_throttle); an admin's are charged to the admin's
request budget."""

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from accounts.models import User

pytestmark = pytest.mark.django_db(transaction=True)

STRONG = "correct-horse-battery-7"


def register(api_factory, username: str, address: str = "203.0.113.5"):
    return api_factory().post(
        "/api/auth/register",
        {"username": username, "email": f"{username}@example.com", "password": STRONG},
        REMOTE_ADDR=address,
    )


def test_self_registrations_are_throttled_per_address(api_factory, settings):
    settings.REGISTER_MAX_PER_ADDRESS = 2
    settings.REGISTER_WINDOW_SECONDS = 3600
    assert register(api_factory, "new1").status_code == 201
    assert register(api_factory, "new2").status_code == 201
    refused = register(api_factory, "new3")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert int(refused["Retry-After"]) == 1800  # one registration per 3600 / 2 s
    assert not User.objects.filter(username="new3").exists()
    assert register(api_factory, "new3", address="203.0.113.6").status_code == 201


def test_registration_fails_closed_when_redis_is_down(api_factory, monkeypatch):
    def down(*args, **kwargs):
        raise RedisConnectionError("down")

    monkeypatch.setattr("chat_project.budget.take", down)
    refused = register(api_factory, "new4")
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "service_unavailable"


def test_an_admins_registrations_are_charged_to_the_admins_budget(api, support_admin, settings):
    settings.REGISTER_MAX_PER_ADDRESS = 1
    settings.USER_BUDGET_BURST = 2
    settings.USER_BUDGET_PER_SECOND = 0.01
    api.login("admin")
    made = [
        api.post(
            "/api/auth/register",
            {"username": f"agent{n}", "email": f"a{n}@example.com", "password": STRONG},
        ).status_code
        for n in range(3)
    ]
    assert made == [201, 201, 429]
