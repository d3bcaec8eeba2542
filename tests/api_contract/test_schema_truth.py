"""What the OpenAPI schema states, pinned where it used to disagree with the responses
(issue 18, item 5). ``test_schemathesis.py`` checks it against real responses."""

from __future__ import annotations

import jsonschema_rs
import pytest
from drf_spectacular.generators import SchemaGenerator

from accounts.models import Status
from chat.models import RoomStatus


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def component(schema: dict, ref_holder: dict) -> dict:
    ref = ref_holder["$ref"].rsplit("/", 1)[1]
    return schema["components"]["schemas"][ref]


def body_of(schema: dict, path: str, method: str, status: str = "200") -> dict:
    content = schema["paths"][path][method]["responses"][status]["content"]
    return component(schema, content["application/json"]["schema"])


def request_of(schema: dict, path: str, method: str) -> dict:
    content = schema["paths"][path][method]["requestBody"]["content"]
    return component(schema, content["application/json"]["schema"])


@pytest.mark.parametrize("path", ["/api/auth/agents/online", "/api/auth/agents/all"])
def test_agent_lists_are_pages_not_arrays(schema, path):
    """Issue 18: declared as arrays, answered as {results, next}."""
    page = body_of(schema, path, "get")
    assert page["type"] == "object"
    assert set(page["required"]) == {"results", "next"}


def test_validate_session_states_both_answers(schema):
    """Issue 18: declared as a User, answered as {valid, user} (200) or {valid} (401)."""
    valid = body_of(schema, "/api/auth/validate-session", "post", "200")
    assert set(valid["required"]) == {"valid", "user"}
    invalid = body_of(schema, "/api/auth/validate-session", "post", "401")
    assert set(invalid["properties"]) == {"valid"}


def test_message_edit_requires_text(schema):
    """Issue 18: the PATCH body's text was optional in the schema."""
    edit = request_of(schema, "/api/chat/rooms/{room_id}/messages/{message_id}", "patch")
    assert edit["required"] == ["text"]


@pytest.mark.parametrize(
    ("path", "method", "field"),
    [
        ("/api/chat/rooms/{room_id}/messages", "post", "text"),
        ("/api/chat/rooms/{room_id}/messages/{message_id}", "patch", "text"),
        ("/api/chat/rooms", "post", "message"),
    ],
)
def test_text_limit_is_5000_after_trimming(schema, path, method, field):
    """Issue 18: the schema said 20,000; the limit is CHAT_MESSAGE_MAX_CHARS (5,000) once
    whitespace is trimmed, and twice that as sent."""
    text = request_of(schema, path, method)["properties"][field]
    validator = jsonschema_rs.validator_for(text)
    assert text["maxLength"] == 10000
    assert validator.is_valid("x" * 5000)
    assert validator.is_valid(" \n\u3000" + "x" * 5000 + "\t\u2028")
    assert validator.is_valid("")
    assert not validator.is_valid("x" * 5001)
    assert not validator.is_valid("x" + " " * 4999 + "x")
    assert not validator.is_valid(" " * 10001)


def test_receipts_take_exactly_one_of_up_to_seq_and_message_id(schema):
    """Issue 18: one-of parameters were not stated."""
    receipt = request_of(schema, "/api/chat/rooms/{room_id}/receipts", "post")
    validator = jsonschema_rs.validator_for({**receipt, "components": schema["components"]})
    message_id = "0" * 24
    assert validator.is_valid({"kind": "read", "up_to_seq": 3})
    assert validator.is_valid({"kind": "read", "message_id": message_id})
    assert not validator.is_valid({"kind": "read"})
    assert not validator.is_valid({"kind": "read", "up_to_seq": 3, "message_id": message_id})


def test_history_cursors_say_they_exclude_each_other(schema):
    parameters = schema["paths"]["/api/chat/rooms/{room_id}/messages"]["get"]["parameters"]
    described = {p["name"]: p.get("description", "") for p in parameters}
    assert "not with before_seq" in described["after_seq"]
    assert "not with after_seq" in described["before_seq"]


def test_every_operation_documents_its_errors_in_the_envelope(schema):
    """Issue 18: no operation documented its error responses."""
    envelope = "#/components/schemas/ErrorEnvelope"
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "400" in responses, (method, path)
            anyone = not operation.get("security") or {} in operation["security"]
            if not anyone:
                assert "401" in responses, (method, path)
            if "{" in path:
                assert "404" in responses, (method, path)
            for status, response in responses.items():
                if (path, status) == ("/api/auth/validate-session", "401"):
                    continue  # {"valid": false}, the seed's shape
                if int(status) >= 400:
                    body = response["content"]["application/json"]["schema"]
                    assert body == {"$ref": envelope}, (method, path, status)


def test_enum_names_follow_the_models(schema):
    enums = schema["components"]["schemas"]
    assert enums["UserStatusEnum"]["enum"] == list(Status.values)
    assert enums["RoomStatusEnum"]["enum"] == list(RoomStatus.values)
