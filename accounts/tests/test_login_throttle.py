"""The login throttle (accounts.login_throttle) over HTTP: per account, per (address,
account), and per address by the distinct accounts that fail from it."""

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

pytestmark = pytest.mark.django_db(transaction=True)

RIGHT = "chat-demo-2026"


def error_code(response) -> str:
    return response.json()["error"]["code"]


@pytest.fixture
def sign_in(api_factory):
    """``sign_in(username, password, address)`` -> the status code of one attempt."""

    def attempt(username: str, password: str, address: str = "198.51.100.7") -> int:
        response = api_factory().post(
            "/api/auth/login", {"username": username, "password": password}, REMOTE_ADDR=address
        )
        return response.status_code

    return attempt


def test_failures_for_one_account_from_one_address_are_stopped(api, customer, settings):
    limit = settings.LOGIN_MAX_FAILURES_PER_ADDRESS_ACCOUNT
    for _ in range(limit):
        response = api.post("/api/auth/login", {"username": "alice", "password": "wrong-pass-1"})
        assert response.status_code == 401
    next_one = api.post("/api/auth/login", {"username": "alice", "password": RIGHT})
    assert next_one.status_code == 429
    assert error_code(next_one) == "rate_limited"
    assert 0 < int(next_one["Retry-After"]) <= settings.LOGIN_FAILURE_WINDOW_SECONDS
    assert "from this address" in next_one.json()["error"]["message"]


def test_the_account_limit_holds_across_addresses(sign_in, customer, settings):
    for n in range(settings.LOGIN_MAX_FAILURES_PER_ACCOUNT):
        assert sign_in("alice", "bad-pass-1", f"10.0.{n // 4}.{n % 4}") == 401
    assert sign_in("alice", RIGHT, "10.9.9.9") == 429


def test_password_spraying_is_stopped(sign_in, make_user, settings):
    """One password tried on many accounts from one address: refused once
    ``LOGIN_MAX_ACCOUNTS_PER_ADDRESS`` accounts have failed, for every further account."""
    limit = settings.LOGIN_MAX_ACCOUNTS_PER_ADDRESS
    make_user(username="victim-last")
    for n in range(limit):
        assert sign_in(f"victim{n}", "Spring2026!") == 401
    assert sign_in("victim-last", RIGHT) == 429
    assert sign_in("victim-last", RIGHT, "198.51.100.8") == 200  # another address


def test_thirty_colleagues_behind_one_nat_sign_in_with_a_few_typos_each(sign_in, make_user):
    """Issue 28: from one address, 10 wrong passwords for one account and a few for
    other names, then ``alice`` with her right password got 429 "from this address" for
    15 minutes. An office behind one NAT counts each colleague once."""
    colleagues = [make_user(username=f"colleague{n}").username for n in range(30)]
    for typo in range(3):
        for name in colleagues:
            assert sign_in(name, f"typo-{typo}") == 401, (name, typo)
    assert [sign_in(name, RIGHT) for name in colleagues] == [200] * 30


def test_someone_hammering_bob_from_alices_address_does_not_lock_her_out(
    sign_in, customer, other_customer, make_user
):
    """Issue 28's case: wrong passwords for one account (bob's, 25 times: his place at
    that address is full after 5) and a few for other names from one address, then
    alice with her right password."""
    for _ in range(25):
        sign_in("bob", "guess-guess-1")
    for name in ("carol", "dave", "erin"):
        assert sign_in(name, "guess-guess-1") == 401
    assert sign_in("alice", RIGHT) == 200


def test_a_sign_in_frees_the_accounts_places(sign_in, customer, settings):
    for _ in range(settings.LOGIN_MAX_FAILURES_PER_ADDRESS_ACCOUNT - 1):
        assert sign_in("alice", "wrong-pass-1") == 401
    assert sign_in("alice", RIGHT) == 200
    for _ in range(settings.LOGIN_MAX_FAILURES_PER_ADDRESS_ACCOUNT):
        assert sign_in("alice", "wrong-pass-1") == 401


def test_a_full_address_goes_on_for_the_accounts_already_tried(sign_in, make_user, settings):
    """Only accounts new to a full address are refused: a colleague who mistyped before
    the spray filled it still signs in."""
    settings.LOGIN_MAX_ACCOUNTS_PER_ADDRESS = 3
    make_user(username="colleague")
    assert sign_in("colleague", "typo-1") == 401
    assert sign_in("sprayed1", "Spring2026!") == 401
    assert sign_in("sprayed2", "Spring2026!") == 401
    assert sign_in("sprayed3", "Spring2026!") == 429
    assert sign_in("colleague", RIGHT) == 200


def test_sign_in_fails_closed_when_redis_is_down(api, customer, monkeypatch):
    def down(*args, **kwargs):
        raise RedisConnectionError("down")

    monkeypatch.setattr("accounts.login_throttle.get_redis_connection", down)
    response = api.post("/api/auth/login", {"username": "alice", "password": RIGHT})
    assert response.status_code == 503
    assert error_code(response) == "service_unavailable"
