"""The admin REST API for webhooks: admins only (stable codes for everyone else), bad
input is a 400 with a code, the secret is shown once."""

from __future__ import annotations

import pytest

from integrations.models import WebhookEndpoint

pytestmark = pytest.mark.django_db(transaction=True)

BASE = "/api/admin/webhooks"
VALID = {"url": "https://crm.example.com/hooks", "kinds": ["message.created", "room.closed"]}


@pytest.fixture
def admin_api(api, support_admin):
    api.force_login(support_admin)
    return api


@pytest.fixture
def endpoint_id(admin_api):
    return admin_api.post(BASE, VALID).json()["id"]


def _paths(endpoint_id: str) -> list[tuple[str, str]]:
    fake = "0" * 24
    return [
        ("get", BASE),
        ("post", BASE),
        ("get", f"{BASE}/{endpoint_id}"),
        ("patch", f"{BASE}/{endpoint_id}"),
        ("delete", f"{BASE}/{endpoint_id}"),
        ("get", f"{BASE}/{endpoint_id}/deliveries"),
        ("post", f"{BASE}/deliveries/{fake}/redeliver"),
        ("post", f"{BASE}/{endpoint_id}/resume"),
    ]


@pytest.mark.parametrize("role", ["user", "agent"])
def test_customers_and_agents_get_403_with_a_stable_code(role, endpoint_id, api_factory, make_user):
    client = api_factory()
    client.force_login(make_user(username=f"someone-{role}", role=role))
    for method, path in _paths(endpoint_id):
        answer = getattr(client, method)(path, VALID if method != "get" else None)
        assert answer.status_code == 403, (method, path)
        assert answer.json()["error"]["code"] == "permission_denied"
    assert WebhookEndpoint.objects.count() == 1


def test_anonymous_gets_401(endpoint_id, api_factory):
    client = api_factory()
    for method, path in _paths(endpoint_id):
        answer = getattr(client, method)(path, VALID if method != "get" else None)
        assert answer.status_code in (401, 403), (method, path)
        assert answer.json()["error"]["code"] in ("not_authenticated", "csrf_failed")


def test_create_shows_the_secret_once_and_lists_without_it(admin_api):
    created = admin_api.post(BASE, {**VALID, "scope": "staff", "description": "CRM"})
    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert (body["scope"], body["status"], body["kinds"]) == (
        "staff",
        "active",
        ["message.created", "room.closed"],
    )
    listed = admin_api.get(BASE).json()["results"]
    assert [e["id"] for e in listed] == [body["id"]]
    assert "secret" not in listed[0]
    assert "secret" not in admin_api.get(f"{BASE}/{body['id']}").json()
    assert WebhookEndpoint.objects.get().secret == body["secret"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"url": "ftp://files.example.com/x"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"kinds": []}, "kinds"),
        ({"kinds": ["message.deleted"]}, "kinds"),
        ({"scope": "everyone"}, "scope"),
        ({"team_id": "0" * 24}, "team_id"),
        ({"secret": "short"}, "secret"),
    ],
)
def test_bad_input_is_a_400_with_a_code(admin_api, change, field):
    answer = admin_api.post(BASE, {**VALID, **change})
    assert answer.status_code == 400, answer.content
    error = answer.json()["error"]
    assert error["code"] == "validation_error"
    assert field in str(error["details"])
    assert WebhookEndpoint.objects.count() == 0


def test_patch_delete_and_not_found(admin_api, endpoint_id):
    changed = admin_api.patch(f"{BASE}/{endpoint_id}", {"kinds": ["room.created"]})
    assert changed.json()["kinds"] == ["room.created"]
    bad = admin_api.patch(f"{BASE}/{endpoint_id}", {"url": "ftp://x.example.com"})
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "validation_error")
    assert admin_api.delete(f"{BASE}/{endpoint_id}").status_code == 204
    gone = admin_api.get(f"{BASE}/{endpoint_id}")
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "not_found")
    missing = admin_api.post(f"{BASE}/deliveries/{'0' * 24}/redeliver")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")


def test_deliveries_filter_by_status(admin_api, endpoint_id):
    assert admin_api.get(f"{BASE}/{endpoint_id}/deliveries?status=failed").json()["results"] == []
    bad = admin_api.get(f"{BASE}/{endpoint_id}/deliveries?status=lost")
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "validation_error")
