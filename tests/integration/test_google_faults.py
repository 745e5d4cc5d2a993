"""Google misbehaving while real workers sync: errors, expiries, revocations.

Workers run as separate processes on Redis and PostgreSQL and talk to the
emulator; the test edits calendars through Google's client library and
reads what the workers stored.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from googleapiclient.discovery import Resource

from calendars.models import Calendar, GoogleAccount, SyncState, WatchChannel
from emulator import events as emulated_events
from emulator.server import EmulatorServer
from emulator.testing import control
from syncengine import dispatch
from syncengine.accounts import discover_calendars
from syncengine.tasks import schedule_background_syncs
from tests.googleside import OWNER_EMAIL, google_events, stored_events, timed
from tests.integration.conftest import Worker, wait_until
from webhooks.tasks import renew_channels_task

pytestmark = [
    pytest.mark.integration,
    pytest.mark.reliability,
    pytest.mark.django_db(transaction=True),
]

LIST = "calendar.events.list"
FAULT_SECONDS = 60
FAULT_RATE = 0.3
RETRY_LOG = re.compile(
    r"Google call failed, retrying: .* status=(\d+) .* delay=([\d.]+)"
)


def seeded_calendars(
    emulator: EmulatorServer, account: GoogleAccount, count: int, events: int
) -> list[Calendar]:
    seeded = control(
        emulator,
        "seed",
        {"email": OWNER_EMAIL, "calendars": count, "events_per_calendar": events},
    )
    discover_calendars(account)
    return list(account.calendars.filter(google_id__in=seeded["calendars"]))


def list_calls(emulator: EmulatorServer) -> int:
    return int(control(emulator, "stats", method="GET")["calls"].get(LIST, 0))


def versions(calendars: list[Calendar]) -> dict[int, int]:
    return dict(
        SyncState.objects.filter(calendar__in=calendars).values_list(
            "calendar_id", "version"
        )
    )


def synced_after(calendars: list[Calendar], before: dict[int, int]) -> bool:
    """Whether every calendar finished a sync run newer than ``before``."""
    finished = SyncState.objects.filter(
        calendar__in=calendars, state=SyncState.State.IDLE
    ).values_list("calendar_id", "version")
    newer = [pk for pk, version in finished if version > before[pk]]
    return len(newer) == len(calendars)


def sync_and_wait(calendars: list[Calendar], timeout: float) -> None:
    """Ask for a sync of each calendar and wait until a new run of each ended."""
    before = versions(calendars)
    for calendar in calendars:
        dispatch.request_sync(calendar.pk)
    wait_until(
        lambda: synced_after(calendars, before),
        timeout=timeout,
        what="a sync of every calendar to finish",
    )


def assert_mirrors_google(google: Resource, calendars: list[Calendar]) -> None:
    for calendar in calendars:
        assert stored_events(calendar) == google_events(google, calendar.google_id)


def edit_in_google(google: Resource, calendar: Calendar, step: int) -> None:
    """Add an event; on two steps in three, rename or delete it again."""
    created = (
        google.events()
        .insert(
            calendarId=calendar.google_id,
            body=timed(
                f"Change {step}", "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z"
            ),
        )
        .execute()
    )
    if step % 3 == 1:
        google.events().patch(
            calendarId=calendar.google_id,
            eventId=created["id"],
            body={"summary": f"Renamed {step}"},
        ).execute()
    elif step % 3 == 2:
        google.events().delete(
            calendarId=calendar.google_id, eventId=created["id"]
        ).execute()


def retries_logged(workers: list[Worker]) -> list[tuple[int, float]]:
    """Status and delay of every backed-off Google call the workers logged."""
    found = []
    for worker in workers:
        for match in RETRY_LOG.finditer(worker.log.read_text()):
            found.append((int(match[1]), float(match[2])))
    return found


def task_retries_logged(workers: list[Worker]) -> int:
    """Syncs that gave up on Google for now and were queued to run later."""
    return sum(
        worker.log.read_text().count("Sync will be retried") for worker in workers
    )


def test_a_minute_of_429_and_503_answers_converges_without_a_retry_storm(
    emulator: EmulatorServer,
    google: Resource,
    connected: GoogleAccount,
    worker_environment: dict[str, str],
    start_worker: Callable[[], Worker],
) -> None:
    # Tasks retried after 30 s must not be handed out again meanwhile.
    worker_environment["CELERY_VISIBILITY_TIMEOUT"] = "300"
    workers = [start_worker(), start_worker()]
    calendars = seeded_calendars(emulator, connected, count=5, events=200)
    sync_and_wait(calendars, timeout=60)
    control(emulator, "stats", method="DELETE")
    before = versions(calendars)

    # The second fault only sees calls the first let through, so each hits
    # 15% of all calls: 429 and 503 answer 30% of them together.
    rate_limited = FAULT_RATE / 2
    unavailable = rate_limited / (1 - rate_limited)
    for status, probability in ((429, rate_limited), (503, unavailable)):
        control(
            emulator,
            "faults",
            {
                "method": LIST,
                "status": status,
                "probability": probability,
                "duration_s": FAULT_SECONDS,
            },
        )
    requests = 0
    deadline = time.monotonic() + FAULT_SECONDS
    for step, calendar in enumerate(itertools.cycle(calendars)):
        if time.monotonic() > deadline:
            break
        edit_in_google(google, calendar, step)
        dispatch.request_sync(calendar.pk)
        requests += 1
        # Paced like notifications trickling in, not a benchmark.
        time.sleep(0.25)
    control(emulator, "faults", method="DELETE")

    # Backoff is bounded: once Google answers again, one more sync of each
    # calendar finishes promptly.
    sync_and_wait(calendars, timeout=60)
    calls = list_calls(emulator)
    after = versions(calendars)
    assert_mirrors_google(google, calendars)

    retries = retries_logged(workers)
    assert {status for status, _ in retries} == {429, 503}
    cap = float(worker_environment["GOOGLE_RETRY_CAP_SECONDS"])
    assert max(delay for _, delay in retries) <= cap
    # Without faults a sync round makes one call per page, these calendars
    # fit in one page, and requests for a calendar that is syncing fold
    # into fewer rounds. Failing 30% of calls costs about 1.4 calls a
    # round; a retry storm costs far more.
    rounds = sum(after[pk] - before[pk] for pk in before)
    requested = requests + len(calendars) + task_retries_logged(workers)
    assert len(calendars) < rounds <= requested
    assert calls <= 2 * rounds


def rename_in_google(
    emulator: EmulatorServer, calendar: Calendar, count: int
) -> list[str]:
    """Rename ``count`` single events at once, straight in Google's store."""
    store = emulator.store
    with store.lock:
        emulated = store.calendars[calendar.google_id]
        singles = [
            event.id
            for event in emulated.events.values()
            if not event.cancelled and event.series is None and not event.master_id
        ]
        for event_id in singles[:count]:
            emulated_events.patch_event(
                store, emulated, event_id, {"summary": "Renamed"}
            )
    return singles[:count]


