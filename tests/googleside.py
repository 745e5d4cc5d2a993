"""A running emulator and Chronos pointed at it, through settings alone.

Loaded as a pytest plugin by tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from googleapiclient.discovery import Resource

from calendars.models import Calendar, Event, GoogleAccount
from emulator.notify import Notifier
from emulator.server import EmulatorServer
from emulator.testing import calendar_service, control
from syncengine import dispatch
from syncengine.accounts import connect_account

OWNER_EMAIL = "owner@example.com"


@pytest.fixture
def emulator(settings: Any) -> Iterator[EmulatorServer]:
    server = EmulatorServer(notifier=Notifier(backoff_s=0.05, timeout_s=2))
    server.start()
    settings.GOOGLE_API_URL = server.url + "calendar/v3/"
    settings.GOOGLE_TOKEN_URL = server.url + "token"
    settings.GOOGLE_RETRY_BASE_SECONDS = 0.01
    settings.GOOGLE_RETRY_CAP_SECONDS = 0.05
    try:
        yield server
        # Background syncs end against this emulator and these settings;
        # left running, they would retry with production's backoff and keep
        # the next test's embedded pool busy.
        dispatch.wait_for_embedded_tasks()
    finally:
        server.stop()


@pytest.fixture
def google_grant(emulator: EmulatorServer) -> str:
    return str(control(emulator, "accounts", {"email": OWNER_EMAIL})["refresh_token"])


@pytest.fixture
def google(emulator: EmulatorServer, google_grant: str) -> Resource:
    """The owner's Google account, as another Google client would edit it."""
    return calendar_service(emulator, google_grant)


@pytest.fixture
def connected(owner: User, google_grant: str) -> GoogleAccount:
    return connect_account(owner, google_grant)


@pytest.fixture
def primary(connected: GoogleAccount) -> Calendar:
    return connected.calendars.get(primary=True)


def stored_events(calendar: Calendar) -> dict[str, dict[str, Any]]:
    return {
        event.google_id: event.resource
        for event in Event.objects.filter(calendar=calendar)
    }


def google_events(service: Resource, calendar_id: str) -> dict[str, dict[str, Any]]:
    """What a fresh full listing from Google holds for the calendar."""
    items: dict[str, dict[str, Any]] = {}
    page_token = None
    while True:
        page = (
            service.events()
            .list(
                calendarId=calendar_id,
                singleEvents=False,
                maxResults=2500,
                pageToken=page_token,
            )
            .execute()
        )
        items.update((item["id"], item) for item in page["items"])
        page_token = page.get("nextPageToken")
        if not page_token:
            return items


def timed(summary: str, start: str, end: str, **extra: Any) -> dict[str, Any]:
    return {
        "summary": summary,
        "start": {"dateTime": start, "timeZone": "Europe/Berlin"},
        "end": {"dateTime": end, "timeZone": "Europe/Berlin"},
        **extra,
    }
