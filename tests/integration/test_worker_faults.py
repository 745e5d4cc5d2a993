"""Celery workers on Redis and PostgreSQL converge through worker deaths."""

from __future__ import annotations

import pytest

from calendars.models import Event, SyncState
from emulator.testing import control
from syncengine import dispatch
from syncengine.accounts import discover_calendars
from tests.googleside import OWNER_EMAIL, google_events
from tests.integration.conftest import wait_until

pytestmark = [
    pytest.mark.integration,
    pytest.mark.reliability,
    pytest.mark.django_db(transaction=True),
]

EVENTS = 6000


@pytest.fixture
def big_calendar(emulator, google, connected):
    seeded = control(
        emulator,
        "seed",
        {"email": OWNER_EMAIL, "calendars": 1, "events_per_calendar": EVENTS},
    )
    discover_calendars(connected)
    return connected.calendars.get(google_id=seeded["calendars"][0])


def test_a_worker_killed_mid_sync_leaves_a_converged_calendar(
    emulator, google, big_calendar, start_worker
):
    # Slow pages keep the sync running long enough to kill it halfway.
    control(
        emulator,
        "faults",
        {"method": "calendar.events.list", "latency_ms": 1500, "count": 2},
    )
    first = start_worker()
    dispatch.request_sync(big_calendar.pk)
    wait_until(
        lambda: Event.objects.filter(calendar=big_calendar).exists(),
        timeout=60,
        what="the first page to be stored",
    )

    first.kill()
    stored_when_killed = Event.objects.filter(calendar=big_calendar).count()
    assert 0 < stored_when_killed < EVENTS
    start_worker()

    expected = google_events(google, big_calendar.google_id)
    wait_until(
        lambda: (
            SyncState.objects.get(calendar=big_calendar).state == SyncState.State.IDLE
        ),
        timeout=90,
        what="the redelivered sync to finish",
    )
    stored = dict(
        Event.objects.filter(calendar=big_calendar).values_list("google_id", "resource")
    )
    assert len(stored) == len(expected)
    assert stored == expected
