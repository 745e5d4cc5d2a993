"""Google's notifications, really delivered over HTTP, keep events current."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from googleapiclient.discovery import Resource

from calendars.models import Calendar, WatchChannel
from emulator.server import EmulatorServer
from syncengine import dispatch
from tests.googleside import stored_events, timed
from tests.webhooks.support import google_channels

pytestmark = pytest.mark.django_db(transaction=True)


def eventually(condition: Callable[[], bool], what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def test_a_change_in_google_reaches_the_database_through_a_notification(
    live_server: Any,
    settings: Any,
    primary: Calendar,
    google: Resource,
    emulator: EmulatorServer,
) -> None:
    settings.WEBHOOK_BASE_URL = live_server.url
    dispatch.request_sync(primary.pk)
    dispatch.wait_for_embedded_tasks()
    channel = WatchChannel.objects.get(calendar=primary)
    eventually(
        lambda: google_channels(emulator)[channel.channel_id]["delivered"] == 1,
        "the sync message to be accepted",
    )

    body = timed("Pushed", "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z")
    created = google.events().insert(calendarId=primary.google_id, body=body).execute()

    eventually(lambda: created["id"] in stored_events(primary), "the event stored")
    assert google_channels(emulator)[channel.channel_id]["failed"] == 0
