"""A worker whose PostgreSQL connection is terminated mid-sync recovers.

The backend serving the worker is ended with ``pg_terminate_backend``, as a
database failover or an operator would. The task must retry, the calendar
must end up exactly as Google has it, and the claim of the failed run must
not keep the calendar from syncing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection

from calendars.models import Calendar, Event, SyncState
from emulator.server import EmulatorServer
from emulator.testing import control
from syncengine import dispatch
from syncengine.accounts import discover_calendars
from tests.googleside import OWNER_EMAIL, google_events, stored_events
from tests.integration.conftest import Worker, wait_until

pytestmark = [
    pytest.mark.integration,
    pytest.mark.reliability,
    pytest.mark.django_db(transaction=True),
]

EVENTS = 6000
LIST = "calendar.events.list"
# The task retries a lost database connection after 30 s; allow for it and
# for a slow, shared machine.
CONVERGED_WITHIN = 120


@pytest.fixture
def big_calendar(emulator: EmulatorServer, connected: Any) -> Calendar:
    """A calendar of three pages, never synced."""
    seeded = control(
        emulator,
        "seed",
        {"email": OWNER_EMAIL, "calendars": 1, "events_per_calendar": EVENTS},
    )
    discover_calendars(connected)
    calendar: Calendar = connected.calendars.get(google_id=seeded["calendars"][0])
    return calendar


@pytest.fixture
def worker(
    worker_environment: dict[str, str], start_worker: Callable[[], Worker]
) -> Worker:
    # Longer than the task's 30 s retry, as in production: a claim left
    # behind by the failed run would still be held when the retry comes.
    worker_environment["SYNC_LEASE_SECONDS"] = "60"
    # Nobody is killed here; a short visibility timeout would only hand the
    # retry, which waits 30 s, to the worker again and again.
    worker_environment["CELERY_VISIBILITY_TIMEOUT"] = "120"
    return start_worker()


def worker_backends(**conditions: str) -> list[int]:
    """Backend pids of the worker's database connections."""
    where = " ".join(f"AND {column} = %s" for column in conditions)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity "
            f"WHERE application_name = 'chronos-worker' {where}",
            list(conditions.values()),
        )
        return [row[0] for row in cursor.fetchall()]


def terminate(pids: list[int]) -> None:
    with connection.cursor() as cursor:
        for pid in pids:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])


@contextmanager
def change_counter_held() -> Iterator[None]:
    """Hold the change counter's row lock from another connection.

    A worker storing a page then waits for it inside its transaction, with
    its rows copied and not yet written: the middle of a page.
    """
    holder = connection.copy()
    holder.connect()
    holder.set_autocommit(False)
    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT value FROM calendars_changecounter FOR UPDATE")
        yield
    finally:
        holder.rollback()
        holder.close()


def list_calls(emulator: EmulatorServer) -> int:
    return int(control(emulator, "stats", method="GET")["calls"].get(LIST, 0))


def assert_converged(calendar: Calendar, google: Any) -> None:
    wait_until(
        lambda: SyncState.objects.get(calendar=calendar).state == SyncState.State.IDLE,
        timeout=CONVERGED_WITHIN,
        what="the retried sync to finish",
    )
    expected = google_events(google, calendar.google_id)
    stored = stored_events(calendar)
    assert Event.objects.filter(calendar=calendar).count() == len(expected)
    assert stored == expected

    state = SyncState.objects.get(calendar=calendar)
    assert state.lease_expires_at is None
    assert state.sync_token
    assert state.last_error == ""


def assert_released_at_once(calendar: Calendar) -> None:
    """The failed run gives the calendar up itself, well before its lease
    would run out, and says what happened."""
    wait_until(
        lambda: SyncState.objects.get(calendar=calendar).state == SyncState.State.ERROR,
        timeout=20,
        what="the failed run to record its failure",
    )
    state = SyncState.objects.get(calendar=calendar)
    assert state.lease_expires_at is None
    assert state.last_error


def first_page_stored(calendar: Calendar) -> None:
    wait_until(
        lambda: Event.objects.filter(calendar=calendar).exists(),
        timeout=60,
        what="the first page to be stored",
    )


def test_a_backend_terminated_while_storing_a_page_is_retried_to_convergence(
    emulator: EmulatorServer, google: Any, big_calendar: Calendar, worker: Worker
) -> None:
    # Slow pages leave time to take the lock before the second is stored.
    control(emulator, "faults", {"method": LIST, "latency_ms": 1000, "count": 2})
    dispatch.request_sync(big_calendar.pk)
    first_page_stored(big_calendar)

    with change_counter_held():
        wait_until(
            lambda: bool(worker_backends(wait_event_type="Lock")),
            timeout=60,
            what="the worker to wait inside its page transaction",
        )
        terminate(worker_backends(wait_event_type="Lock"))

    assert_released_at_once(big_calendar)
    assert_converged(big_calendar, google)


def test_a_backend_terminated_during_a_failing_google_call_releases_the_calendar(
    emulator: EmulatorServer, google: Any, big_calendar: Calendar, worker: Worker
) -> None:
    # The second page is answered slowly, then with 503: the worker sits
    # idle on its connection meanwhile and uses it again before backing off.
    control(emulator, "faults", {"method": LIST, "latency_ms": 500, "count": 1})
    control(
        emulator,
        "faults",
        {"method": LIST, "status": 503, "latency_ms": 2000, "count": 1},
    )
    dispatch.request_sync(big_calendar.pk)
    wait_until(
        lambda: list_calls(emulator) >= 2,
        timeout=60,
        what="the worker to ask for the second page",
    )
    terminate(worker_backends())

    assert_released_at_once(big_calendar)
    assert_converged(big_calendar, google)
