"""Calendars filled with events in Google's shape, stored as a sync would."""

from __future__ import annotations

from typing import Any

import pytest

from calendars.models import Calendar, Event, UserProfile
from syncengine.store import event_row

# A Monday in winter: Berlin is an hour ahead of UTC all week.
WEEK = "2026-03-02"


def store(calendar: Calendar, resource: dict[str, Any]) -> Event:
    resource = {"kind": "calendar#event", "status": "confirmed", **resource}
    return Event.objects.create(calendar=calendar, **event_row(resource))


def timed_event(
    event_id: str, summary: str, start: str, end: str, **extra: Any
) -> dict[str, Any]:
    return {
        "id": event_id,
        "summary": summary,
        "start": {"dateTime": start, "timeZone": "Europe/Berlin"},
        "end": {"dateTime": end, "timeZone": "Europe/Berlin"},
        **extra,
    }


def all_day_event(
    event_id: str, summary: str, start: str, end: str, **extra: Any
) -> dict[str, Any]:
    return {
        "id": event_id,
        "summary": summary,
        "start": {"date": start},
        "end": {"date": end},
        **extra,
    }


@pytest.fixture
def berlin_owner(owner: Any) -> Any:
    UserProfile.objects.create(user=owner, time_zone="Europe/Berlin")
    return owner


@pytest.fixture
def standup(owner_calendar: Calendar) -> Event:
    """Mondays and Wednesdays at 09:00 in Berlin, since January."""
    return store(
        owner_calendar,
        timed_event(
            "standup",
            "Standup",
            "2026-01-05T09:00:00+01:00",
            "2026-01-05T09:15:00+01:00",
            recurrence=["RRULE:FREQ=WEEKLY;BYDAY=MO,WE"],
            htmlLink="https://www.google.com/calendar/event?eid=standup",
        ),
    )


@pytest.fixture
def ski_trip(owner_calendar: Calendar) -> Event:
    """Friday to Sunday of the week, all day."""
    return store(
        owner_calendar, all_day_event("ski", "Ski trip", "2026-03-06", "2026-03-09")
    )
