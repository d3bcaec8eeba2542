"""The OpenAPI schema is the truth (issue 18, item 5): Schemathesis generates requests
from ``/api/schema/`` for every operation, as anonymous, customer, agent and admin,
with data that fits the schema (positive) and data that does not (negative), and
checks every response against the schema. Zero 5xx and zero violations.

Checks: no server error; the status is documented; the content type is documented; the
body matches the documented schema for that status; documented headers conform; and,
for negative data, that the API refused it (4xx).

Bounded: ``SCHEMATHESIS_MAX_EXAMPLES`` examples per operation, identity and mode (default
10: about 1,700 requests, under a minute). A longer manual run:
``SCHEMATHESIS_MAX_EXAMPLES=200 SCHEMATHESIS_SEED=random ./test.sh tests/api_contract``.
Examples are derandomized (the same every run) unless ``SCHEMATHESIS_SEED=random``.

The requests go to the WSGI application in this process (the embedded MongoDB and
Valkey of the test run). Real ids are swapped into half of the positive examples' paths
and bodies, so that operations on existing rooms, messages and attachments are reached
and not only their 404s.
"""

from __future__ import annotations

import itertools
import os
import secrets
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.wsgi import get_wsgi_application
from django.test import Client
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.django_db(transaction=True)

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "10"))
DERANDOMIZE = os.environ.get("SCHEMATHESIS_SEED", "") != "random"
IDENTITIES = ("anonymous", "customer", "agent", "admin")
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
DEMO_PASSWORD = "chat-demo-2026"  # the factories' password


@dataclass
class Report:
    requests: int = 0
    by_identity: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    succeeded: set[str] = field(default_factory=set)  # operations answered with a 2xx
    failures: list[str] = field(default_factory=list)
    seen: set[tuple[str, int, str]] = field(default_factory=set)

    def failed(self, label: str, status: int, message: str) -> None:
        key = (label, status, message.splitlines()[0] if message else "")
        if key not in self.seen:  # one line per distinct failure
            self.seen.add(key)
            self.failures.append(f"{label} -> {status}\n{message}")


class World:
    """Real objects to aim at, made afresh for each operation (an earlier one may have
    closed a room or ended a session): alice's active room with agent1, a message of
    hers with an attachment, a note of agent1's and the tag ``vip``, a canned response
    of agent1's, bob's queued room; a session per identity."""

    def __init__(self) -> None:
        from accounts import presence
        from accounts.tests.factories import UserFactory

        self.users = {
            "customer": UserFactory(username="alice", role="user"),
            "agent": UserFactory(username="agent1", role="agent"),
            "admin": UserFactory(username="admin", role="admin"),
            "bob": UserFactory(username="bob", role="user"),
            # The admin may create users without an e-mail address.
            "agent2": UserFactory(username="agent2", role="agent", email=""),
        }
        for agent in (self.users["agent"], self.users["agent2"]):
            presence.lease_touch(user_id=str(agent.pk), conn_id=f"c-{agent.pk}", ttl_seconds=600)
        self.ids: dict[str, list[str]] = {}
        self.closed_room_id = ""
        self.sessions: dict[str, tuple[dict[str, str], dict[str, str]]] = {}

    def refresh(self) -> None:
        from accounts.models import User
        from agents.services import canned_create
        from chat import services
        from chat.tests.factories import room_with_agent, send

        alice, agent1, agent2 = (self.users[k] for k in ("customer", "agent", "agent2"))
        agents = User.objects.filter(role="agent")
        agents.update(accepting_chats=False)  # nothing is routed while the world is made
        room = room_with_agent(alice, agent1)
        upload = services.attachment_upload(
            room_id=str(room.pk), uploader=alice, file=SimpleUploadedFile("a.png", PNG)
        )
        message = send(room, alice, "hello", attachment_ids=[upload["id"]])
        note = services.note_add(room_id=str(room.pk), author=agent1, text="a private note")
        services.room_tag(room_id=str(room.pk), actor=agent1, tag="vip")
        canned = canned_create(user=agent1, shortcut=f"c{secrets.token_hex(4)}", text="Hi!")
        queued, _created = services.room_create(customer=self.users["bob"], subject="waiting")
        done = room_with_agent(alice, agent1)  # closed: alice may rate it
        services.room_close(room_id=str(done.pk), actor=agent1)
        self.closed_room_id = str(done.pk)
        # Agents routable again (an operation may have set them away or full); a raw
        # update, which drains nothing: bob's room waits for assign-agent.
        agents.update(status="online", accepting_chats=True, active_chats=0, max_chats=50)
        self.ids = {
            "room_id": [str(room.pk), queued["id"]],
            "message_id": [message["id"]],
            "attachment_id": [upload["id"]],
            "agent_id": [str(agent2.pk), str(agent1.pk)],
            "user_id": [str(self.users["bob"].pk), str(agent2.pk)],
            "to_agent_id": [str(agent2.pk)],
            "note_id": [note["id"]],
            "canned_id": [canned["id"]],
            "tag": ["vip"],
        }
        for identity in IDENTITIES:
            self.sign_in(identity)

    def sign_in(self, identity: str) -> None:
        """A session cookie (none for anonymous) and a CSRF token sent back in the header,
        as the contract's clients do."""
        token = secrets.token_hex(16)  # an unmasked 32-character CSRF secret
        cookies = {"csrftoken": token}
        if identity != "anonymous":
            client = Client()
            client.force_login(self.users[identity])
            cookies["sessionid"] = client.cookies["sessionid"].value
        self.sessions[identity] = ({"X-CSRFToken": token}, cookies)

    def aim(self, case: Any, n: int) -> None:
        """Swap real ids (and a real sign-in, a real file) into every other positive
        example."""
        if n % 2:
            return
        pick = n // 2
        for name in list(case.path_parameters or {}):
            if name in self.ids:
                case.path_parameters[name] = self.ids[name][pick % len(self.ids[name])]
        if case.operation.path.endswith("/rating"):  # only a closed room takes a rating
            case.path_parameters["room_id"] = self.closed_room_id
        if not isinstance(case.body, dict):
            return
        for name in ("room_id", "agent_id", "to_agent_id", "message_id"):
            if name in case.body and isinstance(case.body[name], str):
                case.body[name] = self.ids[name][pick % len(self.ids[name])]
        if case.operation.path == "/api/auth/login":
            case.body.update(username="alice", password=DEMO_PASSWORD)
        if "file" in case.body:
            case.body["file"] = PNG


