"""The push receiver under attack: forged, replayed, oversized and
misdirected notifications get the right answer and never ask for a sync."""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from googleapiclient.discovery import Resource

from calendars.models import Calendar, SyncState, WatchChannel
from syncengine import dispatch
from syncengine.tasks import sync_calendar_task
from tests.conftest import make_account, make_calendar
from tests.googleside import timed
from tests.webhooks.support import notification_headers

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]

HUGE = 1024 * 1024


# Tasks handed to the queue: each one's name and arguments.
Enqueued = list[tuple[Any, ...]]


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> Enqueued:
    """Every task handed to the queue from now on; none of them runs."""
    calls: Enqueued = []

    def record(task: Any, *args: Any, countdown: float | None = None) -> None:
        # The calendar, whether its sync starts at once or after a pause.
        calls.append((task.name, args[0]))

    monkeypatch.setattr(dispatch, "enqueue", record)
    return calls


def make_channel(calendar: Calendar, token: str, **fields: Any) -> WatchChannel:
    fields.setdefault("state", WatchChannel.State.ACTIVE)
    return WatchChannel.objects.create(
        calendar=calendar,
        channel_id=str(uuid.uuid4()),
        resource_id=f"resource-{token}",
        token=token,
        expires_at=timezone.now() + timedelta(days=7),
        **fields,
    )


@pytest.fixture
def channel(owner: User) -> WatchChannel:
    return make_channel(make_calendar(make_account(owner)), "owner-channel-token")


@pytest.fixture
def outsider_channel(outsider: User) -> WatchChannel:
    return make_channel(make_calendar(make_account(outsider)), "outsider-token")


def deliver(client: Client, headers: dict[str, str], method: str = "post") -> Any:
    return getattr(client, method)(reverse("calendar-webhook"), headers=headers)


def nothing_asked_for(enqueued: Enqueued, calendar: Calendar) -> bool:
    state = SyncState.objects.get(calendar=calendar).state
    return not enqueued and state == SyncState.State.IDLE


def test_a_genuine_notification_asks_for_one_sync(
    client: Client, channel: WatchChannel, enqueued: Enqueued
) -> None:
    response = deliver(client, notification_headers(channel))

    assert response.status_code == 200
    assert enqueued == [(sync_calendar_task.name, channel.calendar_id)]


def test_another_channels_token_and_resource_are_refused(
    client: Client,
    channel: WatchChannel,
    outsider_channel: WatchChannel,
    enqueued: Enqueued,
) -> None:
    forged = {
        **notification_headers(outsider_channel),
        "X-Goog-Channel-ID": channel.channel_id,
    }

    response = deliver(client, forged)

    assert response.status_code == 401
    assert nothing_asked_for(enqueued, channel.calendar)
    assert nothing_asked_for(enqueued, outsider_channel.calendar)


@pytest.mark.parametrize(
    "token",
    [
        "OWNER-CHANNEL-TOKEN",
        " owner-channel-token",
        "owner-channel-token ",
        "owner-channel-toke",
        "owner-channel-token" * 2,
    ],
)
def test_a_token_that_only_resembles_the_channels_is_refused(
    client: Client, channel: WatchChannel, enqueued: Enqueued, token: str
) -> None:
    forged = {**notification_headers(channel), "X-Goog-Channel-Token": token}

    response = deliver(client, forged)

    assert response.status_code == 401
    assert nothing_asked_for(enqueued, channel.calendar)


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete", "options"])
def test_a_genuine_notification_sent_with_another_method_is_refused(
    client: Client, channel: WatchChannel, enqueued: Enqueued, method: str
) -> None:
    response = deliver(client, notification_headers(channel), method)

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert nothing_asked_for(enqueued, channel.calendar)


def test_a_head_request_is_refused_without_a_body(
    client: Client, channel: WatchChannel, enqueued: Enqueued
) -> None:
    response = deliver(client, notification_headers(channel), "head")

    assert response.status_code == 405
    assert response.content == b""
    assert nothing_asked_for(enqueued, channel.calendar)


def test_a_huge_channel_id_is_ignored_and_kept_out_of_the_log(
    client: Client,
    channel: WatchChannel,
    enqueued: Enqueued,
    caplog: pytest.LogCaptureFixture,
) -> None:
    oversized = channel.channel_id + "x" * HUGE
    headers = {**notification_headers(channel), "X-Goog-Channel-ID": oversized}

    with caplog.at_level(logging.INFO, logger="webhooks.views"):
        response = deliver(client, headers)

    assert response.status_code == 200
    assert response.json() == {}
    assert nothing_asked_for(enqueued, channel.calendar)
    assert all(len(record.getMessage()) < 200 for record in caplog.records)


