"""Syncing a calendar leaves the database holding exactly what Google holds."""

from __future__ import annotations

import pytest

from calendars.models import Event, GoogleAccount, SyncState
from emulator.testing import control
from syncengine.google import GoogleError, ReauthRequired
from syncengine.sync import SyncResult, sync_calendar
from tests.googleside import google_events, stored_events, timed

WEEKLY = timed(
    "Weekly sync",
    "2026-12-07T10:00:00+01:00",
    "2026-12-07T10:30:00+01:00",
    recurrence=["RRULE:FREQ=WEEKLY;COUNT=8"],
)


def insert(google, calendar, body):
    return google.events().insert(calendarId=calendar.google_id, body=body).execute()


def test_a_first_sync_stores_every_event_of_the_calendar(google, primary):
    for day in range(1, 8):
        start = f"2026-12-0{day}T09:00:00+01:00"
        insert(google, primary, timed(f"Day {day}", start, start))

    result = sync_calendar(primary.pk)

    assert result.full
    assert result.added == 7
    assert stored_events(primary) == google_events(google, primary.google_id)
    state = SyncState.objects.get(calendar=primary)
    assert state.state == SyncState.State.IDLE
    assert state.sync_token
    assert state.last_sync_at is not None


def test_a_large_first_page_and_a_resync_store_every_event_once(google, primary):
    # Large enough for a first page to be copied straight into the table.
    for index in range(120):
        start = f"2026-12-01T{index // 60 + 9:02d}:{index % 60:02d}:00Z"
        summary = f"Tab\there \\ line\nbreak {index}"
        insert(google, primary, timed(summary, start, start))

    first = sync_calendar(primary.pk)
    SyncState.objects.filter(calendar=primary).update(full_sync_requested=True)
    again = sync_calendar(primary.pk)

    assert (first.added, again.added, again.changed) == (120, 0, 120)
    assert stored_events(primary) == google_events(google, primary.google_id)


def test_a_later_sync_fetches_only_what_changed(google, primary):
    kept = insert(
        google, primary, timed("Kept", "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z")
    )
    edited = insert(
        google, primary, timed("Draft", "2026-12-02T09:00:00Z", "2026-12-02T10:00:00Z")
    )
    doomed = insert(
        google, primary, timed("Doomed", "2026-12-03T09:00:00Z", "2026-12-03T10:00:00Z")
    )
    sync_calendar(primary.pk)

    google.events().patch(
        calendarId=primary.google_id, eventId=edited["id"], body={"summary": "Final"}
    ).execute()
    google.events().delete(calendarId=primary.google_id, eventId=doomed["id"]).execute()
    added = insert(
        google, primary, timed("New", "2026-12-04T09:00:00Z", "2026-12-04T10:00:00Z")
    )
    result = sync_calendar(primary.pk)

    assert not result.full
    assert (result.added, result.changed, result.deleted) == (1, 1, 1)
    stored = stored_events(primary)
    assert set(stored) == {kept["id"], edited["id"], added["id"]}
    assert stored[edited["id"]]["summary"] == "Final"


def test_cancelled_and_moved_occurrences_are_kept_as_exceptions(google, primary):
    series = insert(google, primary, WEEKLY)
    sync_calendar(primary.pk)
    instances = (
        google.events()
        .instances(calendarId=primary.google_id, eventId=series["id"])
        .execute()["items"]
    )

    google.events().delete(
        calendarId=primary.google_id, eventId=instances[1]["id"]
    ).execute()
    google.events().patch(
        calendarId=primary.google_id,
        eventId=instances[2]["id"],
        body={
            "start": {"dateTime": "2026-12-22T15:00:00+01:00"},
            "end": {"dateTime": "2026-12-22T15:30:00+01:00"},
        },
    ).execute()
    sync_calendar(primary.pk)

    exceptions = Event.objects.filter(calendar=primary, recurring_event_id=series["id"])
    assert sorted(exceptions.values_list("status", flat=True)) == [
        "cancelled",
        "confirmed",
    ]
    assert stored_events(primary) == google_events(google, primary.google_id)


def test_deleting_a_series_removes_its_exceptions(google, primary):
    series = insert(google, primary, WEEKLY)
    instances = (
        google.events()
        .instances(calendarId=primary.google_id, eventId=series["id"])
        .execute()["items"]
    )
    google.events().delete(
        calendarId=primary.google_id, eventId=instances[0]["id"]
    ).execute()
    sync_calendar(primary.pk)

    google.events().delete(calendarId=primary.google_id, eventId=series["id"]).execute()
    sync_calendar(primary.pk)

    assert stored_events(primary) == {}


