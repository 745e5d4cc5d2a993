"""Whatever Google hands over is stored, escaped on the pages and streamed
intact: markup, line breaks, huge titles, odd time zones and recurrence
rules no view can expand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.test import Client
from googleapiclient.discovery import Resource

from calendars.models import Calendar, Event, SyncState, UserProfile
from syncengine.relay import stop_hub
from syncengine.sync import sync_calendar
from tests.asgi import AsgiResponse, SseMessage, get
from tests.googleside import google_events

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]

WEEK = "2026-03-02"
SCRIPT = '<script>alert("chronos")</script>'
LINE_BREAKS = "one\r\ntwo\nevent: forged\ndata: {}\n\nid: 999\r\u2028three\u0085end"
HUGE = "<i>" + "x" * 100_000 + "</i>"
INVALID_RULES = {
    "Every hour": "RRULE:FREQ=HOURLY;COUNT=3",
    "Every quarter hour": "RRULE:FREQ=MINUTELY;INTERVAL=15;COUNT=4",
}


def at(
    summary: str, start: str, end: str, zone: str = "Europe/Berlin", **extra: Any
) -> dict[str, Any]:
    return {
        "summary": summary,
        "start": {"dateTime": start, "timeZone": zone},
        "end": {"dateTime": end, "timeZone": zone},
        **extra,
    }


def one_hour(summary: str, day: int, **extra: Any) -> dict[str, Any]:
    """From ten to eleven in Berlin, on a day of the week shown."""
    start, end = (f"2026-03-{day:02d}T{hour}:00:00+01:00" for hour in (10, 11))
    return at(summary, start, end, **extra)


HOSTILE = [
    one_hour(
        SCRIPT,
        2,
        description='<img src=x onerror="alert(2)">\nsecond line',
        location='"><svg onload=alert(3)>',
    ),
    one_hour(LINE_BREAKS, 3, description=LINE_BREAKS),
    one_hour(HUGE, 4),
    one_hour("Weekly", 2, recurrence=["RRULE:FREQ=WEEKLY;COUNT=3"]),
    at(
        "Chatham",
        "2026-03-05T09:00:00+13:45",
        "2026-03-05T10:00:00+13:45",
        "Pacific/Chatham",
    ),
    at(
        "Kathmandu",
        "2026-03-05T09:00:00+05:45",
        "2026-03-05T10:00:00+05:45",
        "Asia/Kathmandu",
    ),
    at(
        "Nowhere",
        "2026-03-06T09:00:00+02:00",
        "2026-03-06T10:00:00+02:00",
        "Mars/Olympus_Mons",
    ),
    *(
        at(
            summary,
            "2026-03-02T09:00:00+01:00",
            "2026-03-02T09:30:00+01:00",
            recurrence=[rule],
        )
        for summary, rule in INVALID_RULES.items()
    ),
]


@pytest.fixture
def viewer(owner: User) -> User:
    """The owner, in a time zone 45 minutes off the whole hour."""
    UserProfile.objects.create(user=owner, time_zone="Pacific/Chatham")
    return owner


def insert(google: Resource, calendar: Calendar, body: dict[str, Any]) -> str:
    request = google.events().insert(calendarId=calendar.google_id, body=body)
    return str(request.execute()["id"])


@pytest.fixture
def hostile(google: Resource, primary: Calendar) -> dict[str, str]:
    """Google's id of each hostile event, by title, once synced."""
    ids = {body["summary"]: insert(google, primary, body) for body in HOSTILE}
    sync_calendar(primary.pk)
    return ids


def stored(google_id: str) -> Event:
    return Event.objects.get(google_id=google_id)


def test_every_hostile_event_is_stored_as_google_sent_it(
    google: Resource, primary: Calendar, hostile: dict[str, str]
) -> None:
    in_google = google_events(google, primary.google_id)

    for summary, google_id in hostile.items():
        assert stored(google_id).summary == summary
        assert stored(google_id).resource == in_google[google_id]
    assert stored(hostile[LINE_BREAKS]).description == LINE_BREAKS
    state = SyncState.objects.get(calendar=primary)
    assert (state.state, state.last_error) == (SyncState.State.IDLE, "")
    assert state.last_sync_at is not None


def test_text_no_database_can_store_is_cleaned_instead_of_failing_the_sync(
    google: Resource, primary: Calendar
) -> None:
    nul = insert(google, primary, one_hour("NUL\x00inside", 2))
    half = insert(google, primary, one_hour("half \ud800 a pair", 3))
    plain = insert(google, primary, one_hour("Plain", 4))

    sync_calendar(primary.pk)

    assert stored(nul).summary == "NULinside"
    assert stored(half).summary == "half \ufffd a pair"
    assert stored(half).resource["summary"] == "half \ufffd a pair"
    assert stored(plain).summary == "Plain"
    state = SyncState.objects.get(calendar=primary)
    assert (state.state, state.last_error) == (SyncState.State.IDLE, "")


def pages(client: Client, hostile: dict[str, str]) -> dict[str, str]:
    shown = {
        view: client.get("/", {"view": view, "date": WEEK}).text
        for view in ("week", "month", "agenda")
    }
    shown["fragment"] = client.get("/calendar/view", {"date": WEEK}).text
    for summary, google_id in hostile.items():
        detail = client.get(f"/events/{stored(google_id).pk}").text
        shown[f"detail of {summary[:20]!r}"] = detail
    return shown


