from __future__ import annotations

from typing import Any

import pytest

from calendars.models import Calendar, WatchChannel
from syncengine import dispatch

# Nothing listens there: the emulator's own deliveries fail quietly, and
# tests send notifications themselves through the test client.
UNREACHABLE_RECEIVER = "http://127.0.0.1:9"


@pytest.fixture
def webhooks_on(settings: Any) -> str:
    settings.WEBHOOK_BASE_URL = UNREACHABLE_RECEIVER
    return UNREACHABLE_RECEIVER


@pytest.fixture
def watched(webhooks_on: str, primary: Calendar) -> WatchChannel:
    """The primary calendar after its first sync, with its channel."""
    dispatch.request_sync(primary.pk)
    dispatch.wait_for_embedded_tasks()
    channel = WatchChannel.objects.get(calendar=primary)
    assert channel.state == WatchChannel.State.ACTIVE
    return channel