def test_an_expired_sync_token_leads_to_a_full_resync(emulator, google, primary):
    kept = insert(
        google, primary, timed("Kept", "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z")
    )
    gone = insert(
        google, primary, timed("Gone", "2026-12-02T09:00:00Z", "2026-12-02T10:00:00Z")
    )
    sync_calendar(primary.pk)
    old_token = SyncState.objects.get(calendar=primary).sync_token

    google.events().delete(calendarId=primary.google_id, eventId=gone["id"]).execute()
    control(emulator, "expire-sync-tokens", {})
    result = sync_calendar(primary.pk)

    assert result.full
    assert set(stored_events(primary)) == {kept["id"]}
    assert SyncState.objects.get(calendar=primary).sync_token != old_token


def test_a_full_resync_never_leaves_the_calendar_empty_midway(
    emulator, google, primary
):
    for day in range(1, 6):
        start = f"2026-12-0{day}T09:00:00Z"
        insert(google, primary, timed(f"Day {day}", start, start))
    sync_calendar(primary.pk)
    control(emulator, "expire-sync-tokens", {})
    counts_seen = []

    sync_calendar(
        primary.pk,
        on_batch=lambda batch: counts_seen.append(
            Event.objects.filter(calendar=primary).count()
        ),
    )

    assert counts_seen
    assert min(counts_seen) == 5


def test_rate_limits_and_server_errors_are_retried(emulator, google, primary):
    insert(
        google, primary, timed("One", "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z")
    )
    control(
        emulator,
        "faults",
        {
            "method": "calendar.events.list",
            "status": 429,
            "reason": "rateLimitExceeded",
            "count": 2,
        },
    )
    control(
        emulator,
        "faults",
        {
            "method": "calendar.events.list",
            "status": 503,
            "reason": "backendError",
            "count": 1,
        },
    )

    sync_calendar(primary.pk)

    assert len(stored_events(primary)) == 1
    assert SyncState.objects.get(calendar=primary).state == SyncState.State.IDLE


def test_quota_exceeded_is_recorded_with_a_readable_message(emulator, primary):
    control(
        emulator,
        "faults",
        {
            "method": "calendar.events.list",
            "status": 403,
            "reason": "quotaExceeded",
            "count": 1,
        },
    )

    with pytest.raises(GoogleError):
        sync_calendar(primary.pk)

    state = SyncState.objects.get(calendar=primary)
    assert state.state == SyncState.State.ERROR
    assert "quota" in state.last_error
    assert state.consecutive_failures == 1


def test_a_revoked_grant_flags_the_account_and_stops_its_syncs(emulator, primary):
    control(emulator, f"accounts/{primary.account.email}/revoke", {})
    GoogleAccount.objects.filter(pk=primary.account.pk).update(access_token="")

    with pytest.raises(ReauthRequired):
        sync_calendar(primary.pk)

    account = GoogleAccount.objects.get(pk=primary.account.pk)
    assert account.status == GoogleAccount.Status.NEEDS_REAUTH
    assert "Reconnect" in SyncState.objects.get(calendar=primary).last_error


def test_a_refreshed_access_token_is_stored_encrypted(primary):
    GoogleAccount.objects.filter(pk=primary.account.pk).update(access_token="")

    sync_calendar(primary.pk)

    account = GoogleAccount.objects.get(pk=primary.account.pk)
    assert account.access_token
    assert account.access_token_expires_at is not None


def test_a_sync_asked_for_during_a_run_makes_that_run_go_round_again(google, primary):
    insert(
        google, primary, timed("One", "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z")
    )
    nested: list[SyncResult] = []

    def ask_again(batch):
        if not nested:
            nested.append(sync_calendar(primary.pk))
            insert(
                google,
                primary,
                timed("Two", "2026-12-02T09:00:00Z", "2026-12-02T10:00:00Z"),
            )

    result = sync_calendar(primary.pk, on_batch=ask_again)

    assert nested[0].ran is False
    assert result.added == 2
    assert stored_events(primary) == google_events(google, primary.google_id)
    assert SyncState.objects.get(calendar=primary).state == SyncState.State.IDLE
