"""Syncs run off the request path, one at a time per calendar, coalesced."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from calendars.models import SyncState
from emulator.testing import control
from syncengine import dispatch
from syncengine.sync import sync_calendar
from tests.googleside import stored_events, timed

pytestmark = pytest.mark.django_db(transaction=True)


def list_calls(emulator) -> int:
    calls = control(emulator, "stats", method="GET")["calls"]
    return int(calls.get("calendar.events.list", 0))


def insert(google, calendar, summary="Event"):
    body = timed(summary, "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z")
    google.events().insert(calendarId=calendar.google_id, body=body).execute()


def test_a_requested_sync_runs_in_the_background(google, primary):
    insert(google, primary)

    outcome = dispatch.request_sync(primary.pk)
    dispatch.wait_for_embedded_tasks()

    assert outcome is dispatch.Requested.QUEUED
    assert len(stored_events(primary)) == 1
    assert SyncState.objects.get(calendar=primary).state == SyncState.State.IDLE


def test_two_syncs_requested_together_run_one_after_the_other(
    emulator, google, primary
):
    insert(google, primary)
    control(emulator, "stats", method="DELETE")
    control(
        emulator,
        "faults",
        {"method": "calendar.events.list", "latency_ms": 300, "count": 10},
    )
    results = []

    def run() -> None:
        results.append(sync_calendar(primary.pk))

    threads = [threading.Thread(target=run) for _ in range(2)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started

    assert sorted(result.ran for result in results) == [False, True]
    assert list_calls(emulator) == 2
    # Two listings of 300 ms each, never overlapping.
    assert elapsed >= 0.6
    state = SyncState.objects.get(calendar=primary)
    assert state.state == SyncState.State.IDLE
    assert state.version == 2


def test_a_burst_of_requests_runs_at_most_two_syncs(
    settings, emulator, google, primary
):
    # The burst must read as one to the coalescing even on a loaded machine,
    # where 200 requests can take longer than the default quiet time.
    settings.SYNC_COALESCE_SECONDS = 1
    settings.SYNC_COALESCE_MAX_SECONDS = 60
    insert(google, primary)
    sync_calendar(primary.pk)
    control(emulator, "stats", method="DELETE")
    control(
        emulator,
        "faults",
        {"method": "calendar.events.list", "latency_ms": 200, "count": 10},
    )

    outcomes = [dispatch.request_sync(primary.pk) for _ in range(200)]
    dispatch.wait_for_embedded_tasks()

    assert outcomes.count(dispatch.Requested.QUEUED) == 1
    assert list_calls(emulator) <= 2
    assert SyncState.objects.get(calendar=primary).state == SyncState.State.IDLE


def test_a_request_just_after_a_sync_waits_until_requests_pause(
    settings, emulator, google, primary
):
    settings.SYNC_COALESCE_SECONDS = 0.5
    settings.SYNC_COALESCE_MAX_SECONDS = 60
    assert dispatch.request_sync(primary.pk) is dispatch.Requested.QUEUED
    dispatch.wait_for_embedded_tasks()
    control(emulator, "stats", method="DELETE")

    outcomes = []
    for index in range(10):
        insert(google, primary, f"Event {index}")
        outcomes.append(dispatch.request_sync(primary.pk))
        time.sleep(0.1)
    last_request = timezone.now()
    dispatch.wait_for_embedded_tasks()

    assert outcomes[0] is dispatch.Requested.QUEUED
    assert set(outcomes[1:]) == {dispatch.Requested.ALREADY_PENDING}
    assert list_calls(emulator) == 1
    assert len(stored_events(primary)) == 10
    state = SyncState.objects.get(calendar=primary)
    assert state.last_sync_at is not None
    assert state.last_sync_at >= last_request + timedelta(seconds=0.4)


def test_steady_requests_still_sync_within_the_cap(settings, emulator, primary):
    settings.SYNC_COALESCE_SECONDS = 0.5
    settings.SYNC_COALESCE_MAX_SECONDS = 1
    dispatch.request_sync(primary.pk)
    dispatch.wait_for_embedded_tasks()
    control(emulator, "stats", method="DELETE")

    started = time.monotonic()
    while time.monotonic() - started < 2.5:
        dispatch.request_sync(primary.pk)
        time.sleep(0.1)
    dispatch.wait_for_embedded_tasks()

    # Never a pause, yet a sync at least every second.
    assert list_calls(emulator) >= 2


def test_a_request_during_a_run_is_not_lost(emulator, google, primary):
    control(
        emulator,
        "faults",
        {"method": "calendar.events.list", "latency_ms": 300, "count": 1},
    )
    dispatch.request_sync(primary.pk)
    deadline = time.monotonic() + 5
    while SyncState.objects.get(calendar=primary).state != SyncState.State.RUNNING:
        assert time.monotonic() < deadline
        time.sleep(0.01)

    insert(google, primary, "Added during the run")
    assert dispatch.request_sync(primary.pk) is dispatch.Requested.FOLDED
    dispatch.wait_for_embedded_tasks()

    summaries = [event["summary"] for event in stored_events(primary).values()]
    assert summaries == ["Added during the run"]


def test_a_claim_left_by_a_dead_worker_is_taken_over(settings, google, primary):
    insert(google, primary)
    SyncState.objects.filter(calendar=primary).update(
        state=SyncState.State.RUNNING, version=7
    )

    result = sync_calendar(primary.pk)

    assert result.ran is False
    settings.SYNC_LEASE_SECONDS = 0
    SyncState.objects.filter(calendar=primary).update(
        lease_expires_at="2000-01-01T00:00:00Z"
    )
    assert sync_calendar(primary.pk).ran
    assert len(stored_events(primary)) == 1