def test_a_410_between_pages_of_an_incremental_sync_resyncs_in_full(
    emulator: EmulatorServer,
    google: Resource,
    connected: GoogleAccount,
    start_worker: Callable[[], Worker],
) -> None:
    start_worker()
    [calendar] = seeded_calendars(emulator, connected, count=1, events=4000)
    sync_and_wait([calendar], timeout=60)
    token_before = SyncState.objects.get(calendar=calendar).sync_token
    # More changes than one page holds, and deletions the second page would
    # have carried: only a full listing can reveal them now.
    renamed = rename_in_google(emulator, calendar, 3000)
    deleted = renamed[-5:]
    for event_id in deleted:
        request = google.events().delete(
            calendarId=calendar.google_id, eventId=event_id
        )
        request.execute()
    # Faults fire in the order they were added: the first page of the
    # incremental listing comes through, the second is answered 410.
    control(emulator, "faults", {"method": LIST, "latency_ms": 200, "count": 1})
    control(emulator, "faults", {"method": LIST, "status": 410, "count": 1})

    sync_and_wait([calendar], timeout=90)

    assert control(emulator, "faults", method="GET")["faults"] == []
    assert_mirrors_google(google, [calendar])
    stored = stored_events(calendar)
    assert not set(deleted) & set(stored)
    renamed_stored = [e for e in stored.values() if e.get("summary") == "Renamed"]
    assert len(renamed_stored) == len(renamed) - len(deleted)
    state = SyncState.objects.get(calendar=calendar)
    assert state.sync_token != token_before
    assert state.last_error == ""


