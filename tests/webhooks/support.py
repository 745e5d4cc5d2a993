"""Sending notifications the way Google does, and reading what followed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.test import Client
from django.urls import reverse

from calendars.models import WatchChannel
from emulator.server import EmulatorServer
from emulator.testing import control
from syncengine import dispatch
from webhooks import channels


def notify(
    client: Client,
    channel: WatchChannel,
    state: str = "exists",
    **headers: str | None,
) -> Any:
    """POST what Google sends for the channel; keyword headers override.

    ``X_Goog_Channel_Token=None`` leaves that header out.
    """
    sent = notification_headers(channel, state, **headers)
    return client.post(reverse("calendar-webhook"), headers=sent)


def notification_headers(
    channel: WatchChannel, state: str = "exists", **headers: str | None
) -> dict[str, str]:
    """The headers Google sends for the channel, as ``notify`` takes them."""
    sent: dict[str, str | None] = {
        "X-Goog-Channel-ID": channel.channel_id,
        "X-Goog-Channel-Token": channel.token,
        "X-Goog-Channel-Expiration": "Tue, 08 Dec 2026 10:00:00 GMT",
        "X-Goog-Resource-ID": channel.resource_id,
        "X-Goog-Resource-URI": "https://www.googleapis.com/calendar/v3/x/events",
        "X-Goog-Resource-State": state,
        "X-Goog-Message-Number": "2",
    }
    for name, value in headers.items():
        sent[name.replace("_", "-")] = value
    return {name: value for name, value in sent.items() if value is not None}


def api_calls(emulator: EmulatorServer, method: str) -> int:
    """Calls of one API method Google saw, once background tasks are done."""
    dispatch.wait_for_embedded_tasks()
    calls = control(emulator, "stats", method="GET")["calls"]
    return int(calls.get(method, 0))


def reset_calls(emulator: EmulatorServer) -> None:
    dispatch.wait_for_embedded_tasks()
    control(emulator, "stats", method="DELETE")


def google_channels(emulator: EmulatorServer) -> dict[str, dict[str, Any]]:
    listed = control(emulator, "channels", method="GET")["channels"]
    return {channel["id"]: channel for channel in listed}


def renew_before_expiry(channel: WatchChannel) -> list[WatchChannel]:
    """Renew as the hourly beat would, an hour before the channel expires."""
    assert channel.expires_at is not None
    return channels.renew_channels(now=channel.expires_at - timedelta(hours=1))
