"""Operators run syncs from the command line; beat runs them on schedule."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command

from calendars.models import GoogleAccount, SyncState
from emulator.testing import control
from syncengine import dispatch
from syncengine.tasks import schedule_background_syncs
from tests.googleside import stored_events, timed


@pytest.fixture(autouse=True)
def no_beat_ran_yet(settings) -> None:
    # The claim of a beat's run outlives a test in the in-memory cache.
    cache.clear()
    # Background syncs are spread over a quarter of the interval: a second
    # here, not the minutes of production.
    settings.BACKGROUND_SYNC_INTERVAL_SECONDS = 4


def test_sync_calendars_prints_a_line_per_calendar_and_a_summary(google, primary):
    body = timed("Planning", "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z")
    google.events().insert(calendarId=primary.google_id, body=body).execute()
    output = StringIO()

    call_command("sync_calendars", "--user", "owner", stdout=output)

    lines = output.getvalue().splitlines()
    assert lines[0].startswith(f"owner@example.com / {primary.summary}")
    assert "full, 1 added, 0 changed, 0 deleted" in lines[0]
    assert lines[-1].startswith("Synced 1 calendars: 1 added, 0 changed, 0 deleted")
    assert len(stored_events(primary)) == 1


def test_sync_calendars_full_ignores_the_sync_token(primary):
    call_command("sync_calendars", "--calendar", str(primary.pk), stdout=StringIO())
    output = StringIO()

    call_command(
        "sync_calendars", "--calendar", str(primary.pk), "--full", stdout=output
    )

    assert ": full," in output.getvalue()


def test_sync_calendars_reports_a_failure_and_goes_on(emulator, primary):
    fault = {"method": "calendar.events.list", "status": 403, "reason": "forbidden"}
    control(emulator, "faults", {**fault, "count": 1})
    output = StringIO()

    call_command("sync_calendars", stdout=output)

    assert "failed: Google answered 403" in output.getvalue()
    assert "1 failed" in output.getvalue()


def test_sync_calendars_says_when_nothing_matches(db):
    with pytest.raises(CommandError, match="No selected calendar"):
        call_command("sync_calendars", "--user", "nobody")


@pytest.mark.django_db(transaction=True)
def test_background_syncs_skip_accounts_that_need_reauthorisation(
    google, connected, primary
):
    stale = GoogleAccount.objects.create(
        owner=connected.owner, email="stale@example.com", refresh_token="dead"
    )
    stale.status = GoogleAccount.Status.NEEDS_REAUTH
    stale.save()
    stale_calendar = stale.calendars.create(google_id="stale@example.com")

    scheduled = schedule_background_syncs()
    dispatch.wait_for_embedded_tasks()

    assert scheduled == 1
    assert SyncState.objects.get(calendar=primary).last_sync_at is not None
    assert not SyncState.objects.filter(
        calendar=stale_calendar, last_sync_at__isnull=False
    ).exists()


@pytest.mark.django_db(transaction=True)
def test_a_second_beat_in_the_same_interval_schedules_nothing(google, primary):
    first = schedule_background_syncs()
    second = schedule_background_syncs()
    dispatch.wait_for_embedded_tasks()

    assert (first, second) == (1, 0)
    assert SyncState.objects.get(calendar=primary).version == 1