def test_a_grant_revoked_mid_sync_flags_the_account_and_stops_calling_google(
    emulator: EmulatorServer,
    google: Resource,
    connected: GoogleAccount,
    start_worker: Callable[[], Worker],
) -> None:
    start_worker()
    [calendar] = seeded_calendars(emulator, connected, count=1, events=6000)
    control(emulator, "faults", {"method": LIST, "latency_ms": 1000, "count": 2})
    dispatch.request_sync(calendar.pk)
    wait_until(
        lambda: bool(stored_events(calendar)),
        timeout=60,
        what="the first page to be stored",
    )

    control(emulator, f"accounts/{OWNER_EMAIL}/revoke")
    wait_until(
        lambda: SyncState.objects.get(calendar=calendar).state == SyncState.State.ERROR,
        timeout=30,
        what="the sync to fail",
    )

    account = GoogleAccount.objects.get(pk=connected.pk)
    assert account.status == GoogleAccount.Status.NEEDS_REAUTH
    state = SyncState.objects.get(calendar=calendar)
    assert "Reconnect the account" in state.last_error
    assert state.lease_expires_at is None
    kept = stored_events(calendar)
    assert 0 < len(kept) < 6000

    calls_when_flagged = list_calls(emulator)
    version_when_flagged = state.version
    # Someone presses "Sync now": the worker takes it and calls nobody.
    dispatch.request_sync(calendar.pk)
    wait_until(
        lambda: SyncState.objects.filter(
            calendar=calendar,
            state=SyncState.State.ERROR,
            version__gt=version_when_flagged,
        ).exists(),
        timeout=30,
        what="the worker to take the sync asked for",
    )
    # The backstop leaves the account alone as well.
    assert schedule_background_syncs() == 0
    # Long enough for a retrying task to show up; none may.
    time.sleep(3)

    assert list_calls(emulator) == calls_when_flagged
    assert stored_events(calendar) == kept
    assert SyncState.objects.get(calendar=calendar).state == SyncState.State.ERROR


def live_channels_at_google(emulator: EmulatorServer) -> list[dict[str, Any]]:
    listed = control(emulator, "channels", method="GET")["channels"]
    return [channel for channel in listed if not channel["expired"]]


def test_a_calendar_whose_channel_expired_is_watched_again_after_the_next_sync(
    settings: Any,
    emulator: EmulatorServer,
    google: Resource,
    primary: Calendar,
    live_server: Any,
    worker_environment: dict[str, str],
    start_worker: Callable[[], Worker],
) -> None:
    settings.WEBHOOK_BASE_URL = live_server.url
    settings.BACKGROUND_SYNC_INTERVAL_SECONDS = 2
    worker_environment["WEBHOOK_BASE_URL"] = live_server.url
    # Expiring long before the hourly renewal comes round, as channels do
    # while beat is down.
    worker_environment["WEBHOOK_CHANNEL_TTL_SECONDS"] = "8"
    start_worker()
    sync_and_wait([primary], timeout=60)
    wait_until(
        lambda: len(live_channels_at_google(emulator)) == 1,
        timeout=30,
        what="the first channel",
    )
    expired = WatchChannel.objects.get(calendar=primary)
    wait_until(
        lambda: not live_channels_at_google(emulator),
        timeout=30,
        what="the channel to expire",
    )

    missed = insert_event(google, primary, "Missed by push")
    assert schedule_background_syncs() == 1
    wait_until(
        lambda: missed in stored_events(primary),
        timeout=30,
        what="the periodic sync to catch up",
    )
    wait_until(
        lambda: len(live_channels_at_google(emulator)) == 1,
        timeout=30,
        what="a new channel",
    )
    pushed = insert_event(google, primary, "Delivered by push")
    wait_until(
        lambda: pushed in stored_events(primary),
        timeout=30,
        what="the push to have a worker sync the change",
    )

    renew_channels_task.delay()
    wait_until(
        lambda: (
            WatchChannel.objects.get(pk=expired.pk).state == WatchChannel.State.STOPPED
        ),
        timeout=30,
        what="the beat to mark the expired channel stopped",
    )
    assert_mirrors_google(google, [primary])


def insert_event(google: Resource, calendar: Calendar, summary: str) -> str:
    body = timed(summary, "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z")
    created = google.events().insert(calendarId=calendar.google_id, body=body)
    return str(created.execute()["id"])
