"""SLA breaches in the statistics (issue 30): per target for the window, per team, in
the stats API, the dashboard and ``manage.py chat_stats``."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from adminstats import selectors
from agents import services as routing
from agents.tests.test_routing import online
from agents.tests.test_teams import open_room

pytestmark = pytest.mark.django_db(transaction=True)


def test_breaches_counted_per_target_and_team(make_user, api, support_admin, settings):
    settings.SLA_FIRST_RESPONSE_SECONDS = 60
    settings.SLA_RESOLUTION_SECONDS = 600
    agent = make_user(username="a", role="agent", max_chats=5)
    online(agent)
    billing, _ = routing.team_create(name="Billing", members=["a"])
    in_team = open_room(make_user(username="c1"), team_id=str(billing.pk))
    general = open_room(make_user(username="c2"))
    later = max(in_team.created_at, general.created_at)

    routing.rooms_sla_check(now=later + timedelta(seconds=61))  # both first responses
    routing.rooms_sla_check(now=later + timedelta(seconds=601))  # both resolutions
    routing.rooms_sla_check(now=later + timedelta(seconds=900))  # nothing new

    stats = selectors.chat_stats(use_cache=False)
    assert stats["window"]["sla_breaches"] == {"first_response": 2, "resolution": 2}
    teams = {row["name"]: row["sla_breaches"] for row in stats["teams"]}
    assert teams["Billing"] == {"first_response": 1, "resolution": 1}
    assert teams["General (no team)"] == {"first_response": 1, "resolution": 1}

    api.force_login(support_admin)
    answer = api.get("/api/admin/chat-stats")
    assert answer.status_code == 200, answer.content
    assert answer.json()["window"]["sla_breaches"] == {"first_response": 2, "resolution": 2}
    out = StringIO()
    call_command("chat_stats", stdout=out)
    assert "SLA breaches                     first response 2, resolution 2" in out.getvalue()
