"""Redis restarted under load: workers resume, live streams lose nothing.

A private redis-server carries the task queue and pub/sub of one worker and
one web server. It is killed while live streams are open and a
sync runs, then started again, empty, on the same port.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from functools import partial
from typing import Any

import httpx
import pytest
from django.contrib.auth.models import User
from googleapiclient.discovery import Resource

from calendars.models import Calendar, GoogleAccount, SyncState, WatchChannel
from emulator.server import EmulatorServer
from emulator.testing import control
from syncengine.accounts import discover_calendars
from tests.conftest import token_for
from tests.googleside import OWNER_EMAIL, google_events, stored_events, timed
from tests.integration.conftest import (
    RedisServer,
    WebServer,
    Worker,
    wait_until,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.reliability,
    pytest.mark.django_db(transaction=True),
]

LIST = "calendar.events.list"
# Events by id, by calendar: what a page shows.
Mirror = dict[int, dict[str, dict[str, Any]]]


class EventSource:
    """Reads the live stream the way a browser's EventSource does.

    It keeps the page's ``?after=`` and, when the connection drops,
    connects again with the id of the last event it saw as
    ``Last-Event-ID``. ``batches`` holds the data of every ``events``
    message in the order received.
    """

    def __init__(self, web: WebServer, token: str) -> None:
        self.url = web.url + "/api/stream?after=0"
        self.token = token
        self.last_event_id: str | None = None
        self.ids: list[int] = []
        self.batches: list[dict[str, Any]] = []
        self.subscriptions = 0
        self._online = threading.Event()
        self._online.set()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def drop(self) -> None:
        """Lose the connection and stay offline until ``reconnect``."""
        self._online.clear()

    def reconnect(self) -> None:
        self._online.set()

    def close(self) -> None:
        self._closed.set()
        self._online.set()
        self._thread.join(timeout=15)

    def view(self, calendar_ids: list[int]) -> dict[int, dict[str, dict[str, Any]]]:
        """Each calendar's events, as a page applying the batches holds them."""
        calendars: dict[int, dict[str, dict[str, Any]]] = {
            pk: {} for pk in calendar_ids
        }
        for batch in list(self.batches):
            events = calendars.setdefault(batch["calendar_id"], {})
            for event in batch["events"]:
                removed = event.get("status") == "cancelled"
                if removed and not event.get("recurringEventId"):
                    events.pop(event["id"], None)
                else:
                    events[event["id"]] = event
        return calendars

    def _run(self) -> None:
        while not self._closed.is_set():
            self._online.wait()
            try:
                self._listen()
            except httpx.HTTPError:
                pass
            # A browser waits the stream's retry delay; a shorter one will do.
            self._closed.wait(0.3)

    def _listen(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        if self.last_event_id is not None:
            headers["Last-Event-ID"] = self.last_event_id
        with httpx.stream("GET", self.url, headers=headers, timeout=10) as response:
            response.raise_for_status()
            frame: list[str] = []
            # Keep-alive comments arrive every second, so a drop is noticed.
            for line in response.iter_lines():
                if self._closed.is_set() or not self._online.is_set():
                    return
                if line:
                    frame.append(line)
                    continue
                self._dispatch(frame)
                frame = []

    def _dispatch(self, frame: list[str]) -> None:
        fields: dict[str, str] = {}
        for line in frame:
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
        if "retry" in fields:
            self.subscriptions += 1
        if fields.get("event") != "events":
            return
        self.ids.append(int(fields["id"]))
        self.last_event_id = fields["id"]
        self.batches.append(json.loads(fields["data"]))


@pytest.fixture
def services(
    private_redis: RedisServer,
    worker_environment: dict[str, str],
    web_environment: dict[str, str],
    start_web: Any,
    start_worker: Any,
) -> tuple[WebServer, Worker]:
    """The web server and a worker on the private Redis, Google pushing to it."""
    for environment in (worker_environment, web_environment):
        environment["REDIS_URL"] = private_redis.url
    web = start_web()
    worker_environment["WEBHOOK_BASE_URL"] = web.url
    return web, start_worker()


@pytest.fixture
def calendars(emulator: EmulatorServer, connected: GoogleAccount) -> list[Calendar]:
    control(
        emulator,
        "seed",
        {"email": OWNER_EMAIL, "calendars": 1, "events_per_calendar": 300},
    )
    return [calendar for calendar in discover_calendars(connected) if calendar.selected]


@pytest.fixture
def streams(
    services: tuple[WebServer, Worker], owner: User
) -> Iterator[list[EventSource]]:
    web, _ = services
    opened = [EventSource(web, token_for(owner)) for _ in range(2)]
    try:
        wait_until(
            lambda: all(stream.subscriptions == 1 for stream in opened),
            timeout=30,
            what="both live streams to subscribe",
        )
        yield opened
    finally:
        for stream in opened:
            stream.close()


def sync_now(web: WebServer, owner: User, calendars: list[Calendar]) -> None:
    """Press "Sync now": stream a sync of the calendars to its end."""
    ids = ",".join(str(calendar.pk) for calendar in calendars)
    headers = {"Authorization": f"Bearer {token_for(owner)}"}
    url = f"{web.url}/api/calendar/sync?calendar_ids={ids}"
    with httpx.stream("GET", url, headers=headers, timeout=60) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line == "event: complete":
                return
    raise AssertionError("the sync stream ended without completing")


def state_of(calendar: Calendar) -> str:
    return SyncState.objects.get(calendar=calendar).state


def add_event(google: Resource, calendar: Calendar, summary: str) -> str:
    """Add an event in Google, which pushes the change to Chronos."""
    body = timed(summary, "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z")
    created = google.events().insert(calendarId=calendar.google_id, body=body)
    return str(created.execute()["id"])


def shows(stream: EventSource, stored: Mirror) -> bool:
    return stream.view(list(stored)) == stored


def test_a_redis_restart_loses_no_change_for_workers_or_live_streams(
    emulator: EmulatorServer,
    google: Resource,
    owner: User,
    calendars: list[Calendar],
    private_redis: RedisServer,
    services: tuple[WebServer, Worker],
    streams: list[EventSource],
) -> None:
    web, _ = services
    steady, dropped = streams
    sync_now(web, owner, calendars)
    wait_until(
        lambda: (
            WatchChannel.objects.filter(state=WatchChannel.State.ACTIVE).count()
            == len(calendars)
        ),
        timeout=30,
        what="every calendar to be watched",
    )
    watched = next(calendar for calendar in calendars if not calendar.primary)

    # The sync this change starts is slowed down, so Redis dies under it.
    control(emulator, "faults", {"method": LIST, "latency_ms": 3000, "count": 1})
    add_event(google, watched, "Before the restart")
    wait_until(
        lambda: state_of(watched) == SyncState.State.RUNNING,
        timeout=30,
        what="the pushed change to start a sync",
    )
    private_redis.kill()
    dropped.drop()
    add_event(google, watched, "During the outage")
    wait_until(
        lambda: state_of(watched) == SyncState.State.IDLE,
        timeout=30,
        what="the running sync to finish without Redis",
    )

    private_redis.start()
    dropped.reconnect()
    last = add_event(google, watched, "After the restart")
    wait_until(
        lambda: last in stored_events(watched),
        timeout=60,
        what="the worker to take a sync from the restarted Redis",
    )
    wait_until(
        lambda: state_of(watched) == SyncState.State.IDLE,
        timeout=30,
        what="the last sync to finish",
    )

    stored = {calendar.pk: stored_events(calendar) for calendar in calendars}
    assert stored[watched.pk] == google_events(google, watched.google_id)
    for stream in (steady, dropped):
        holds_everything = partial(shows, stream, stored)
        wait_until(holds_everything, timeout=30, what="the stream to catch up")
        assert stream.ids == sorted(set(stream.ids))
    assert dropped.subscriptions == 2
