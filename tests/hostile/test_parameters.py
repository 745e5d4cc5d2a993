"""Links anyone can craft: dates at the ends of the calendar and times
without an offset are answered like any nonsense, never with a server
error."""

from __future__ import annotations

from datetime import UTC

import pytest
from django.test import Client
from django.utils import timezone

from calendars.models import Calendar
from tests.pages.conftest import store, timed_event

pytestmark = [pytest.mark.reliability, pytest.mark.django_db]

FAR_DATES = ["0001-01-01", "0001-01-08", "9999-12-25", "9999-12-31"]
FAR_SPANS = [
    ("0001-01-01T00:00:00+14:00", "0001-01-01T01:00:00+14:00"),
    ("9999-12-31T23:00:00-14:00", "9999-12-31T23:30:00-14:00"),
    ("0001-01-01", "0001-01-02"),
    ("9999-12-31", "9999-12-31"),
]


@pytest.mark.parametrize("view", ["week", "month", "agenda"])
@pytest.mark.parametrize("day", FAR_DATES)
def test_a_date_at_the_ends_of_the_calendar_shows_today_instead(
    owner_client: Client, owner_calendar: Calendar, view: str, day: str
) -> None:
    page = owner_client.get("/", {"view": view, "date": day})
    fragment = owner_client.get("/calendar/view", {"view": view, "date": day})

    assert (page.status_code, fragment.status_code) == (200, 200)
    today = timezone.now().astimezone(UTC).date()
    assert page.context["view"].period.anchor == today
    assert fragment.context["view"].period.anchor == today


@pytest.mark.parametrize(("start", "end"), FAR_SPANS)
def test_an_occurrence_at_the_ends_of_the_calendar_shows_the_events_own_time(
    owner_client: Client, owner_calendar: Calendar, start: str, end: str
) -> None:
    event = store(
        owner_calendar,
        timed_event("x", "Dentist", "2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z"),
    )

    response = owner_client.get(f"/events/{event.pk}", {"start": start, "end": end})

    assert response.status_code == 200
    assert "Monday 2 Mar 2026, 09:00 – 10:00" in response.text


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("name", "value", "detail"),
    [
        (
            "time_max",
            "9999-12-31T23:59:59Z",
            "time_max must lie between the years 2 and 9998.",
        ),
        (
            "time_max",
            "9999-12-31T23:59:59-14:00",
            "time_max must lie between the years 2 and 9998.",
        ),
        (
            "time_min",
            "0001-01-01T00:00:00+14:00",
            "time_min must lie between the years 2 and 9998.",
        ),
        (
            "time_min",
            "2026-03-02T09:00:00",
            "time_min needs an offset, like 2026-03-02T09:00:00Z.",
        ),
    ],
)
def test_a_window_no_event_can_lie_in_is_a_bad_request(
    client: Client,
    owner_auth: dict[str, str],
    owner_calendar: Calendar,
    name: str,
    value: str,
    detail: str,
) -> None:
    query = {"calendar_ids": str(owner_calendar.pk), name: value}

    response = client.get("/api/calendar/events", query, headers=owner_auth)

    assert response.status_code == 400
    assert response.json() == {"detail": detail}
