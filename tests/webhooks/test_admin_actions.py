"""Operators renew, stop and resync from the channel list in the admin."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from calendars.models import SyncState, WatchChannel
from emulator.server import EmulatorServer
from emulator.testing import control
from syncengine import dispatch
from tests.webhooks.support import api_calls, google_channels, reset_calls

pytestmark = pytest.mark.django_db(transaction=True)

CHANGELIST = "admin:calendars_watchchannel_changelist"


def run_action(client: Client, action: str, *channels: WatchChannel) -> Any:
    return client.post(
        reverse(CHANGELIST),
        {"action": action, "_selected_action": [c.pk for c in channels]},
        follow=True,
    )


def shown(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_renew_now_replaces_the_channel_at_once(
    operator_client: Client, watched: WatchChannel, emulator: EmulatorServer
) -> None:
    response = run_action(operator_client, "renew_now", watched)

    watched.refresh_from_db()
    assert shown(response) == ["Renewed 1 of 1 channels."]
    assert watched.state == WatchChannel.State.STOPPED
    assert watched.replaced_by is not None
    assert set(google_channels(emulator)) == {watched.replaced_by.channel_id}


def test_renew_now_reports_what_google_refused(
    operator_client: Client, watched: WatchChannel, emulator: EmulatorServer
) -> None:
    fault = {"method": "calendar.events.watch", "status": 403, "reason": "forbidden"}
    control(emulator, "faults", fault)

    response = run_action(operator_client, "renew_now", watched)

    assert shown(response) == [
        "Renewed 0 of 1 channels.",
        "Google refused 1 renewals; see the worker log.",
    ]
    watched.refresh_from_db()
    assert watched.state == WatchChannel.State.ACTIVE


def test_stop_ends_the_channel_at_google(
    operator_client: Client, watched: WatchChannel, emulator: EmulatorServer
) -> None:
    response = run_action(operator_client, "stop", watched)

    watched.refresh_from_db()
    assert shown(response) == ["Stopped 1 channels."]
    assert watched.state == WatchChannel.State.STOPPED
    assert google_channels(emulator) == {}


def test_full_resync_syncs_the_calendar_from_scratch(
    operator_client: Client, watched: WatchChannel, emulator: EmulatorServer
) -> None:
    reset_calls(emulator)

    response = run_action(operator_client, "full_resync", watched)

    assert shown(response) == ["Full resync requested for 1 calendars."]
    assert api_calls(emulator, "calendar.events.list") == 1
    state = SyncState.objects.get(calendar=watched.calendar)
    assert state.full_sync_requested is False
    assert state.version == 2


def test_full_resync_says_when_the_queue_is_down(
    operator_client: Client,
    watched: WatchChannel,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broker_down(*args: Any, **kwargs: Any) -> None:
        raise dispatch.QueueUnavailable("ConnectionError")

    monkeypatch.setattr(dispatch, "enqueue", broker_down)

    response = run_action(operator_client, "full_resync", watched)

    assert shown(response) == [
        "The task queue is unavailable; start Redis and try again."
    ]


def test_the_channel_list_shows_state_and_expiry_but_no_token(
    operator_client: Client, watched: WatchChannel
) -> None:
    response = operator_client.get(reverse(CHANGELIST))

    assert "Expires at" in response.text
    assert "Active" in response.text
    assert watched.token not in response.text