@pytest.mark.parametrize("header", ["X-Goog-Channel-Token", "X-Goog-Resource-ID"])
def test_a_huge_token_or_resource_id_is_refused(
    client: Client,
    channel: WatchChannel,
    enqueued: Enqueued,
    caplog: pytest.LogCaptureFixture,
    header: str,
) -> None:
    genuine = notification_headers(channel)
    headers = {**genuine, header: genuine[header] + "x" * HUGE}

    with caplog.at_level(logging.INFO, logger="webhooks.views"):
        response = deliver(client, headers)

    assert response.status_code == 401
    assert nothing_asked_for(enqueued, channel.calendar)
    assert all(len(record.getMessage()) < 200 for record in caplog.records)


def test_many_huge_unknown_headers_change_nothing(
    client: Client, channel: WatchChannel, enqueued: Enqueued
) -> None:
    padding = {f"X-Padding-{index}": "y" * 64 * 1024 for index in range(32)}

    forged = deliver(
        client,
        {**notification_headers(channel), **padding, "X-Goog-Channel-Token": "no"},
    )
    genuine = deliver(client, {**notification_headers(channel), **padding})

    assert (forged.status_code, genuine.status_code) == (401, 200)
    assert enqueued == [(sync_calendar_task.name, channel.calendar_id)]


# Replaying what Google really sent, after the channel was stopped


class Recorder(BaseHTTPRequestHandler):
    """Keeps Google's headers of every notification the emulator delivers."""

    received: queue.Queue[dict[str, str]]

    def do_POST(self) -> None:  # noqa: N802 - the http.server interface
        self.received.put(
            {
                name: value
                for name, value in self.headers.items()
                if name.lower().startswith("x-goog-")
            }
        )
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def google_deliveries(settings: Any) -> Iterator[queue.Queue[dict[str, str]]]:
    """Where the emulator sends notifications: recorded, not answered."""
    received: queue.Queue[dict[str, str]] = queue.Queue()
    handler = type("Recording", (Recorder,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.WEBHOOK_BASE_URL = f"http://127.0.0.1:{server.server_port}"
    try:
        yield received
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def next_change(deliveries: queue.Queue[dict[str, str]]) -> dict[str, str]:
    while True:
        headers = deliveries.get(timeout=10)
        if headers["X-Goog-Resource-State"] == "exists":
            return headers


@pytest.fixture
def watched(
    google_deliveries: queue.Queue[dict[str, str]], primary: Calendar
) -> WatchChannel:
    dispatch.request_sync(primary.pk)
    dispatch.wait_for_embedded_tasks()
    return WatchChannel.objects.get(calendar=primary)


@pytest.fixture
def captured(
    google: Resource,
    watched: WatchChannel,
    google_deliveries: queue.Queue[dict[str, str]],
) -> dict[str, str]:
    """A change notification exactly as Google delivered it."""
    body = timed("Dentist", "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z")
    google.events().insert(calendarId=watched.calendar.google_id, body=body).execute()
    return next_change(google_deliveries)


def test_a_notification_replayed_after_its_calendar_was_hidden_asks_for_nothing(
    client: Client,
    owner_client: Client,
    watched: WatchChannel,
    captured: dict[str, str],
    enqueued: Enqueued,
) -> None:
    first = deliver(client, captured)
    owner_client.post(f"/calendars/{watched.calendar_id}/selected", {})
    replayed = deliver(client, captured)

    assert (first.status_code, replayed.status_code) == (200, 200)
    assert replayed.json() == {}
    assert enqueued == [(sync_calendar_task.name, watched.calendar_id)]
    watched.refresh_from_db()
    assert watched.state == WatchChannel.State.STOPPED


def test_a_notification_replayed_after_the_account_left_asks_for_nothing(
    client: Client,
    owner_client: Client,
    watched: WatchChannel,
    captured: dict[str, str],
    enqueued: Enqueued,
) -> None:
    owner_client.post(f"/accounts/google/{watched.calendar.account_id}/disconnect")

    replayed = deliver(client, captured)

    assert replayed.status_code == 200
    assert replayed.json() == {}
    assert enqueued == []
    assert not WatchChannel.objects.exists()