def test_hostile_text_is_escaped_on_every_page(
    owner_client: Client, viewer: User, hostile: dict[str, str]
) -> None:
    shown = pages(owner_client, hostile)

    for name, html in shown.items():
        assert SCRIPT not in html, name
        assert "<img src=x" not in html, name
        assert "<svg onload" not in html, name
        assert "<i>xxxx" not in html, name
    for name in ("week", "agenda", "fragment", f"detail of {SCRIPT[:20]!r}"):
        assert "&lt;script&gt;alert(&quot;chronos&quot;)&lt;/script&gt;" in shown[name]
    assert "&lt;i&gt;" + "x" * 100_000 in shown[f"detail of {HUGE[:20]!r}"]


def chips_by_day(response: Any) -> dict[date, list[tuple[str, str]]]:
    return {
        day.date: [(chip.summary, chip.label) for chip in day.chips]
        for day in response.context["view"].days
    }


def test_odd_time_zones_put_events_at_their_moment_in_the_viewers_zone(
    owner_client: Client, viewer: User, hostile: dict[str, str]
) -> None:
    response = owner_client.get("/", {"view": "week", "date": WEEK})

    days = chips_by_day(response)
    assert ("Kathmandu", "17:00 – 18:00") in days[date(2026, 3, 5)]
    assert ("Chatham", "09:00 – 10:00") in days[date(2026, 3, 5)]
    assert ("Nowhere", "20:45 – 21:45") in days[date(2026, 3, 6)]
    assert "Times in Pacific/Chatham" in response.text


@pytest.fixture
async def hub_stopped_after() -> AsyncIterator[None]:
    yield
    await stop_hub()


async def open_stream(headers: dict[str, str]) -> AsgiResponse:
    response = await get("/api/stream", **headers)
    first = await response.next_message()
    assert first.event == "retry"
    return response


async def next_batch(response: AsgiResponse) -> SseMessage:
    while True:
        message = await response.next_message()
        if message.event == "events":
            return message


def assert_carries_only(message: SseMessage, resource: dict[str, Any]) -> None:
    # Two data lines would be joined by a line break: one means one line.
    assert "\n" not in message.data
    assert message.json["events"] == [resource]


async def test_each_hostile_change_is_one_message_live_and_replayed(
    google: Resource,
    primary: Calendar,
    owner_auth: dict[str, str],
    hub_stopped_after: None,
) -> None:
    live = await open_stream(owner_auth)
    received = []
    for body in HOSTILE:
        await sync_to_async(insert)(google, primary, body)
        await sync_to_async(sync_calendar)(primary.pk)
        received.append(await next_batch(live))
    await live.disconnect()
    assert received[0].id is not None
    before_first = str(int(received[0].id) - 1)
    again = await open_stream({**owner_auth, "Last-Event-ID": before_first})
    replayed = [await next_batch(again) for _ in HOSTILE]
    await again.disconnect()

    in_google = await sync_to_async(google_events)(google, primary.google_id)
    for message, again_message in zip(received, replayed, strict=True):
        resource = in_google[message.json["events"][0]["id"]]
        assert_carries_only(message, resource)
        assert_carries_only(again_message, resource)
        assert again_message.id == message.id
    assert [m.json["events"][0]["summary"] for m in received] == [
        body["summary"] for body in HOSTILE
    ]


def test_an_invalid_recurrence_is_reported_on_its_calendar(
    owner_client: Client,
    owner_auth: dict[str, str],
    viewer: User,
    primary: Calendar,
    hostile: dict[str, str],
) -> None:
    page = owner_client.get("/", {"view": "week", "date": WEEK})
    listed = owner_client.get("/api/calendars", headers=owner_auth).json()

    sidebar = page.text[page.text.index('id="sidebar"') :]
    assert "Repeating events not shown" in sidebar
    assert "Every hour" in sidebar and "needs FREQ=DAILY" in sidebar
    assert "Every quarter hour" in sidebar and "FREQ=MINUTELY" in sidebar
    (calendar,) = listed
    assert calendar["id"] == primary.pk
    assert [
        (series["event_id"], series["summary"]) for series in calendar["invalid_series"]
    ] == [(hostile[summary], summary) for summary in INVALID_RULES]
    assert all(
        "fix it in Google" in series["message"] for series in calendar["invalid_series"]
    )


def test_an_invalid_recurrence_hides_nothing_else(
    owner_client: Client, viewer: User, primary: Calendar, hostile: dict[str, str]
) -> None:
    response = owner_client.get("/", {"view": "week", "date": WEEK})
    detail = owner_client.get(f"/events/{stored(hostile['Every hour']).pk}")

    shown = {
        summary for chips in chips_by_day(response).values() for summary, _ in chips
    }
    assert shown == set(hostile) - set(INVALID_RULES)
    assert detail.status_code == 200
    assert "repeat rule cannot be read" in detail.text
    assert "needs FREQ=DAILY, WEEKLY, MONTHLY or YEARLY" in detail.text
