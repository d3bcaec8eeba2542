"""Tags, ratings and private notes in the Django admin (issue 16)."""

from __future__ import annotations

import pytest

from chat import services
from chat.tests.factories import room_with_agent

pytestmark = pytest.mark.django_db(transaction=True)

ROOMS = "/admin/chat/room/"


@pytest.fixture
def staff_client(client, support_admin):
    client.force_login(support_admin)
    return client


def test_rooms_show_their_tags_and_filter_by_them(
    staff_client, customer, other_customer, agent, support_admin
):
    billing = room_with_agent(customer, agent, subject="invoice twice")
    other = room_with_agent(other_customer, agent, subject="password reset")
    services.room_tag(room_id=str(billing.pk), actor=agent, tag="billing")
    services.room_tag(room_id=str(other.pk), actor=support_admin, tag="account")
    page = staff_client.get(ROOMS).content.decode()
    assert f'href="{ROOMS}?tag=billing"' in page
    assert "billing (1)" in page  # the filter offers the tags in use
    filtered = staff_client.get(ROOMS, {"tag": "billing"}).content.decode()
    assert "invoice twice" in filtered
    assert "password reset" not in filtered
    assert "invoice twice" not in staff_client.get(ROOMS, {"tag": "<nope>"}).content.decode()


def test_a_rooms_page_shows_its_rating_and_the_timeline_its_notes(staff_client, customer, agent):
    room = room_with_agent(customer, agent)
    services.note_add(room_id=str(room.pk), author=agent, text="goodwill refund agreed")
    services.room_close(room_id=str(room.pk), actor=agent)
    services.room_rate(room_id=str(room.pk), customer=customer, score=2, comment="slow")
    page = staff_client.get(f"{ROOMS}{room.pk}/change/").content.decode()
    assert "2 / 5" in page
    assert "slow" in page
    events = staff_client.get("/admin/chat/roomevent/", {"room": str(room.pk), "kind": "note"})
    assert "goodwill refund agreed" in events.content.decode()
