from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from calendars.models import Calendar, WatchChannel
from emulator.server import EmulatorServer
from syncengine import dispatch
from tests.webhooks.support import reset_calls

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


@pytest.fixture
def channel(primary: Calendar, emulator: EmulatorServer) -> WatchChannel:
    """An active channel on the primary calendar, counted from zero calls."""
    reset_calls(emulator)
    return WatchChannel.objects.create(
        calendar=primary,
        channel_id=str(uuid.uuid4()),
        resource_id="resource-of-primary",
        token="channel-secret-token",
        state=WatchChannel.State.ACTIVE,
        expires_at=timezone.now() + timedelta(days=7),
    )
