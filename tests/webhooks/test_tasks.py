"""The Celery side: the hourly beat, and failures left for a later try."""

from __future__ import annotations

from typing import Any

import pytest

from calendars.models import Calendar, WatchChannel
from chronos.celery import app
from emulator.server import EmulatorServer
from emulator.testing import control
from syncengine.google import RetryableGoogleError
from webhooks import channels, tasks

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_beat_renews_channels_every_hour(settings: Any) -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["renew-watch-channels"]

    assert entry["schedule"] == 3600
    assert entry["task"] in app.tasks


def test_a_watch_google_could_not_answer_leaves_nothing_behind(
    webhooks_on: str, primary: Calendar, emulator: EmulatorServer
) -> None:
    fault = {"method": "calendar.events.watch", "status": 503, "count": 5}
    control(emulator, "faults", fault)

    with pytest.raises(RetryableGoogleError):
        channels.ensure_channel(primary.pk)

    assert not WatchChannel.objects.exists()
    assert channels.needs_channel(primary.pk)


def test_a_deselected_calendar_has_its_channels_stopped_by_a_task(
    watched: WatchChannel, emulator: EmulatorServer
) -> None:
    Calendar.objects.update(selected=False)

    assert tasks.stop_channels_task(watched.calendar_id) == 1
    assert not channels.needs_channel(watched.calendar_id)
    assert tasks.stop_channels_task(watched.calendar_id) == 0


def test_disconnecting_by_task_deletes_the_account(watched: WatchChannel) -> None:
    tasks.disconnect_account_task(watched.calendar.account_id)
    tasks.disconnect_account_task(watched.calendar.account_id)

    assert not WatchChannel.objects.exists()
