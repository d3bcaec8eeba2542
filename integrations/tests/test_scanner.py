"""One holder of the outbox's scan at a time (integrations/scanner.py): taken, renewed,
refused to another, taken over once it lapses, handed over at a clean stop."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations import scanner
from integrations.models import WebhookScanLock

pytestmark = pytest.mark.django_db(transaction=True)


def test_one_holder_at_a_time_and_a_takeover_after_it_lapses():
    now = timezone.now()
    since = scanner.take("a", now=now, seconds=30)
    assert since == now
    assert scanner.take("b", now=now, seconds=30) is None
    later = now + timedelta(seconds=5)
    assert scanner.take("a", now=later, seconds=30) == now  # renewed: the same hold
    assert scanner.still_held("a", now=later, seconds=30)
    assert not scanner.still_held("b", now=later, seconds=30)
    lapsed = later + timedelta(seconds=31)
    assert scanner.take("b", now=lapsed, seconds=30) == lapsed
    assert scanner.take("a", now=lapsed, seconds=30) is None
    assert not scanner.still_held("a", now=lapsed, seconds=30)
    assert WebhookScanLock.objects.count() == 1


def test_a_clean_stop_hands_it_over_at_once():
    now = timezone.now()
    assert scanner.take("a", now=now, seconds=30) is not None
    scanner.release("a")
    assert scanner.take("b", now=now, seconds=30) == now


def test_losing_it_and_taking_it_again_starts_a_new_hold():
    """What the new holder sends for rows stored before its hold is looked up first."""
    now = timezone.now()
    assert scanner.take("a", now=now, seconds=1) == now
    later = now + timedelta(seconds=2)
    assert scanner.take("b", now=later, seconds=1) == later
    again = later + timedelta(seconds=2)
    assert scanner.take("a", now=again, seconds=1) == again  # not the first hold's start