@pytest.fixture
def world(db, settings) -> World:
    # Fresh rooms for alice and bob per operation, whatever the one-open-room rule.
    settings.CHAT_ONE_OPEN_ROOM_PER_CUSTOMER = False
    return World()


def _run_operation(operation: Any, world: World, report: Report) -> None:
    world.refresh()
    counter = itertools.count()
    has_input = any(map(len, (operation.path_parameters, operation.query, operation.body)))
    for identity, mode in itertools.product(IDENTITIES, MODES):
        if mode.is_negative and not has_input:
            continue  # nothing to negate: no parameters, no body
        _examples(operation, identity, mode, world, report, counter)()


def _examples(
    operation: Any,
    identity: str,
    mode: GenerationMode,
    world: World,
    report: Report,
    counter: itertools.count,
):
    checks = [*CHECKS, negative_data_rejection] if mode.is_negative else CHECKS

    @hypothesis_settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=DERANDOMIZE,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        if case.meta is None or case.meta.generation.mode.is_positive:
            world.aim(case, next(counter))
        headers, cookies = world.sessions[identity]
        response = case.call(headers=headers, cookies=cookies)
        report.requests += 1
        report.by_identity[identity] += 1
        report.statuses[response.status_code] += 1
        if response.status_code < 300:
            report.succeeded.add(operation.label)
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except FailureGroup as group:
            for failure in group.exceptions:
                report.failed(
                    f"{identity} {mode.value} {operation.label}",
                    response.status_code,
                    f"{failure.title}: {failure.message}\n{case.as_curl_command(headers)}",
                )
        if operation.path in ("/api/auth/logout", "/api/auth/login"):
            world.sign_in(identity)  # the session may have ended or changed hands

    return run


def test_every_operation_holds_to_the_schema_for_every_identity(world):
    app = get_wsgi_application()
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", app)
    # The session cookie is each identity's own (World.sessions), not generated data.
    schema.config.generation.update(with_security_parameters=False)
    report = Report()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    for operation in operations:
        _run_operation(operation, world, report)
    never = sorted({op.label for op in operations} - report.succeeded)
    print(  # noqa: T201  (the numbers of the run, for the report)
        f"schemathesis: {report.requests} requests, {len(operations)} operations, "
        f"by identity {dict(report.by_identity)}, "
        f"statuses {dict(sorted(report.statuses.items()))}, never a 2xx: {never}"
    )
    assert report.failures == [], "\n\n".join(report.failures)
    assert not [status for status in report.statuses if status >= 500]
    assert report.requests >= len(operations) * len(IDENTITIES) * len(MODES)
