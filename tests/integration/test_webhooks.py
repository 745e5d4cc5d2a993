"""Channels and notifications with PostgreSQL row locks and real workers."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from googleapiclient.discovery import Resource

from calendars.models import Calendar, WatchChannel
from emulator.server import EmulatorServer
from emulator.testing import control
from tests.googleside import stored_events, timed
from tests.integration.conftest import wait_until
from tests.webhooks.support import google_channels, notify
from webhooks import channels

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def watched(settings: Any, primary: Calendar) -> WatchChannel:
    settings.WEBHOOK_BASE_URL = "http://127.0.0.1:9"
    channel = channels.ensure_channel(primary.pk)
    assert channel is not None
    return channel


def test_two_renewals_at_once_make_one_new_channel(
    watched: WatchChannel, emulator: EmulatorServer
) -> None:
    # Due for renewal now, on the real clock: renewing with a clock moved a
    # week ahead would make each renewal's tidy-up take the others' fresh
    # channels for abandoned ones.
    WatchChannel.objects.filter(pk=watched.pk).update(
        expires_at=timezone.now() + timedelta(hours=1)
    )
    control(
        emulator,
        "faults",
        {"method": "calendar.events.watch", "latency_ms": 300, "count": 4},
    )
    start = threading.Barrier(4)
    results: list[int] = []

    def beat() -> None:
        start.wait()
        results.append(len(channels.renew_channels()))

    beats = [threading.Thread(target=beat) for _ in range(4)]
    for thread in beats:
        thread.start()
    for thread in beats:
        thread.join()

    assert sorted(results) == [0, 0, 0, 1]
    assert WatchChannel.objects.count() == 2
    assert len(google_channels(emulator)) == 1


def test_a_notification_has_a_worker_sync_the_calendar(
    client: Client,
    watched: WatchChannel,
    google: Resource,
    start_worker: Callable[[], Any],
) -> None:
    start_worker()
    body = timed("Pushed", "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z")
    created = google.events().insert(calendarId="primary", body=body).execute()

    response = notify(client, watched)

    assert response.status_code == 200
    wait_until(
        lambda: created["id"] in stored_events(watched.calendar),
        timeout=30,
        what="the worker to store the event",
    )
